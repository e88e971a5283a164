"""Claims: an inbound item taken once (`SET NX`), by an owner that a retried call still is.

A plain `SET NX` whose reply is lost is retried by redis-py, finds the key set (by itself) and
answers "taken by someone else": the item is refused as a replay though nobody used it. Here
the claim holds a random owner token, so the retried call recognises its own claim.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.store.connect import RedisClient
from bot.store.keys import DEDUPE_TTL_S, Keys
from bot.store.scripts import source


@asynccontextmanager
async def undone_on_failure(undo: Callable[[], Awaitable[object]]) -> AsyncIterator[None]:
    """Claim-then-undo: what the caller took just before (a claim, a mark) stays taken if the
    block succeeds; if it raises (a cancellation too), `undo` gives it back, and the error
    goes on."""
    try:
        yield
    except BaseException:
        await undo()
        raise


@dataclass(frozen=True)
class Claimed:
    """A claim held: give it back with `Claims.release` if the item was not taken after all."""

    key: str
    owner: str


class Claims:
    """Claims on inbound items (namespace, item) under the store's keys."""

    def __init__(self, redis: RedisClient, keys: Keys, ttl_s: int = DEDUPE_TTL_S) -> None:
        self.keys = keys
        self.ttl_s = ttl_s
        self._claim: Any = redis.register_script(source("claim"))
        self._release: Any = redis.register_script(source("release"))

    async def claim(self, namespace: str, item: str) -> Claimed | None:
        """Take `item` once; None if it was taken before."""
        held = Claimed(self.keys.seen(namespace, item), secrets.token_hex(8))
        taken = await self._claim(keys=[held.key], args=[held.owner, self.ttl_s])
        return held if int(taken) == 1 else None

    async def release(self, claimed: Claimed) -> None:
        """Give a claim back (only if it is still this owner's)."""
        await self._release(keys=[claimed.key], args=[claimed.owner])
