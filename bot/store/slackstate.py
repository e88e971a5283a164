"""What the Slack channel keeps in Redis beside the threads: modals and working markers.

Links and claims are the intake script's (`bot.store.intake`).

Every key name comes from `bot.store.keys`; every claim is a `SET NX`, never a read-then-write.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from bot.store.connect import RedisClient
from bot.store.keys import SLACK_MODAL_TTL_S, SLACK_WORKING_TTL_S, Keys


@dataclass(frozen=True)
class ModalTicket:
    """Who a Reject or Edit modal was opened for, for which request, from which card."""

    request_id: str
    """The approval request the modal rejects."""
    user: str
    """The approver who clicked Reject; only they may submit it."""
    nonce: str
    """Random; names the Redis record of this opening."""
    channel: str
    """Channel of the card of record."""
    ts: str
    """ts of the card of record."""
    kind: str = "reject"
    """Which modal: `reject` or `edit`; a ticket counts only for the modal it was opened as."""

    def private_metadata(self) -> str:
        """What the view carries: enough to find the Redis record, nothing trusted alone."""
        return json.dumps({"request_id": self.request_id, "user": self.user, "nonce": self.nonce})

    @staticmethod
    def key_of(private_metadata: str) -> tuple[str, str, str] | None:
        """`(request_id, user, nonce)` from a submitted view's metadata, if well formed."""
        try:
            data = json.loads(private_metadata)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        fields = (data.get("request_id"), data.get("user"), data.get("nonce"))
        if not all(isinstance(field, str) and field for field in fields):
            return None
        return fields  # type: ignore[return-value]


class SlackState:
    """Redis records of the Slack channel."""

    def __init__(self, redis: RedisClient, keys: Keys, thread_ttl_s: int) -> None:
        # redis-py types every reply as a wide union; the shapes here are fixed by the commands.
        self.redis: Any = redis
        self.keys = keys
        self.thread_ttl_s = thread_ttl_s

    async def open_modal(self, thread_id: str, ticket: ModalTicket) -> bool:
        """Record a Reject or Edit modal as opened; False if the nonce was somehow taken."""
        key = self.keys.slack_modal(thread_id, ticket.nonce)
        data = json.dumps(asdict(ticket)).encode()
        return bool(await self.redis.set(key, data, nx=True, ex=SLACK_MODAL_TTL_S))

    async def modal(self, thread_id: str, nonce: str) -> ModalTicket | None:
        """The record of an opened modal, if it has not expired or been used."""
        found = await self.redis.get(self.keys.slack_modal(thread_id, nonce))
        if found is None:
            return None
        return ModalTicket(**json.loads(found))

    async def close_modal(self, thread_id: str, nonce: str) -> None:
        """Forget an opened modal once its submission counted."""
        await self.redis.delete(self.keys.slack_modal(thread_id, nonce))

    async def mark_working(self, thread_id: str, channel: str, ts: str) -> None:
        """Remember a message that shows the working reaction until the thread's next reply."""
        key = self.keys.slack_working(thread_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, f"{channel} {ts}")
            pipe.expire(key, SLACK_WORKING_TTL_S)
            await pipe.execute()

    async def unmark_working(self, thread_id: str, channel: str, ts: str) -> None:
        """Forget a marker whose message was not taken after all."""
        await self.redis.srem(self.keys.slack_working(thread_id), f"{channel} {ts}")

    async def is_working(self, thread_id: str, channel: str, ts: str) -> bool:
        """Whether the marker is still there (no reply has gone out since it was set)."""
        key = self.keys.slack_working(thread_id)
        return bool(await self.redis.sismember(key, f"{channel} {ts}"))

    async def take_working(self, thread_id: str) -> list[tuple[str, str]]:
        """Every marker of the thread, removed atomically: their reactions are the caller's."""
        key = self.keys.slack_working(thread_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.smembers(key)
            pipe.delete(key)
            members, _ = await pipe.execute()
        pairs = (member.decode().partition(" ") for member in members)
        return [(channel, ts) for channel, _, ts in pairs]
