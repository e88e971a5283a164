"""The functional core: threads, their events and what they say, the context the model
sees, the approval policy. Pure: no Redis, Slack, HTTP, model SDK, queue or file read here;
no clock read (`now` and every event's `at` come from the caller, whose clock is
`bot.clock`); no module-level mutable state (what rendering keeps between calls is a
`bot.core.context.ContextCache` the shell builds and passes in). `tests/test_layout.py`
checks it."""
