"""The safety net for a lost enqueue: kick again a thread given work that nobody took.

A launch or an answer commits the thread and marks it in `Keys.queued` in one round trip,
then enqueues a step. A web process that dies between the two leaves the thread `running`
with no job; the queue's own reclaim cannot help, since nothing was queued. One worker at a
time sweeps marks older than two leases: a thread still running with no lease held is queued
again (a duplicate job is harmless: steps are decided from the thread, under its lease);
marks of threads that have moved on are dropped.

The same pass trims the thread index (`Keys.index`, which has no TTL of its own) of threads
whose keys expired: only threads created more than `HITLBOT_THREAD_TTL_S` ago can have, so
it walks that old end in batches, from where its last pass stopped, round and round.
"""

from __future__ import annotations

import asyncio

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


TRIM_BATCHES = 10
"""Batches of the thread index looked at per pass (BATCH members each)."""


async def trim_index(
    deps: Deps, now: float, after: float | None = None, *, batch: int = BATCH
) -> tuple[int, float | None]:
    """Drop from the thread index the threads whose keys expired, looking at up to
    TRIM_BATCHES batches of those older than the thread TTL, after the score `after`.
    Returns how many were dropped, and where the next pass goes on (None: from the start)."""
    oldest_alive = now - deps.settings.thread_ttl_s  # anything newer cannot have expired
    dropped = 0
    for _ in range(TRIM_BATCHES):
        removed, last = await deps.sweeps.trim_index(oldest_alive, after, batch)
        dropped += removed
        if last is None:
            return dropped, None  # the old end is done: start over next time
        after = last
    return dropped, after


async def run_sweeper(deps: Deps) -> None:
    """Sweep every lease length, one worker at a time, until cancelled."""
    interval = deps.settings.step_lease_s
    trimmed_to: float | None = None
    while True:
        await asyncio.sleep(interval)
        try:
            lock_ms = max(int(interval * 1000), 100)
            if await deps.sweeps.lock(lock_ms):
                await sweep(deps, deps.clock.time())
                await sweep_deadlines(deps, deps.clock.time())
                _, trimmed_to = await trim_index(deps, deps.clock.time(), trimmed_to)
        except Exception as exc:  # a Redis blip: the next pass tries again
            log.warning("sweep failed", error=str(exc))
