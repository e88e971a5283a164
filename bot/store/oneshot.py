"""Short-lived Redis use outside the running processes (`hitlbot record`, `hitlbot dev`'s
banner): a command names the settings, the store opens, reads and closes its own connection,
and says where it read (without the URL's password) when it could not."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from redis import Redis as SyncRedis
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.thread import Thread
from bot.store.connect import redacted
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


class Unreadable(Exception):
    """The store named by the settings cannot be read: unset (`unset`), or not answering
    (the message says which, and where)."""

    def __init__(self, message: str, *, unset: bool = False) -> None:
        super().__init__(message)
        self.unset = unset


def where(settings: Settings, *, prefix: bool = False) -> str:
    """The store the settings name, for messages: `Redis at <URL without its password>`,
    with `prefix`: and the key prefix read under."""
    said = f"Redis at {redacted(settings.redis_url or '')}"
    if prefix:
        said += f" (prefix {settings.redis_prefix!r}; HITLBOT_REDIS_PREFIX)"
    return said


@contextlib.asynccontextmanager
async def settings_store(settings: Settings, what: str) -> AsyncIterator[ThreadStore]:
    """The thread store `settings` name, over a connection of its own; Unreadable (saying
    that it is `what` the command reads) if none is set or it does not answer."""
    if not settings.redis_url:
        raise Unreadable(f"record reads {what} from Redis: set REDIS_URL", unset=True)
    try:
        async with thread_store(
            settings.redis_url, settings.redis_prefix, settings.thread_ttl_s
        ) as store:
            yield store
    except StoreError as exc:
        raise Unreadable(f"cannot read from {where(settings)}: {exc}") from None


async def read_thread(settings: Settings, thread_id: str) -> Thread | None:
    """One thread, read over a connection of its own; Unreadable as `settings_store`."""
    async with settings_store(settings, "the thread") as store:
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
