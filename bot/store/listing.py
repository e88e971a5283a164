"""Listing threads: newest first from the index, a page at a time (`ThreadStore.list`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.core.thread import Status
from bot.store.keys import Keys


@dataclass(frozen=True)
class Summary:
    """What a listing shows of one thread."""

    id: str
    agent: str
    status: Status
    updated: float


async def page(
    redis: Any, keys: Keys, status: Status | None, cursor: str | None, limit: int
) -> tuple[list[Summary], str | None]:
    """Threads newest first, filtered by status; returns a page and the next cursor. Expired
    threads met on the way are dropped from the index."""
    top, after_id = _parse_cursor(cursor)
    found: list[Summary] = []
    scanned, budget = 0, max(limit * 10, 1000)
    while len(found) < limit and scanned < budget:
        batch = await redis.zrange(
            keys.index,
            top,
            "-inf",
            byscore=True,
            desc=True,
            offset=0,
            num=limit + 50,
            withscores=True,
        )
        batch = [(m.decode(), s) for m, s in batch]
        if after_id is not None:
            batch = [(m, s) for m, s in batch if s < float(top) or m < after_id]
        if not batch:
            return found, None
        scanned += len(batch)
        async with redis.pipeline(transaction=False) as pipe:
            for member, _ in batch:
                pipe.hmget(keys.thread(member), ["agent", "status", "updated"])
            rows = await pipe.execute()
        for (member, score), (agent, state, updated) in zip(batch, rows, strict=True):
            top, after_id = repr(score), member
            if state is None:
                await redis.zrem(keys.index, member)  # expired thread
                continue
            if status is None or state.decode() == status:
                found.append(Summary(member, agent.decode(), state.decode(), float(updated)))
                if len(found) == limit:
                    break
    return found, f"{top}|{after_id}"


def _parse_cursor(cursor: str | None) -> tuple[str, str | None]:
    if not cursor:
        return "+inf", None
    score, _, member = cursor.partition("|")
    try:
        float(score)
    except ValueError as exc:
        raise ValueError("cursor is not one this server gave out") from exc
    return score, member or None
