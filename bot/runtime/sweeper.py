"""The safety net for a lost enqueue: kick again a thread given work that nobody took.

A launch or an answer commits the thread and marks it in `Keys.queued` in one round trip,
then enqueues a step. A web process that dies between the two leaves the thread `running`
with no job; the queue's own reclaim cannot help, since nothing was queued. One worker at a
time sweeps marks older than two leases: a thread still running with no lease held is queued
again (a duplicate job is harmless: steps are decided from the thread, under its lease);
marks of threads that have moved on are dropped.
"""

from __future__ import annotations

import asyncio
import time

import structlog

from bot.runtime.deadlines import sweep_deadlines
from bot.runtime.deps import Deps

log = structlog.get_logger(__name__)

BATCH = 500
"""Marks looked at per sweep."""


async def sweep(deps: Deps, now: float) -> int:
    """One pass; returns how many threads were queued again."""
    cutoff = now - 2 * deps.settings.step_lease_s
    kicked = 0
    for marked in await deps.sweeps.stale(cutoff, BATCH):
        thread_id = marked.thread_id
        if marked.status == "running" and not marked.leased:
            log.warning("thread given work but never queued; queuing it", thread_id=thread_id)
            await deps.enqueue(thread_id)
            await deps.sweeps.mark_queued(thread_id, now)
            kicked += 1
        elif marked.status != "running":
            await deps.sweeps.drop_stale(thread_id, cutoff)
    return kicked


async def run_sweeper(deps: Deps) -> None:
    """Sweep every lease length, one worker at a time, until cancelled."""
    interval = deps.settings.step_lease_s
    while True:
        await asyncio.sleep(interval)
        try:
            lock_ms = max(int(interval * 1000), 100)
            if await deps.sweeps.lock(lock_ms):
                await sweep(deps, time.time())
                await sweep_deadlines(deps, time.time())
        except Exception as exc:  # a Redis blip: the next pass tries again
            log.warning("sweep failed", error=str(exc))
