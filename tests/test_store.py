"""The Redis store and the lease, against a real Redis."""

from __future__ import annotations

import asyncio
import json

import pytest
from redis.asyncio import Redis
from redis.crc import key_slot

from bot.core.audit import args_digest
from bot.core.events import HumanRequest, HumanResponse, ToolCall, ToolResult, UserMessage
from bot.core.thread import Thread
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.threads import Conflict, ThreadExists, ThreadStore
from tests.helpers import T0, api_thread


@pytest.fixture
def store(redis_client: Redis, prefix: str) -> ThreadStore:
    return ThreadStore(redis_client, Keys(prefix), ttl_s=60)


@pytest.fixture
def leases(redis_client: Redis, prefix: str) -> Leases:
    return Leases(redis_client, Keys(prefix), lease_s=0.5)


def new_thread(thread_id: str = "th_a") -> Thread:
    return api_thread(thread_id)


async def test_create_get_commit_roundtrip(store: ThreadStore) -> None:
    created = await store.create(new_thread())
    assert created.version == 1
    with pytest.raises(ThreadExists):
        await store.create(new_thread())
    call = ToolCall(call_id="c1", name="list_services", args={}, at=T0)
    saved = await store.commit(created, [call])
    assert saved.version == 2
    loaded = await store.get("th_a")
    assert loaded == saved and loaded.events[-1] == call
    assert await store.get("th_missing") is None


async def test_stale_writer_is_refused(store: ThreadStore) -> None:
    created = await store.create(new_thread())
    await store.commit(created, [UserMessage(text="first", at=T0)])
    with pytest.raises(Conflict):
        await store.commit(created, [UserMessage(text="second", at=T0)])
    loaded = await store.get("th_a")
    assert loaded is not None and [e.text for e in loaded.events if isinstance(e, UserMessage)] == [
        "hi",
        "first",
    ]


async def test_concurrent_commits_never_interleave(store: ThreadStore) -> None:
    base = await store.create(new_thread())
    results = await asyncio.gather(
        *(store.commit(base, [UserMessage(text=str(i), at=T0)]) for i in range(20)),
        return_exceptions=True,
    )
    assert sum(not isinstance(r, Exception) for r in results) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, Exception))


def test_keys_of_a_thread_share_a_cluster_slot(prefix: str) -> None:
    keys = Keys(prefix)
    names = [
        keys.thread("th_a"),
        keys.events("th_a"),
        keys.audit("th_a"),
        keys.lease("th_a"),
        keys.fence("th_a"),
        keys.dirty("th_a"),
    ]
    assert len({key_slot(name.encode()) for name in names}) == 1
    assert key_slot(keys.thread("th_a").encode()) != key_slot(keys.thread("th_b").encode())


async def test_audit_records_decisions_with_a_digest(store: ThreadStore) -> None:
    thread = await store.create(new_thread())
    args = {"service": "api", "version": "1.4.2", "environment": "production"}
    thread = await store.commit(
        thread,
        [
            ToolCall(call_id="c1", name="deploy_service", args=args, at=T0),
            HumanRequest(
                request_id="th_a.r1", kind="approval", message="prod", call_id="c1", at=T0
            ),
        ],
    )
    thread = await store.commit(
        thread, [HumanResponse(request_id="th_a.r1", user="bob", approved=True, at=T0)]
    )
    await store.commit(thread, [ToolResult(call_id="c1", name="deploy_service", result={}, at=T0)])
    audit = await store.audit("th_a")
    assert [e["event"] for e in audit] == [
        "user_message",
        "human_request",
        "human_response",
        "tool_result",
    ]
    assert audit[0]["launch"] is True
    decision = audit[2]
    assert decision["user"] == "bob" and decision["approved"] is True
    assert decision["args_sha256"] == args_digest(args)
    assert decision["args_sha256"] != args_digest({**args, "version": "1.4.1"})


async def test_paused_thread_is_small(store: ThreadStore, redis_client: Redis, prefix: str) -> None:
    thread = await store.create(new_thread())
    await store.commit(
        thread,
        [
            ToolCall(
                call_id="c1",
                name="deploy_service",
                args={"service": "api", "version": "1.4.2", "environment": "production"},
                at=T0,
            ),
            HumanRequest(
                request_id="th_a.r1", kind="approval", message="prod deploy", call_id="c1", at=T0
            ),
        ],
    )
    keys = Keys(prefix)
    used = sum(
        [await redis_client.memory_usage(k) or 0 for k in (keys.thread("th_a"), keys.audit("th_a"))]
    )
    assert used <= 8 * 1024, used  # the design's budget per paused thread


async def test_listing_skips_expired_threads(
    store: ThreadStore, redis_client: Redis, prefix: str
) -> None:
    for name in ("th_1", "th_2", "th_3"):
        await store.create(new_thread(name))
    await redis_client.delete(Keys(prefix).thread("th_2"))
    found, cursor = await store.list(None, None, 10)
    assert [s.id for s in found] == ["th_3", "th_1"] and cursor is None
    assert await redis_client.zscore(Keys(prefix).index, "th_2") is None


async def test_lease_is_exclusive_and_wakes_the_holder(leases: Leases, store: ThreadStore) -> None:
    await store.create(new_thread())
    first, second = leases.lease("th_a"), leases.lease("th_a")
    ok, thread = await first.acquire()
    assert ok and thread is not None and thread.id == "th_a"
    assert await second.acquire() == (False, None)  # marks the thread dirty
    assert await first.release() is True  # so the holder keeps it and runs again
    assert await first.release() is False  # nothing new: released
    ok, _ = await second.acquire()
    assert ok


async def test_lease_expires_unless_renewed(leases: Leases, store: ThreadStore) -> None:
    await store.create(new_thread())
    holder = leases.lease("th_a")
    assert (await holder.acquire())[0]
    async with holder.renewing():
        await asyncio.sleep(0.8)  # longer than the 0.5 s lease
        assert (await leases.lease("th_a").acquire())[0] is False
    await asyncio.sleep(0.7)
    assert (await leases.lease("th_a").acquire())[0] is True
    assert await holder.release() is False and holder.lost


async def test_audit_entry_is_json(store: ThreadStore, redis_client: Redis, prefix: str) -> None:
    await store.create(new_thread())
    [(_, fields)] = await redis_client.xrange(Keys(prefix).audit("th_a"))
    assert json.loads(fields[b"e"])["event"] == "user_message"
