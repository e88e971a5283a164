"""A lease holder's commit: it renews the lease, and may let it go, in the same round trip;
a side effect right after it needs no separate lease check. Against a real Redis."""

from __future__ import annotations

import time
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.events import ToolCall, UserMessage
from bot.core.thread import Thread
from bot.runtime.loop import advance
from bot.runtime.wiring import runtime
from bot.standins.anthropic_stub import AnthropicStub, ToolReply
from bot.store.keys import Keys
from bot.store.lease import Lease, Leases
from bot.store.threads import Fenced, ThreadStore
from tests.helpers import T0, api_thread

LEASE_S = 600.0
"""Long, so a tenth of it (a check's freshness) outlasts any stall of the test itself."""


@pytest.fixture
def store(redis_client: Redis, prefix: str) -> ThreadStore:
    return ThreadStore(redis_client, Keys(prefix), ttl_s=60)


@pytest.fixture
def leases(redis_client: Redis, prefix: str) -> Leases:
    return Leases(redis_client, Keys(prefix), lease_s=LEASE_S)


def new_thread(thread_id: str = "th_c") -> Thread:
    return api_thread(thread_id)


async def acquired(store: ThreadStore, leases: Leases) -> tuple[Lease, Thread]:
    """A new thread `th_c`, its lease taken; the thread as the acquire loaded it."""
    await store.create(new_thread())
    lease = leases.lease("th_c")
    _, thread = await lease.acquire()
    assert thread is not None
    return lease, thread


async def test_a_commit_renews_the_fenced_lease(
    store: ThreadStore, leases: Leases, redis_client: Redis, prefix: str
) -> None:
    lease, thread = await acquired(store, leases)
    key = Keys(prefix).lease("th_c")
    await redis_client.pexpire(key, 5_000)
    await store.commit_step(
        thread, [UserMessage(text="x", at=T0)], fence=lease.token, renew_ms=600_000
    )
    assert await redis_client.pttl(key) > 5_000
    await redis_client.pexpire(key, 5_000)
    await store.commit(
        thread.appended(UserMessage(text="x", at=T0)).model_copy(update={"version": 2}), []
    )
    assert await redis_client.pttl(key) <= 5_000  # a commit without renew_ms leaves it


