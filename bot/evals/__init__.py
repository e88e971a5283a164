"""Replay evals: finished threads kept as cases (`hitlbot record`) and replayed against the
current prompt and tools (`hitlbot eval`)."""
