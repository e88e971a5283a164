"""The functional core: threads, their events and what they say, the context the model
sees, the approval policy. Pure: no Redis, Slack, HTTP, model SDK or queue here, and the
clock is always passed in (checked by `tests/test_layout.py`)."""
