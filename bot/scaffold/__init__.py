"""`hitlbot new agent`: a working agent folder to start from."""
