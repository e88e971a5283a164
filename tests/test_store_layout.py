"""Events are appended, never rewritten: loads of a known thread fetch only the new ones."""

from __future__ import annotations

from typing import Any

import pytest
from redis.asyncio import Redis

from bot.core.events import ToolCall, ToolResult, UserMessage
from bot.core.thread import Thread
from bot.store import codec
from bot.store.codec import ThreadCache
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.threads import ThreadStore
from tests.helpers import T0, api_thread


def new_thread(thread_id: str = "th_l") -> Thread:
    return api_thread(thread_id)


class Counting:
    """Counts the events a load validates."""

    def __init__(self) -> None:
        self.validated = 0
        self.real = codec.EVENT

    def validate_json(self, raw: bytes) -> Any:
        self.validated += 1
        return self.real.validate_json(raw)

    def dump_json(self, event: Any) -> bytes:
        return self.real.dump_json(event)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Counting:
    counter = Counting()
    monkeypatch.setattr(codec, "EVENT", counter)
    return counter


async def test_a_commit_appends_only_its_events(redis_client: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    thread = await store.create(new_thread())
    for n in range(30):
        thread = await store.commit(thread, [UserMessage(text=f"m{n}", at=T0)])
    assert await redis_client.llen(keys.events("th_l")) == 31
    assert await redis_client.hget(keys.thread("th_l"), "data") is None
    assert await store.get("th_l") == thread


async def test_a_known_thread_loads_only_what_was_appended(
    redis_client: Redis, prefix: str, counting: Counting
) -> None:
    keys = Keys(prefix)
    worker = ThreadStore(redis_client, keys, ttl_s=60)
    web = ThreadStore(redis_client, keys, ttl_s=60)  # another process: its own cache
    thread = await web.create(new_thread())
    for n in range(50):
        thread = await web.commit(thread, [UserMessage(text=f"m{n}", at=T0)])
    counting.validated = 0
    assert await worker.get("th_l") == thread
    assert counting.validated == 51  # the first load reads everything
    newer = await web.commit(thread, [ToolCall(call_id="c", name="list_services", args={}, at=T0)])
    counting.validated = 0
    assert await worker.get("th_l") == newer
    assert counting.validated == 1  # then only the new event
    # The lease's load goes through the same cache.
    leases = Leases(redis_client, keys, lease_s=5, cache=worker.cache)
    newest = await web.commit(
        newer, [ToolResult(call_id="c", name="list_services", result=[], at=T0)]
    )
    counting.validated = 0
    acquired, held = await leases.lease("th_l").acquire()
    assert acquired and held == newest and counting.validated == 1


async def test_a_cache_that_is_not_a_prefix_is_reloaded(redis_client: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    cache = ThreadCache()
    store = ThreadStore(redis_client, keys, ttl_s=60, cache=cache)
    stored = await store.create(new_thread())
    longer = stored.appended(*(UserMessage(text=str(n), at=T0) for n in range(5)))
    cache.put(longer)  # e.g. the thread expired and another of the same id began
    assert await store.get("th_l") == stored
    await redis_client.delete(keys.thread("th_l"), keys.events("th_l"))
    assert await store.get("th_l") is None and cache.get("th_l") is None


async def test_a_thread_stored_whole_by_an_earlier_version(
    redis_client: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    old = new_thread().appended(UserMessage(text="second", at=T0))
    await redis_client.hset(
        keys.thread("th_l"),
        mapping={"v": 2, "data": old.model_dump_json(exclude={"version"}), "status": "running"},
    )
    store = ThreadStore(redis_client, keys, ttl_s=60)
    loaded = await store.get("th_l")
    assert loaded == old.model_copy(update={"version": 2})
    committed = await store.commit(loaded, [UserMessage(text="third", at=T0)])
    assert [e.text for e in committed.events if isinstance(e, UserMessage)] == [
        "hi",
        "second",
        "third",
    ]
    assert await redis_client.hget(keys.thread("th_l"), "data") is None
    assert await redis_client.llen(keys.events("th_l")) == 3
    assert await ThreadStore(redis_client, keys, ttl_s=60).get("th_l") == committed
    # Rewriting the old layout audits only what is new, not the events it copies over.
    assert [entry["event"] for entry in await store.audit("th_l")] == ["user_message"]
