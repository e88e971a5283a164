"""Slack calls made after the ack: card updates, modals, reactions, ephemeral notes.

None of them carries state: the decision or message is committed before they start, and a lost
one leaves the thread correct (a later click refreshes a stale card). They run as tasks so the
ack is not held up by Slack's latency or rate limits; shutdown waits for them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

from bot.tasks import stopped

log = structlog.get_logger(__name__)


class Background:
    """The tasks of one process, awaited on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run `work` after the current request; failures are logged, never raised."""
        task = asyncio.create_task(self._guarded(work, what))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the running tasks; cancel what is still running after `timeout`."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            await stopped(task)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, object], what: str) -> None:
        try:
            await work
        except Exception as exc:  # a courtesy call failed; the state is already right
            log.warning("slack call failed", what=what, error=f"{type(exc).__name__}: {exc}")
