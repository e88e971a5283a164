"""The core flows on a real Redis Cluster (3 primaries, 3 replicas; `tests.cluster_support`).

The cluster (`cluster` in tests/conftest.py) is started once, only when these tests run, and
shared with tests/test_cluster_intake.py; each test keeps to its own key prefix and queue, like
the single-Redis suite.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from redis.asyncio import RedisCluster
from redis.asyncio.cluster import ClusterPipeline
from redis.crc import key_slot

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.standins.smtp_sink import SmtpSink
from bot.store.connect import connect
from bot.store.keys import Keys
from bot.store.scripts import source
from bot.web.app import create_app
from tests.cluster_support import can_run
from tests.conftest import APPROVER, SlackDriver, app_client, serve
from tests.email_support import MailDriver, fixture_reply, new_mail, wait_delivered
from tests.helpers import tool_results, wait_for
from tests.test_worker_process import Webhook, worker

pytestmark = pytest.mark.skipif(can_run() is not None, reason=str(can_run()))


SCRIPTS = {
    "commit": source("commit"),
    "load": source("load"),
    "intake": source("intake"),
    "link": source("link"),
    "claim": source("claim"),
    "release": source("release"),
    "lease acquire": source("lease_acquire"),
    "lease renew": source("lease_renew"),
    "lease release": source("lease_release"),
    "sweeper drop": source("drop_stale"),
    "agent reserve": source("reserve"),
    "agent once": source("once"),
}
"""Every script hitlbot registers, by name."""
NOT_HERE = {
    "claim": "a Mailgun token's replay claim: one key (tests/test_email_inbound.py)",
    "release": "gives a Mailgun token's claim back, or lets a lease go without a commit: one key",
    "lease renew": "a step longer than a third of a lease: one key (tests/test_commit_lease.py)",
    "lease release": "a lease given back without a commit (a commit releases it itself): the "
    "lease and the dirty mark, both in the thread's slot",
    "agent reserve": "the support agent's refund ledger: one key (tests/test_agentstore.py)",
}
"""Scripts these flows do not run, and why their keys are one slot anyway."""
CALLS: list[tuple[str, list[bytes]]] = []
"""(sha, KEYS) of every script call made on the cluster by this module's tests."""


