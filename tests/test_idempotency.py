"""Starting a thread at most once: `POST /threads` with an `Idempotency-Key`, and a HumanLayer
call posted again. Both are claims taken by the intake script with the thread they start."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from humanlayer import FunctionCallSpec
from redis.asyncio import Redis

from bot.config import Settings
from bot.humanlayer.http import thread_id_of
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import DEDUPE_TTL_S, Keys
from tests.conftest import SlackDriver, app_client
from tests.humanlayer_support import pending, sdk
from tests.tcp_proxy import CuttingProxy

BODY = {"agent": "deploy", "message": "deploy api 1.4.2 to production", "user": "ana"}
ANA_KEY = "k3y-of-ana-0123456789"


def once(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def count(api: httpx.AsyncClient) -> int:
    reply = await api.get("/threads")
    return len(reply.json()["threads"])


async def test_the_same_key_starts_one_thread_and_answers_the_first_launch_again(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Deployed."})
    first = await api.post("/threads", json=BODY, headers=once("launch-1"))
    assert first.status_code == 202, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await asyncio.gather(
        *(api.post("/threads", json=BODY, headers=once("launch-1")) for _ in range(3))
    )
    for reply in again:
        assert reply.status_code == 202, reply.text
        assert reply.json() == first.json()
        assert reply.headers["Idempotent-Replayed"] == "true"
    assert await count(api) == 1
    plain = await api.post("/threads", json=BODY)  # no key: a launch each time
    assert plain.status_code == 202 and await count(api) == 2


async def test_a_key_reused_with_another_body_is_422_and_starts_nothing(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post("/threads", json=BODY, headers=once("launch-2"))
    assert first.status_code == 202, first.text
    for changed in ({"message": "deploy web"}, {"user": "bob"}, {"agent": "support"}):
        reply = await api.post("/threads", json=BODY | changed, headers=once("launch-2"))
        assert reply.status_code == 422, reply.text
        assert "Idempotency-Key reused with different parameters" in reply.json()["detail"]
    assert await count(api) == 1


async def test_a_refused_launch_leaves_its_key_free(api: httpx.AsyncClient) -> None:
    unknown = await api.post("/threads", json=BODY | {"agent": "nope"}, headers=once("k-3"))
    assert unknown.status_code == 404, unknown.text
    fixed = await api.post("/threads", json=BODY, headers=once("k-3"))
    assert fixed.status_code == 202, fixed.text
    too_long = await api.post("/threads", json=BODY, headers=once("k" * 256))
    assert too_long.status_code == 422, too_long.text
    assert await count(api) == 1


async def test_keys_are_per_identity(settings: Settings, anthropic_stub: AnthropicStub) -> None:
    configured = settings.model_copy(update={"api_keys": f"{ANA_KEY}=ana"})
    async with app_client(configured) as operator:
        as_ana = {"Authorization": f"Bearer {ANA_KEY}"} | once("shared")
        mine = await operator.post("/threads", json=BODY, headers=once("shared"))
        hers = await operator.post("/threads", json=BODY, headers=as_ana)
        assert mine.status_code == hers.status_code == 202, (mine.text, hers.text)
        assert mine.json()["thread_id"] != hers.json()["thread_id"]
        assert await count(operator) == 2


async def test_a_launch_whose_reply_was_lost_is_one_thread(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    async with CuttingProxy(settings.redis_url or "").running() as proxy:
        through = settings.model_copy(update={"redis_url": proxy.url})
        async with app_client(through) as api:
            proxy.cut_reply_to(b":seen:api-launch:")  # the key's claim, with the thread
            first = await api.post("/threads", json=BODY, headers=once("lost-1"))
            assert proxy.cut.is_set()
            assert first.status_code == 202, first.text
            again = await api.post("/threads", json=BODY, headers=once("lost-1"))
            assert again.status_code == 202 and again.json() == first.json()
            assert await count(api) == 1


async def test_a_humanlayer_call_posted_after_its_claim_expired_is_still_one_call(
    slack: SlackDriver, redis_client: Redis, prefix: str
) -> None:
    hl = sdk(slack)
    spec = FunctionCallSpec(fn="restart", kwargs={"host": "db2"})
    await asyncio.to_thread(hl.create_function_call, spec, "call-kept")
    await pending(slack)
    thread_id = thread_id_of("function_call", "call-kept")
    claim = Keys(prefix).claim(thread_id, "humanlayer", "function_call:call-kept")
    assert await redis_client.ttl(claim) > DEDUPE_TTL_S  # kept as long as the thread
    await redis_client.delete(claim)  # as if expired: the thread's own id still finds it
    again = await asyncio.to_thread(hl.create_function_call, spec, "call-kept")
    assert again.call_id == "call-kept"
    assert len(await slack.threads()) == 1
    assert len(slack.stub.calls_to("chat.postMessage")) == 1


async def test_a_humanlayer_call_whose_reply_was_lost_is_one_call_and_one_card(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: Any
) -> None:
    async with CuttingProxy(slack_settings.redis_url or "").running() as proxy:
        through = slack_settings.model_copy(update={"redis_url": proxy.url})
        async with app_client(through) as api:
            slack = SlackDriver(api=api, stub=slack_stub)
            hl = sdk(slack)
            spec = FunctionCallSpec(fn="restart", kwargs={"host": "db3"})
            proxy.cut_reply_to(b":seen:humanlayer:")
            first = await asyncio.to_thread(hl.create_function_call, spec, "call-lost")
            assert proxy.cut.is_set() and first.call_id == "call-lost"
            await pending(slack)
            await asyncio.to_thread(hl.create_function_call, spec, "call-lost")
            assert len(await slack.threads()) == 1
            assert len(slack_stub.calls_to("chat.postMessage")) == 1
