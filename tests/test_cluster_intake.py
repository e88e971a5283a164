"""The intake's new paths on a real Redis Cluster (the suite's one, `cluster` in conftest):
a HumanLayer call started with its call id as a claim and its deadline marks written by the
caller (global keys, outside the script), and `POST /threads` with an `Idempotency-Key`.

`tests/test_cluster_flows.py` has the core flows; these run the published HumanLayer SDK
and the API as a client would, against an app whose only Redis is the cluster.
"""

from __future__ import annotations

import asyncio
from typing import Any

from humanlayer import FunctionCallSpec
from pytest import mark
from redis.asyncio import RedisCluster

from bot.config import Settings
from bot.humanlayer.http import thread_id_of
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.store.keys import Keys
from tests.cluster_support import can_run
from tests.conftest import APPROVER, SlackDriver, app_client
from tests.helpers import wait_for
from tests.humanlayer_support import pending, sdk

pytestmark = mark.skipif(can_run() is not None, reason=str(can_run()))

BODY = {"agent": "deploy", "message": "deploy api 1.4.2 to production", "user": "ana"}


def on_cluster(cluster_settings: Settings, slack_settings: Settings, **update: Any) -> Settings:
    """The Slack-on test settings, with the cluster as their only Redis."""
    return slack_settings.model_copy(update={"redis_url": cluster_settings.redis_url, **update})


async def deadline_marks(settings: Settings) -> dict[str, float]:
    """The cluster's deadline marks (`<thread id> <request id>` -> due) of this test."""
    client = RedisCluster.from_url(settings.redis_url or "")
    try:
        found = await client.zrange(Keys(settings.redis_prefix).deadlines, 0, -1, withscores=True)
    finally:
        await client.aclose()
    return {member.decode(): score for member, score in found}


async def test_an_sdk_approval_and_a_call_posted_again_are_one_thread(
    cluster_settings: Settings,
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
) -> None:
    settings = on_cluster(cluster_settings, slack_settings)
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        hl = sdk(slack, genid=lambda _prefix: "call-cluster")
        runs: list[str] = []

        @hl.require_approval()
        def restart(service: str) -> str:
            runs.append(service)
            return f"restarted {service}"

        result = asyncio.create_task(asyncio.to_thread(restart, service="api"))
        spec = FunctionCallSpec(fn="restart", kwargs={"service": "api"})
        again = await asyncio.to_thread(hl.create_function_call, spec, "call-cluster")
        assert again.call_id == "call-cluster"
        view, card = await pending(slack)
        assert view["id"] == thread_id_of("function_call", "call-cluster")
        await asyncio.to_thread(hl.create_function_call, spec, "call-cluster")  # once more
        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        assert await asyncio.wait_for(result, 10) == "restarted api"
        assert runs == ["api"]
        status = (await asyncio.to_thread(hl.get_function_call, "call-cluster")).status
        assert status is not None and status.approved is True
        assert [t["id"] for t in await slack.threads()] == [view["id"]]
        assert len(slack_stub.calls_to("chat.postMessage")) == 1


async def test_a_call_posted_again_keeps_its_place_in_the_listing(
    cluster_settings: Settings,
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
) -> None:
    """Listed once, by when it was first posted: a second post (the caller lists a thread
    before the script on a Cluster) neither adds it again nor moves it."""
    settings = on_cluster(cluster_settings, slack_settings)
    async with app_client(settings) as api:
        hl = sdk(SlackDriver(api=api, stub=slack_stub))
        for call_id in ("call-first", "call-second", "call-first"):
            spec = FunctionCallSpec(fn="scale", kwargs={"n": 3})
            await asyncio.to_thread(hl.create_function_call, spec, call_id)
        listed = [t["id"] for t in (await api.get("/threads")).json()["threads"]]
    second, first = (thread_id_of("function_call", c) for c in ("call-second", "call-first"))
    assert listed == [second, first]  # newest first


async def test_an_external_call_expires_on_the_cluster(
    cluster_settings: Settings,
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    tmp_path: Any,
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("external:\n  purge:\n    expire_after: 1s\n")
    # Deadlines are swept about every step lease.
    settings = on_cluster(
        cluster_settings, slack_settings, policy_file=str(policy), step_lease_s=0.5
    )
    async with app_client(settings) as api:
        hl = sdk(SlackDriver(api=api, stub=slack_stub), genid=lambda _prefix: "call-expiring")

        @hl.require_approval()
        def purge(bucket: str) -> str:
            raise AssertionError("expired: must not run")

        said = asyncio.create_task(asyncio.to_thread(purge, bucket="logs"))
        thread_id = thread_id_of("function_call", "call-expiring")
        marks: dict[str, float] = {}
        for _ in range(500):  # written by the caller with the start, before any step
            marks = await deadline_marks(settings)
            if marks or said.done():
                break
            await asyncio.sleep(0.02)
        assert marks, "the call's deadline mark was never written"
        [(member, _due)] = marks.items()
        assert member.startswith(f"{thread_id} ")
        text = await asyncio.wait_for(said, 15)
        assert text.startswith("User denied purge with message: expired: no decision by")
        status = (await asyncio.to_thread(hl.get_function_call, "call-expiring")).status
        assert status is not None and status.approved is False
        assert (status.comment or "").startswith("expired: no decision by")
        for _ in range(500):  # the sweeper drops the mark just after it records the expiry
            if not await deadline_marks(settings):
                break
            await asyncio.sleep(0.01)
        else:
            raise AssertionError(f"the deadline mark was kept: {await deadline_marks(settings)}")


async def test_an_idempotency_key_launches_once_on_the_cluster(
    cluster_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Deployed."})
    async with app_client(cluster_settings) as api:
        key = {"Idempotency-Key": "cluster-launch-1"}
        at_once = await asyncio.gather(
            *(api.post("/threads", json=BODY, headers=key) for _ in "abc")
        )
        for reply in at_once:
            assert reply.status_code == 202, reply.text
        [first] = [r for r in at_once if "Idempotent-Replayed" not in r.headers]
        replays = [r for r in at_once if r is not first]
        replays.append(await api.post("/threads", json=BODY, headers=key))  # and once more
        for reply in replays:
            assert reply.status_code == 202, reply.text
            assert reply.headers["Idempotent-Replayed"] == "true"
            assert reply.json() == first.json()
        thread_id = first.json()["thread_id"]
        await wait_for(api, thread_id, "done")  # queued on the cluster, and stepped
        listed = (await api.get("/threads")).json()["threads"]
        assert [t["id"] for t in listed] == [thread_id]
        other = await api.post("/threads", json=BODY | {"message": "deploy web"}, headers=key)
        assert other.status_code == 422, other.text
