"""Short-lived Redis use outside the running processes (`hitlbot record`, `hitlbot dev`'s
banner)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from bot.core.thread import Thread
from bot.store.errors import StoreError
from bot.store.keys import Keys
from bot.store.threads import ThreadStore


@contextlib.asynccontextmanager
async def thread_store(url: str, prefix: str, thread_ttl_s: int) -> AsyncIterator[ThreadStore]:
    """A thread store over a connection of its own, closed on exit (a command's reads)."""
    redis = Redis.from_url(url, socket_connect_timeout=5)
    try:
        yield ThreadStore(redis, Keys(prefix), thread_ttl_s)
    finally:
        await redis.aclose()


async def read_thread(url: str, prefix: str, thread_ttl_s: int, thread_id: str) -> Thread | None:
    """One thread, read over a connection of its own; StoreError if Redis does not answer."""
    async with thread_store(url, prefix, thread_ttl_s) as store:
        return await store.get(thread_id)


def count_keys(url: str, prefix: str, most: int = 100) -> int | None:
    """How many keys there are under `prefix` (counted up to `most`), or None if Redis does
    not answer."""
    try:
        client = SyncRedis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        with contextlib.closing(client):
            found = 0
            for _ in client.scan_iter(f"{prefix}:*", count=100):
                found += 1
                if found >= most:
                    break
            return found
    except StoreError:
        return None
