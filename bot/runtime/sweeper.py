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
from typing import Any

import structlog

from bot.runtime.deadlines import sweep_deadlines
from bot.runtime.deps import Deps

log = structlog.get_logger(__name__)

BATCH = 500
"""Marks looked at per sweep."""

# KEYS: queued. ARGV: thread id, cutoff. Drops the mark only if it is still older than the
# cutoff: a fresh mark (new work since the sweep read it) stays.
_DROP_STALE = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


async def sweep(deps: Deps, now: float) -> int:
    """One pass; returns how many threads were queued again."""
    keys = deps.keys
    redis: Any = deps.redis  # redis-py types replies as a wide union; these shapes are fixed
    cutoff = now - 2 * deps.settings.step_lease_s
    stale = await redis.zrangebyscore(keys.queued, "-inf", cutoff, start=0, num=BATCH)
    if not stale:
        return 0
    thread_ids = [raw.decode() for raw in stale]
    async with redis.pipeline(transaction=False) as pipe:
        for thread_id in thread_ids:
            pipe.hget(keys.thread(thread_id), "status")
            pipe.exists(keys.lease(thread_id))
        replies = await pipe.execute()
    drop = redis.register_script(_DROP_STALE)
    kicked = 0
    for index, thread_id in enumerate(thread_ids):
        status, leased = replies[2 * index], replies[2 * index + 1]
        if status == b"running" and not leased:
            log.warning("thread given work but never queued; queuing it", thread_id=thread_id)
            await deps.enqueue(thread_id)
            await redis.zadd(keys.queued, {thread_id: now})
            kicked += 1
        elif status != b"running":
            await drop(keys=[keys.queued], args=[thread_id, cutoff])
    return kicked


async def run_sweeper(deps: Deps) -> None:
    """Sweep every lease length, one worker at a time, until cancelled."""
    interval = deps.settings.step_lease_s
    while True:
        await asyncio.sleep(interval)
        try:
            lock_ms = max(int(interval * 1000), 100)
            if await deps.redis.set(deps.keys.sweeper, "1", nx=True, px=lock_ms):
                await sweep(deps, time.time())
                await sweep_deadlines(deps, time.time())
        except Exception as exc:  # a Redis blip: the next pass tries again
            log.warning("sweep failed", error=str(exc))
