"""Message-ID -> thread, for every mail the bot received or sent (threading, factor 11).

A reply names earlier mail in `In-Reply-To` and `References`; looking those ids up here finds
its thread. Entries live as long as threads do, and say which way the mail went, so the bot's
own mail coming back (a forwarding loop) is told apart from a customer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.store.connect import RedisClient
from bot.store.keys import Keys

Direction = Literal["in", "out"]


@dataclass(frozen=True)
class Known:
    """What the index knows of one Message-ID."""

    direction: Direction
    """`in`: received from a human; `out`: sent (minted) by the bot."""
    thread_id: str
    """The thread the mail belongs to."""


def decode(value: bytes | None) -> Known | None:
    """An index entry from its stored `<direction> <thread id>` form."""
    if value is None:
        return None
    direction, _, thread_id = value.decode().partition(" ")
    if direction not in ("in", "out") or not thread_id:
        return None
    return Known("in" if direction == "in" else "out", thread_id)


class MessageIndex:
    """The index in Redis."""

    def __init__(self, redis: RedisClient, keys: Keys, ttl_s: int) -> None:
        self.redis: Any = redis  # redis-py types replies as a wide union
        self.keys = keys
        self.ttl_s = ttl_s

    async def add(self, message_id: str, direction: Direction, thread_id: str) -> None:
        """Remember that `message_id` belongs to `thread_id` (the first record wins)."""
        key = self.keys.email_message(message_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(key, f"{direction} {thread_id}", nx=True, ex=self.ttl_s)
            pipe.expire(key, self.ttl_s)  # a reply keeps its conversation findable longer
            await pipe.execute()

    async def find(self, message_ids: list[str]) -> list[Known | None]:
        """What is known of each id, in order (one round trip; ids may hash to any slot)."""
        if not message_ids:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for message_id in message_ids:
                pipe.get(self.keys.email_message(message_id))
            values = await pipe.execute()
        return [decode(value) for value in values]