async def test_a_releasing_commit_lets_go_or_keeps_it_for_new_work(
    store: ThreadStore, leases: Leases, redis_client: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    lease, thread = await acquired(store, leases)
    # Another worker found it taken meanwhile: the dirty mark. The lease is kept, mark gone.
    assert (await leases.lease("th_c").acquire())[0] is False
    thread, held = await store.commit_step(
        thread, [UserMessage(text="1", at=T0)], fence=lease.token, release=True
    )
    assert held is True
    assert await redis_client.get(keys.lease("th_c")) == lease.token.encode()
    assert not await redis_client.exists(keys.dirty("th_c"))
    # No new work: let go.
    thread, held = await store.commit_step(
        thread, [UserMessage(text="2", at=T0)], fence=lease.token, release=True
    )
    assert held is False
    assert not await redis_client.exists(keys.lease("th_c"))
    assert thread.version == 3
    # A commit without `release` says nothing of the lease.
    second = leases.lease("th_c")
    assert (await second.acquire())[0]
    _, held = await store.commit_step(thread, [UserMessage(text="3", at=T0)], fence=second.token)
    assert held is None


async def test_a_fenced_releasing_commit_writes_nothing_and_keeps_the_new_holders_lease(
    store: ThreadStore, leases: Leases, redis_client: Redis, prefix: str
) -> None:
    first, thread = await acquired(store, leases)
    await redis_client.delete(Keys(prefix).lease("th_c"))  # lapsed
    second = leases.lease("th_c")
    assert (await second.acquire())[0]
    with pytest.raises(Fenced):
        await store.commit_step(
            thread, [UserMessage(text="late", at=T0)], fence=first.token, renew_ms=1, release=True
        )
    assert await redis_client.get(Keys(prefix).lease("th_c")) == second.token.encode()
    assert await redis_client.pttl(Keys(prefix).lease("th_c")) > 1
    assert await store.get("th_c") == thread


async def test_a_retried_releasing_commit_answers_from_the_lease(
    store: ThreadStore, leases: Leases, redis_client: Redis, prefix: str
) -> None:
    """The reply of a releasing commit lost with its connection: redis-py sends the very
    call again (same commit id); it gets its result back, the lease as the first run left it."""
    lease, thread = await acquired(store, leases)
    keys, args = store.commit_parts(
        thread, [UserMessage(text="x", at=T0)], lease.token, renew_ms=1000, release=True
    )
    assert await store._commit(keys=keys, args=args) == [1, b"2", b"0"]
    assert await store._commit(keys=keys, args=args) == [1, b"2", b"0"]
    # Kept for new work the first time: the retry says held.
    second = leases.lease("th_c")
    _, thread = await second.acquire()
    assert thread is not None
    await redis_client.set(Keys(prefix).dirty("th_c"), "1")
    keys, args = store.commit_parts(
        thread, [UserMessage(text="y", at=T0)], second.token, renew_ms=1000, release=True
    )
    assert await store._commit(keys=keys, args=args) == [1, b"3", b"1"]
    assert await store._commit(keys=keys, args=args) == [1, b"3", b"1"]


async def test_check_spares_its_round_trip_only_right_after_a_confirmation(
    store: ThreadStore, leases: Leases, redis_client: Redis, prefix: str
) -> None:
    key = Keys(prefix).lease("th_c")
    await store.create(new_thread())
    lease = leases.lease("th_c")
    assert (await lease.acquire())[0]
    await redis_client.pexpire(key, 5_000)
    assert await lease.check()
    assert await redis_client.pttl(key) <= 5_000  # fresh from the acquire: no renewal sent
    lease.confirmed(time.monotonic() - lease.fresh_s)  # as if confirmed a tenth of a lease ago
    assert await lease.check()
    assert await redis_client.pttl(key) > 5_000  # renewed
    await redis_client.delete(key)
    lease.confirmed(time.monotonic() - lease.fresh_s)
    assert not await lease.check()  # the lost lease is seen
    assert lease.lost and not lease.held
    assert not await lease.check()  # and stays lost, fresh or not


async def test_a_worker_lets_go_with_the_commit_that_pauses_the_thread(
    settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    call = ToolCall(call_id="c0", name="list_services", args={}, at=T0)
    async with runtime(settings) as (deps, _):
        thread = new_thread("th_r").appended(call)
        await deps.store.create(thread)
        await advance(deps, "th_r")
        stored = await deps.store.get("th_r")
        assert stored is not None and stored.status == "waiting_approval"
        assert not await redis_client.exists(deps.keys.lease("th_r"))


async def test_work_that_arrives_during_the_last_step_is_not_dropped(
    settings: Settings, anthropic_stub: AnthropicStub, redis_url: str, redis_client: Redis
) -> None:
    """A job for the thread found it held during its last model call (the dirty mark): the
    releasing commit keeps the lease, the worker loads the thread again and only then lets go."""
    async with runtime(settings) as (deps, _):
        dirty = deps.keys.dirty("th_d")

        def busy_meanwhile(body: dict[str, Any]) -> ToolReply:
            with SyncRedis.from_url(redis_url) as other:  # another worker's failed acquire
                other.set(dirty, "1")
            return ToolReply(name="done_for_now", input={"message": "nothing to do"})

        anthropic_stub.responder = busy_meanwhile
        await deps.store.create(new_thread("th_d"))
        await advance(deps, "th_d")
        stored = await deps.store.get("th_d")
        assert stored is not None and stored.status == "done"
        assert not await redis_client.exists(dirty)  # seen and cleared by the releasing commit
        assert not await redis_client.exists(deps.keys.lease("th_d"))  # then let go after all
