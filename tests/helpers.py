"""Small helpers shared by the end-to-end tests."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.events import UserMessage
from bot.core.thread import ApiOrigin, Thread

T0 = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
"""The instant tests stamp the events they build (events are given `at`: the core reads no
clock); where order or age matters, a test counts from it or uses a `FakeClock`."""


def api_thread(thread_id: str) -> Thread:
    """A thread of the deploy agent launched over the API with "hi", at `T0` (not stored)."""
    return Thread(
        id=thread_id,
        agent="deploy",
        origin=ApiOrigin(),
        events=[UserMessage(text="hi", at=T0)],
        created_at=T0,
    )


async def wait_for(
    api: httpx.AsyncClient, thread_id: str, *statuses: str, timeout: float = 15
) -> dict[str, Any]:
    """Poll the thread until its status is one of `statuses`; fail with its state if not."""
    deadline = time.monotonic() + timeout
    while True:
        reply = await api.get(f"/threads/{thread_id}")
        reply.raise_for_status()
        view: dict[str, Any] = reply.json()
        if view["status"] in statuses:
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"thread stayed {view['status']}, wanted {statuses}: {view}")
        await asyncio.sleep(0.02)


def types(view: dict[str, Any]) -> list[str]:
    """The event types of a thread view, in order."""
    return [event["type"] for event in view["events"]]


def tool_results(view: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The results of one tool in a thread view."""
    return [e for e in view["events"] if e["type"] == "tool_result" and e["name"] == name]


async def snapshot(redis_client: Redis, settings: Settings) -> dict[bytes, bytes]:
    """Every key of this test with its dumped value, to prove a refusal changed nothing.

    Taken once the queue is quiet (no job delivered and not yet acked): the worker acks a
    step's job just after the commit a test may have waited for, and the ack is a write."""
    await _queue_quiet(redis_client, settings)
    keys = [k async for k in redis_client.scan_iter(f"{settings.redis_prefix}:*")]
    return {key: await redis_client.dump(key) for key in sorted(keys)}


async def _queue_quiet(redis_client: Redis, settings: Settings, timeout: float = 10) -> None:
    """Wait until every stream of this test has no pending (delivered, unacked) entry."""
    deadline = time.monotonic() + timeout
    streams = [
        k async for k in redis_client.scan_iter(f"{settings.redis_prefix}:*", _type="stream")
    ]
    for stream in streams:
        while any(group["pending"] for group in await redis_client.xinfo_groups(stream)):
            assert time.monotonic() < deadline, f"jobs of {stream!r} stayed pending"
            await asyncio.sleep(0.02)
