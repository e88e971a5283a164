"""What the sweeper reads and writes: queued marks, deadline marks, and its own lock.

The sweeper (`bot.runtime.sweeper`) and the deadlines (`bot.runtime.deadlines`) decide; this
is their Redis, in the store like every other key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.store.connect import RedisClient
from bot.store.keys import Keys
from bot.store.scripts import source


@dataclass(frozen=True)
class Marked:
    """A thread with a queued mark, as the sweeper finds it."""

    thread_id: str
    status: str | None
    """Its status, None if it is gone (or was never written)."""
    leased: bool
    """Whether a worker holds it."""


class Sweeps:
    """The sweeper's marks in Redis."""

    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self.redis: Any = redis  # redis-py types replies as a wide union; these shapes are fixed
        self.keys = keys
        self._drop_stale = redis.register_script(source("drop_stale"))
        self._take_due = redis.register_script(source("take_due"))

    async def lock(self, lock_ms: int) -> bool:
        """Become the one sweeper for `lock_ms`; False if another worker is sweeping."""
        return bool(await self.redis.set(self.keys.sweeper, "1", nx=True, px=lock_ms))

    async def stale(self, cutoff: float, batch: int) -> list[Marked]:
        """Threads marked queued at or before `cutoff` (at most `batch`), with their state."""
        found = await self.redis.zrangebyscore(self.keys.queued, "-inf", cutoff, start=0, num=batch)
        if not found:
            return []
        thread_ids = [raw.decode() for raw in found]
        async with self.redis.pipeline(transaction=False) as pipe:
            for thread_id in thread_ids:
                pipe.hget(self.keys.thread(thread_id), "status")
                pipe.exists(self.keys.lease(thread_id))
            replies = await pipe.execute()
        return [
            Marked(
                thread_id,
                status.decode() if status is not None else None,
                bool(leased),
            )
            for thread_id, status, leased in zip(
                thread_ids, replies[::2], replies[1::2], strict=True
            )
        ]

    async def mark_queued(self, thread_id: str, due: float) -> None:
        """Mark the thread as given work due at `due`."""
        await self.redis.zadd(self.keys.queued, {thread_id: due})

    async def take_due(self, thread_id: str, due: float, now: float) -> bool:
        """A retry due at `due` starts: True if the mark still says so (it then says `now`);
        False if that retry was taken already or newer work was queued since."""
        return bool(await self._take_due(keys=[self.keys.queued], args=[thread_id, due, now]))

    async def drop_stale(self, thread_id: str, cutoff: float) -> None:
        """Drop the thread's queued mark if it is still older than `cutoff`."""
        await self._drop_stale(keys=[self.keys.queued], args=[thread_id, cutoff])

    async def trim_index(
        self, oldest_alive: float, after: float | None, batch: int
    ) -> tuple[int, float | None]:
        """Drop from the thread index the threads of one batch (scored after `after`, up to
        `oldest_alive`) whose keys expired; (how many, the batch's last score or None when
        there was nothing left to look at)."""
        low = "-inf" if after is None else f"({after!r}"
        found = await self.redis.zrangebyscore(
            self.keys.index, low, oldest_alive, start=0, num=batch, withscores=True
        )
        if not found:
            return 0, None
        async with self.redis.pipeline(transaction=False) as pipe:
            for member, _ in found:
                pipe.exists(self.keys.thread(member.decode()))
            alive = await pipe.execute()
        gone = [member for (member, _), exists in zip(found, alive, strict=True) if not exists]
        dropped = int(await self.redis.zrem(self.keys.index, *gone)) if gone else 0
        return dropped, float(found[-1][1])

    async def due_deadlines(self, now: float, batch: int) -> list[str]:
        """`<thread id> <request id>` of deadlines due by `now` (at most `batch`)."""
        found = await self.redis.zrangebyscore(self.keys.deadlines, "-inf", now, start=0, num=batch)
        return [raw.decode() for raw in found]

    async def reschedule(self, member: str, due: float | None) -> None:
        """Move a deadline mark to its next due time, or drop it (None)."""
        if due is None:
            await self.redis.zrem(self.keys.deadlines, member)
        else:
            await self.redis.zadd(self.keys.deadlines, {member: due})
