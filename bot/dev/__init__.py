"""`hitlbot dev`: web and worker in one process, with a private Redis when none is set."""
