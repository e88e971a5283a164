"""Stopping a background task, even when a library swallows the cancel.

`task.cancel(); await task` waits forever if the cancel lands where a library eats it. The
Redis client does, now and then: on Python 3.11 `asyncio.wait_for`, which its commands go
through, returns the inner call's result when the cancel arrives just as that call completes
(CPython gh-86296, fixed in 3.12), and the cancelled caller's loop goes on. Measured here,
cancelling a loop of one-key commands: one cancel in 25 to one in 300 was lost, by pool kind.
A lease's renewal loop that ran on after its step ended held the thread for as long as the
process lived. `stopped` cancels again until the task has ended; `raise_lost_cancel` lets a
loop that someone else stops notice a cancel it was sent but never saw.
"""

from __future__ import annotations

import asyncio
from typing import Any

AGAIN_S = 0.05
"""How long to wait, by default, for a cancelled task before cancelling it again."""


async def stopped(task: asyncio.Future[Any], every: float = AGAIN_S) -> None:
    """Cancel `task` and return once it has ended, cancelling it again every `every` seconds
    while it runs on (a task that cleans up on its way out is given longer).

    What it ended with (its result, its cancel, its error) is dropped: the caller is stopping
    it, not waiting for it.
    """
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=every)
    if not task.cancelled():
        task.exception()  # read, so asyncio does not log it as never retrieved


def raise_lost_cancel() -> None:
    """Raise the cancel a library swallowed: for a loop that runs in a task someone else
    stops (taskiq cancels a broker's `listen` and then waits for it, shielded, for good)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError
