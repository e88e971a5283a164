"""The imperative shell around the core: the live dependencies, the worker that leases and
steps threads, the sweeper, deadlines, and the service every channel resumes threads through."""
