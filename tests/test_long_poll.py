"""`GET /threads/{id}?wait=`: the long-poll, its notifications and its bad input."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.events import UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.dev.embedded_redis import free_port
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import Keys
from bot.store.threads import ThreadStore
from bot.store.watch import Change, Changes, ThreadWatch, Until
from bot.store.watch import wait_for as long_poll
from tests.helpers import T0, api_thread, wait_for


@pytest.fixture
async def waiting(api: httpx.AsyncClient, anthropic_stub: AnthropicStub) -> dict[str, Any]:
    """A thread waiting for approval (its view); the model then finishes it."""
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "deployed"})
    reply = await api.post("/threads", json={"agent": "deploy", "message": "ship api"})
    return await wait_for(api, reply.json()["thread_id"], "waiting_approval")


async def subscribers(redis: Redis, settings: Settings, thread_id: str) -> int:
    channel = Keys(settings.redis_prefix).thread(thread_id)
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def until_subscribers(redis: Redis, settings: Settings, thread_id: str, n: int) -> None:
    while await subscribers(redis, settings, thread_id) != n:
        await asyncio.sleep(0.01)


async def approve(api: httpx.AsyncClient, view: dict[str, Any]) -> None:
    request_id = view["pending_request"]["request_id"]
    reply = await api.post(
        f"/threads/{view['id']}/responses",
        json={"request_id": request_id, "user": "bob", "approved": True},
    )
    assert reply.status_code == 202, reply.text


async def test_wait_answers_when_the_version_moves(
    api: httpx.AsyncClient, waiting: dict[str, Any], redis_client: Redis, settings: Settings
) -> None:
    thread_id, version = waiting["id"], waiting["version"]
    poll = asyncio.create_task(
        api.get(f"/threads/{thread_id}", params={"wait": 30, "after_version": version})
    )
    await until_subscribers(redis_client, settings, thread_id, 1)
    assert not poll.done()  # nothing changed: it holds (the client gives up after 10 s)
    await approve(api, waiting)
    reply = await poll
    assert reply.status_code == 200, reply.text
    assert reply.json()["version"] > version
    await until_subscribers(redis_client, settings, thread_id, 0)  # unsubscribed after


async def test_wait_while_status_answers_when_it_is_done(
    api: httpx.AsyncClient, waiting: dict[str, Any], redis_client: Redis, settings: Settings
) -> None:
    thread_id = waiting["id"]
    params = {"wait": 30, "while_status": ["waiting_approval", "running"]}
    poll = asyncio.create_task(api.get(f"/threads/{thread_id}", params=params))
    await until_subscribers(redis_client, settings, thread_id, 1)
    assert not poll.done()
    await approve(api, waiting)  # several commits (running, the tool, the model): one answer
    reply = await poll
    assert reply.status_code == 200, reply.text
    assert reply.json()["status"] == "done"


async def test_wait_answers_at_once_when_the_condition_holds(
    api: httpx.AsyncClient, waiting: dict[str, Any]
) -> None:
    url = f"/threads/{waiting['id']}"
    # Each would hold for 30 s if the condition were not checked first (the client waits 10).
    for params in (
        {"wait": 30, "while_status": "running"},
        {"wait": 30, "after_version": waiting["version"] - 1},
    ):
        reply = await api.get(url, params=params)
        assert reply.status_code == 200, reply.text
        assert reply.json()["version"] == waiting["version"]


async def test_two_waiters_on_one_thread_share_one_subscription(
    api: httpx.AsyncClient, waiting: dict[str, Any], redis_client: Redis, settings: Settings
) -> None:
    thread_id, version = waiting["id"], waiting["version"]
    params = {"wait": 30, "after_version": version}
    polls = [asyncio.create_task(api.get(f"/threads/{thread_id}", params=params))]
    await until_subscribers(redis_client, settings, thread_id, 1)
    polls.append(asyncio.create_task(api.get(f"/threads/{thread_id}", params=params)))
    await approve(api, waiting)
    for reply in await asyncio.gather(*polls):
        assert reply.status_code == 200 and reply.json()["version"] > version
    await until_subscribers(redis_client, settings, thread_id, 0)


async def test_a_watch_hears_the_commit_itself(redis_client: Redis, prefix: str) -> None:
    """The notification carries the commit's version and status: not a timeout's None."""
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    thread = await store.create(api_thread("th_w"))
    watch = ThreadWatch(redis_client, keys)
    try:
        async with watch.watching("th_w", 30) as changes:
            await store.commit(thread, [UserMessage(text="again", at=T0)])
            assert await changes.next(30) == Change(2, "running")
    finally:
        await watch.aclose()


async def test_many_watches_at_once_each_hear_their_commits(
    redis_client: Redis, prefix: str
) -> None:
    """Subscribes and unsubscribes interleaved over one connection (20 threads, 5 rounds
    each): every round hears its own commit. A confirmation read before its subscriber was
    counted once dropped the subscription here."""
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    watch = ThreadWatch(redis_client, keys)

    async def rounds(n: int) -> list[Change | None]:
        origin, first = ApiOrigin(), [UserMessage(text="hi", at=T0)]
        thread = await store.create(
            Thread(id=f"th_{n}", agent="deploy", origin=origin, events=first, created_at=T0)
        )
        heard = []
        for _ in range(5):
            async with watch.watching(thread.id, 30) as changes:
                commit = asyncio.create_task(store.commit(thread, [UserMessage(text="x", at=T0)]))
                heard.append(await changes.next(30))
                thread = await commit
        return heard

    try:
        heard = await asyncio.gather(*(rounds(n) for n in range(20)))
    finally:
        await watch.aclose()
    assert heard == [[Change(v, "running") for v in range(2, 7)]] * 20


def test_until() -> None:
    assert Until(after_version=3).met(4, "running")
    assert not Until(after_version=3).met(3, "done")
    assert Until(while_status=frozenset({"running"})).met(3, "done")
    assert not Until(while_status=frozenset({"running"})).met(3, "running")
    assert Until(3, frozenset({"running"})).met(3, "done")  # either condition
    assert not Until().met(9, "done")


@pytest.mark.parametrize(
    ("params", "status", "detail"),
    [
        ({"wait": 5}, 400, "wait needs after_version or while_status"),
        ({"wait": 0, "after_version": 1}, 422, "greater than 0"),
        ({"wait": 31, "after_version": 1}, 422, "less than or equal to 30"),
        ({"wait": "soon", "after_version": 1}, 422, "valid number"),
        ({"wait": "nan", "after_version": 1}, 422, "less than or equal to 30"),
        ({"wait": 5, "after_version": -1}, 422, "greater than or equal to 0"),
        ({"wait": 5, "after_version": "x"}, 422, "valid integer"),
        ({"wait": 5, "while_status": "sleeping"}, 422, "'running'"),
    ],
)
async def test_bad_wait_parameters(
    api: httpx.AsyncClient,
    waiting: dict[str, Any],
    params: dict[str, Any],
    status: int,
    detail: str,
) -> None:
    reply = await api.get(f"/threads/{waiting['id']}", params=params)
    assert reply.status_code == status, reply.text
    assert detail in reply.text


async def test_wait_on_an_unknown_thread_is_404(
    api: httpx.AsyncClient, redis_client: Redis, settings: Settings
) -> None:
    reply = await api.get("/threads/th_nope", params={"wait": 30, "after_version": 0})
    assert reply.status_code == 404, reply.text
    await until_subscribers(redis_client, settings, "th_nope", 0)


async def heard_commit(changes: Changes) -> Change | None:
    """The next commit heard, past the wake-ups (None) a skipped message gives."""
    for _ in range(3):
        change = await changes.next(5)
        if change is not None:
            return change
    return None


@pytest.mark.parametrize("junk", [b"garbage", b"\xff\xfe", b"", b"1.5 done"])
async def test_a_malformed_message_leaves_the_watch_working(
    redis_client: Redis, prefix: str, junk: bytes
) -> None:
    """Once: one such message on the channel killed the reader, and every long-poll after
    it slept its full wait."""
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    thread = await store.create(api_thread("th_w"))
    watch = ThreadWatch(redis_client, keys)
    try:
        async with watch.watching("th_w", 5) as changes:
            await redis_client.publish(keys.thread("th_w"), junk)
            thread = await store.commit(thread, [UserMessage(text="again", at=T0)])
            assert await heard_commit(changes) == Change(2, "running")
        async with watch.watching("th_w", 5) as changes:
            await store.commit(thread, [UserMessage(text="and again", at=T0)])
            assert await heard_commit(changes) == Change(3, "running")
    finally:
        await watch.aclose()


class Unforeseen(BaseException):
    """What no `except Exception` catches."""


async def test_a_failed_unsubscribe_or_a_dead_reader_leaves_the_watch_working(
    redis_client: Redis, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    thread = await store.create(api_thread("th_w"))
    watch = ThreadWatch(redis_client, keys)
    pubsub: Any = watch._pubsub
    real_unsubscribe = pubsub.unsubscribe
    failures = []

    async def unsubscribe(*names: str) -> None:
        if not failures:  # the connection drops again, right as the reader unsubscribes
            failures.append(names)
            raise ConnectionError("Connection closed by server.")
        await real_unsubscribe(*names)

    monkeypatch.setattr(pubsub, "unsubscribe", unsubscribe)
    try:
        async with watch.watching("th_w", 5) as changes:
            # A channel resubscribed by a reconnect after its last waiter left: the reader
            # unsubscribes it, and that fails.
            await pubsub.subscribe(keys.thread("th_gone"))
            while not failures:
                await asyncio.sleep(0.01)
            thread = await store.commit(thread, [UserMessage(text="again", at=T0)])
            assert await heard_commit(changes) == Change(2, "running")
            # The reader dies however it may (here: an error no handler expects): it is
            # restarted, and the waiters look again (a notification may have been lost).
            reader: Any = watch._reader
            real_dispatch = watch._dispatch

            async def dispatch(message: dict[str, Any]) -> None:
                monkeypatch.setattr(watch, "_dispatch", real_dispatch)
                raise Unforeseen

            monkeypatch.setattr(watch, "_dispatch", dispatch)
            thread = await store.commit(thread, [UserMessage(text="and again", at=T0)])
            assert await changes.next(5) is None  # woken by the restart
            assert reader.done() and watch._reader is not reader
            thread = await store.commit(thread, [UserMessage(text="once more", at=T0)])
            assert await heard_commit(changes) == Change(4, "running")
    finally:
        await watch.aclose()


async def test_a_met_condition_answers_without_the_pub_sub_connection(
    redis_client: Redis, prefix: str
) -> None:
    """Whatever state the pub/sub connection is in (here: its Redis never answers), a
    thread that already meets the condition is the answer at once."""
    keys = Keys(prefix)
    store = ThreadStore(redis_client, keys, ttl_s=60)
    thread = await store.create(api_thread("th_w"))
    nowhere = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")
    watch = ThreadWatch(nowhere, keys)

    async def load() -> Thread:
        found = await store.get("th_w")
        assert found is not None
        return found

    try:
        until = Until(after_version=0)
        found = await asyncio.wait_for(long_poll(watch, load, "th_w", until, 30), 5)
        assert found.version == thread.version
    finally:
        await watch.aclose()
        await nowhere.aclose()