@pytest.fixture(scope="module", autouse=True)
def record_scripts() -> Iterator[None]:
    """Record the KEYS of every EVALSHA sent to the cluster (direct or pipelined)."""
    direct, piped = RedisCluster.execute_command, ClusterPipeline.execute_command

    def note(args: tuple[Any, ...]) -> None:
        if args and str(args[0]).upper() in ("EVALSHA", "EVAL"):
            count = int(args[2])
            CALLS.append((str(args[1]), [_bytes(key) for key in args[3 : 3 + count]]))

    async def recorded(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
        note(args)
        return await direct(self, *args, **kwargs)

    def recorded_piped(self: ClusterPipeline, *args: Any, **kwargs: Any) -> Any:
        note(args)
        return piped(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RedisCluster, "execute_command", recorded)
        patch.setattr(ClusterPipeline, "execute_command", recorded_piped)
        yield


def _bytes(key: Any) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()


async def test_cluster_mode_is_detected(cluster_settings: Settings, settings: Settings) -> None:
    connection = await connect(cluster_settings)
    try:
        assert connection.cluster and isinstance(connection.redis, RedisCluster)
    finally:
        await connection.aclose()
    single = await connect(settings)
    try:
        assert not single.cluster
    finally:
        await single.aclose()


async def launch(api: httpx.AsyncClient, message: str) -> str:
    reply = await api.post("/threads", json={"agent": "deploy", "message": message})
    assert reply.status_code == 202, reply.text
    thread_id: str = reply.json()["thread_id"]
    return thread_id


async def approve(api: httpx.AsyncClient, view: dict[str, object]) -> httpx.Response:
    pending = view["pending_request"]
    assert isinstance(pending, dict)
    return await api.post(
        f"/threads/{view['id']}/responses",
        json={"request_id": pending["request_id"], "approved": True, "user": "bob"},
    )


async def test_launch_approval_done(
    cluster_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    stub = anthropic_stub
    stub.reply_tool(
        "deploy_service",
        {"service": "api", "version": "1.4.2", "environment": "production", "reason": "asked"},
    )
    async with app_client(cluster_settings) as api:
        reply = await api.post(
            "/threads", json={"agent": "deploy", "message": "deploy api 1.4.2 to production"}
        )
        assert reply.status_code == 202, reply.text
        thread_id = reply.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        stub.reply_tool("done_for_now", {"message": "live"})
        reply = await api.post(
            f"/threads/{thread_id}/responses",
            json={
                "request_id": view["pending_request"]["request_id"],
                "approved": True,
                "user": "bob",
            },
        )
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, thread_id, "done")
        assert len(tool_results(view, "deploy_service")) == 1
        listed = (await api.get("/threads")).json()["threads"]
        assert [t["id"] for t in listed] == [thread_id]
        assert isinstance(api, httpx.AsyncClient)


async def test_long_poll_hears_a_commit_on_another_node(
    cluster_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "deployed"})
    async with app_client(cluster_settings) as api:
        view = await wait_for(api, await launch(api, "ship api"), "waiting_approval")
        poll = asyncio.create_task(
            api.get(
                f"/threads/{view['id']}", params={"wait": 8, "while_status": "waiting_approval"}
            )
        )
        await asyncio.sleep(0.3)  # subscribed (a late subscription would only answer later)
        assert not poll.done()
        started = asyncio.get_running_loop().time()
        assert (await approve(api, view)).status_code == 202
        answered = (await poll).json()
        assert answered["status"] != "waiting_approval"
        assert asyncio.get_running_loop().time() - started < 5  # woken, not timed out


async def test_a_deadline_expires_the_request(
    cluster_settings: Settings, anthropic_stub: AnthropicStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("deploy:\n  deploy_service:\n    expire_after: 1s\n")
    settings = cluster_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "Not deployed: nobody approved it."})
    async with app_client(settings) as api:
        view = await wait_for(api, await launch(api, "ship api"), "done", timeout=20)
    [decision] = [e for e in view["events"] if e["type"] == "human_response"]
    assert (decision["user"], decision["approved"]) == ("hitlbot", False)
    assert not tool_results(view, "deploy_service")


async def test_an_email_thread_is_answered_by_reply(
    cluster_settings: Settings, anthropic_stub: AnthropicStub, smtp_sink: SmtpSink
) -> None:
    settings = cluster_settings.model_copy(
        update={
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "smtp_starttls": False,
            "email_from": "support@shop.example",
            "email_inbound_secret": "mail-secret",
        }
    )
    anthropic_stub.reply_tool("request_more_information", {"message": "Which order?"})
    anthropic_stub.reply_tool("done_for_now", {"message": "It ships tomorrow."})
    async with app_client(settings) as api:
        mail = MailDriver(api=api, sink=smtp_sink)
        started = await mail.send(new_mail("Where is my grinder?"))
        thread_id = started["thread_id"]
        await wait_delivered(api, thread_id, "waiting_human")
        [question] = await smtp_sink.wait_for(1)
        reply = fixture_reply(
            "gmail_reply.eml",
            to_message=question.message["Message-ID"],
            references=[question.message["In-Reply-To"], question.message["Message-ID"]],
        )
        assert (await mail.send(reply))["status"] == "resumed"
        await wait_delivered(api, thread_id, "done")
        assert len(await smtp_sink.wait_for(2)) == 2


