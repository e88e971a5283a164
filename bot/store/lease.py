"""The per-thread lease: at most one worker advances a thread at a time.

A worker that finds the lease taken marks the thread dirty instead of waiting; the holder
sees the mark when it tries to release and runs again. Both sides are one Lua script each,
so no wake-up is lost between a failed acquire and a release.

Each acquire takes a fresh fencing token (a per-thread counter). The holder passes it to every
commit, and the commit script refuses it once the lease is gone: a worker that stalled past
its lease (a GC pause, a blocked event loop) cannot write onto a thread a new holder has.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog

from bot.core.thread import Thread
from bot.store.codec import ThreadCache, loaded, tail_from
from bot.store.connect import RedisClient
from bot.store.keys import DEDUPE_TTL_S, FENCE_TTL_S, Keys
from bot.store.scripts import source
from bot.tasks import stopped

log = structlog.get_logger(__name__)


class Lease:
    """One worker's hold on one thread, renewed in the background while held."""

    def __init__(self, leases: Leases, thread_id: str) -> None:
        self.leases = leases
        self.thread_id = thread_id
        self.token = ""
        """The fencing token of this hold, set by `acquire`."""
        self.held = False
        self.lost = False
        self.confirmed_at = -math.inf
        """When (monotonic, taken before the request was sent) Redis last set this lease to
        its full length for us: an acquire, a renewal, or a commit that renewed it."""

    def confirmed(self, sent_at: float) -> None:
        """A request sent at `sent_at` found the lease ours and renewed it to full length."""
        self.confirmed_at = sent_at

    async def acquire(self) -> tuple[bool, Thread | None]:
        """Take the lease and load the thread in one round trip; False if someone holds it."""
        keys, cache = self.leases.keys, self.leases.cache
        sent_at = time.monotonic()
        start, known = tail_from(cache, self.thread_id)
        reply = await self.leases.acquire_script(
            keys=[
                keys.lease(self.thread_id),
                keys.dirty(self.thread_id),
                keys.thread(self.thread_id),
                keys.fence(self.thread_id),
                keys.events(self.thread_id),
            ],
            args=[self.leases.lease_ms, DEDUPE_TTL_S, self.leases.fence_ttl_s, start],
        )
        if reply == 0:
            return False, None
        self.held, self.lost = True, False
        self.confirmed(sent_at)
        token, load = reply
        self.token = token.decode()
        return True, loaded(cache, self.thread_id, known, load)

    async def check(self) -> bool:
        """Renew now, right before a side effect: False if the lease was lost meanwhile.

        No round trip when Redis renewed it to full length for us within the last tenth of
        the lease (the acquire or the commit just before this side effect did): then at
        least nine tenths of it are left, as after a renewal's own round trip, and a worker
        that stalled since is caught all the same (the time is read now, after the stall).
        """
        if self.held and not self.lost and time.monotonic() - self.confirmed_at < self.fresh_s:
            return True
        return await self.renew()

    @property
    def fresh_s(self) -> float:
        """How long a confirmation spares `check` its round trip: a tenth of the lease."""
        return self.leases.lease_ms / 10_000

    async def release(self) -> bool:
        """Let go; True means new work arrived meanwhile and the lease is still ours."""
        keys = self.leases.keys
        reply = await self.leases.release_script(
            keys=[keys.lease(self.thread_id), keys.dirty(self.thread_id)],
            args=[self.token, self.leases.lease_ms],
        )
        if reply == -1:
            self.lost = True
        self.held = reply == 1
        return self.held

    async def drop(self) -> None:
        """Let go without looking for new work: for exits where this worker cannot go on."""
        self.held = False
        await self.leases.drop_script(
            keys=[self.leases.keys.lease(self.thread_id)], args=[self.token]
        )

    async def renew(self) -> bool:
        """Extend the lease; False if it was lost."""
        sent_at = time.monotonic()
        reply = await self.leases.renew_script(
            keys=[self.leases.keys.lease(self.thread_id)], args=[self.token, self.leases.lease_ms]
        )
        self.lost = not reply
        self.held = self.held and not self.lost
        if not self.lost:
            self.confirmed(sent_at)
        return not self.lost

    @contextlib.asynccontextmanager
    async def renewing(
        self, also: Callable[[], Awaitable[None]] | None = None
    ) -> AsyncIterator[None]:
        """Renew every third of the lease while the body runs; `also` runs with each renewal."""

        async def loop() -> None:
            while True:
                await asyncio.sleep(self.leases.lease_ms / 3000)
                try:
                    if not await self.renew():
                        log.warning("lease lost", thread_id=self.thread_id)
                        return
                    if also is not None:
                        await also()
                except Exception as exc:  # a Redis blip must not kill the step; retry next tick
                    log.warning("lease renewal failed", thread_id=self.thread_id, error=str(exc))

        task = asyncio.create_task(loop())
        try:
            yield
        finally:
            await stopped(task)  # a plain cancel can be lost in `renew` or `also` (bot.tasks)


class Leases:
    """Factory of leases sharing the scripts and the lease length."""

    def __init__(
        self,
        redis: RedisClient,
        keys: Keys,
        lease_s: float,
        fence_ttl_s: int = FENCE_TTL_S,
        cache: ThreadCache | None = None,
    ) -> None:
        self.keys = keys
        self.cache = cache or ThreadCache()
        """Shared with the store: an acquire loads only the events appended since."""
        self.lease_ms = max(int(lease_s * 1000), 100)
        self.fence_ttl_s = fence_ttl_s
        self.acquire_script = redis.register_script(source("lease_acquire"))
        self.renew_script = redis.register_script(source("lease_renew"))
        self.release_script = redis.register_script(source("lease_release"))
        # Dropping a lease is a compare-and-delete: only the holder's token deletes it.
        self.drop_script = redis.register_script(source("release"))

    def lease(self, thread_id: str) -> Lease:
        """A new, not yet acquired lease on `thread_id`."""
        return Lease(self, thread_id)
