"""Redis: threads and their layout, the key names, the agents' own records, the work queue."""