@pytest.mark.timeout(150)
async def test_a_killed_workers_step_finishes_in_another(
    cluster_settings: Settings, anthropic_stub: AnthropicStub, tmp_path: Path
) -> None:
    """Separate `hitlbot worker` processes on the cluster: the first is killed in the middle
    of a deploy; the second finishes the thread; the deploy is recorded once, under one id."""
    hook = Webhook()
    hook.hang_next = True
    app = web.Application()
    app.router.add_post("/deploys", hook.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    settings = cluster_settings.model_copy(
        update={"deploy_webhook_url": f"http://127.0.0.1:{port}/deploys", "step_lease_s": 1.0}
    )
    env = {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "HITLBOT_REDIS_PREFIX": settings.redis_prefix,
        "HITLBOT_QUEUE": settings.queue_name,
        "HITLBOT_STEP_LEASE_S": "1",
        "HITLBOT_LLM_SDK_RETRIES": "0",
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": anthropic_stub.base_url,
        "HITLBOT_MODEL": "claude-test",
        "DEPLOY_WEBHOOK_URL": settings.deploy_webhook_url or "",
    }
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "web", "version": "2.1.0", "environment": "staging"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "shipped"})
    try:
        async with serve(create_app(settings, with_worker=False)) as url:
            headers = {"Authorization": "Bearer test-token"}
            async with httpx.AsyncClient(base_url=url, headers=headers) as api:
                thread_id = await launch(api, "web to staging")
                with worker(env, tmp_path / "a.log") as first:
                    await asyncio.wait_for(hook.received.wait(), 60)
                    first.send_signal(signal.SIGKILL)
                    first.wait(10)
                with worker(env, tmp_path / "b.log"):  # a loaded machine starts it slowly
                    view = await wait_for(api, thread_id, "done", timeout=60)
    finally:
        await runner.cleanup()
    [result] = tool_results(view, "deploy_service")
    assert [post["call_id"] for post in hook.posts] == [result["call_id"]] * 2
    client = RedisCluster.from_url(settings.redis_url or "")
    deploys = await client.hgetall(Keys(settings.redis_prefix).agent("deploy", "deploys"))
    await client.aclose()
    assert list(deploys) == [result["call_id"].encode()]


async def test_a_slack_mention_its_card_and_approve(
    cluster_settings: Settings,
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
) -> None:
    settings = slack_settings.model_copy(update={"redis_url": cluster_settings.redis_url})
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "api 1.4.2 is live"})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        mention = await slack.mention("deploy api 1.4.2 to production")
        view, card = await slack.pending()
        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        view = await wait_for(api, view["id"], "done")
        assert len(tool_results(view, "deploy_service")) == 1
        anthropic_stub.reply_tool("done_for_now", {"message": "billing is at 2.0.1"})
        await slack.reply("thanks, and the billing one?", mention["ts"])
        for _ in range(500):
            view = (await api.get(f"/threads/{view['id']}")).json()
            said = [e.get("text") for e in view["events"] if e["type"] == "user_message"]
            answered = [e["message"] for e in view["events"] if e["type"] == "done"]
            if said[-1] == "thanks, and the billing one?" and answered[-1].startswith("billing"):
                break  # appended to the same thread, and answered
            await asyncio.sleep(0.02)
        else:
            raise AssertionError(f"the reply was not answered: {view}")
        assert len(await slack.threads()) == 1


def test_every_script_touches_one_slot(request: pytest.FixtureRequest) -> None:
    """Last in this module: the scripts its flows ran each kept to one slot, and together
    they ran every script hitlbot registers but those `NOT_HERE` says why."""
    shas = {hashlib.sha1(text.encode()).hexdigest(): name for name, text in SCRIPTS.items()}
    for sha, keys in CALLS:
        assert len({key_slot(key) for key in keys}) == 1, (shas.get(sha, sha), keys)
    mine = [i for i in request.session.items if i.module is request.module]
    if len(mine) < len([n for n in dir(request.module) if n.startswith("test_")]):
        pytest.skip("only some of this module's flows ran: coverage not judged")
    ran = {shas[sha] for sha, _ in CALLS if sha in shas}
    assert ran | set(NOT_HERE) == set(SCRIPTS), set(SCRIPTS) - ran - set(NOT_HERE)
