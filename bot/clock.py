"""The one clock of a process: every wall-clock time the shell reads comes from it.

`Clock.now()` (an aware UTC datetime: events' `at`, a thread's `created_at`, a mail's Date)
and `Clock.time()` (epoch seconds: the store's scores, a delayed job's due time, the sweeper's
cutoffs, signature skew checks) read the same source, so a test that moves a `FakeClock`
moves both. Anything stored, compared with a stored time, or shown comes from here; wiring
builds one and passes it to `Deps`, the store and the channels.

What stays on `time.monotonic`: reads that only measure an elapsed duration in one process
and are never stored or shown, the freshness of a held lease, a long-poll's timeout, a job's
keepalive interval, the Slack group-member cache's TTL (a wall clock that steps must not
stretch or cut them).
"""

from __future__ import annotations

import time as _time
from datetime import UTC, datetime, timedelta


class Clock:
    """The system's wall clock, in UTC."""

    def now(self) -> datetime:
        """Now, an aware UTC datetime."""
        return datetime.now(UTC)

    def time(self) -> float:
        """Now, in seconds since the epoch."""
        return _time.time()


SYSTEM = Clock()
"""The process's clock (stateless: one instance serves every caller)."""


class FakeClock(Clock):
    """A clock that moves only when told: `now()` and `time()` read the same instant."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("a FakeClock starts at an aware datetime")
        self.at = start.astimezone(UTC)
        """The instant it reads."""

    def now(self) -> datetime:
        return self.at

    def time(self) -> float:
        return self.at.timestamp()

    def advance(self, seconds: float) -> datetime:
        """Move forward by `seconds`; returns the new instant."""
        self.at += timedelta(seconds=seconds)
        return self.at
