"""Cancel, on every channel: Slack's Stop during a model call, the Cancel button, the API and
the CLI; cards withdrawn, late clicks refused, exactly one outcome against an approval, and a
new message starting the agent again (the real web and worker, Redis, the stand-ins)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
from aiohttp import web
from redis.asyncio import Redis
from typer.testing import CliRunner

from bot.cli import app
from bot.config import Settings
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub, ToolReply
from bot.store.keys import Keys
from tests.conftest import APPROVER, APPROVER_2, ASKER, SlackDriver, app_client
from tests.email_support import CUSTOMER, MailDriver, new_mail, wait_delivered
from tests.helpers import tool_results, types, wait_for

STAGING = {"service": "api", "version": "1.4.2", "environment": "staging"}
PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


async def _deploys(redis: Redis, settings: Settings) -> int:
    return int(await redis.hlen(Keys(settings.redis_prefix).agent("deploy", "deploys")))


async def _until(check: Any, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_stop_during_a_model_call_runs_nothing_more(
    slack: SlackDriver,
    anthropic_stub: AnthropicStub,
    redis_client: Redis,
    slack_settings: Settings,
) -> None:
    # The model's answer is held until the Stop is committed: a staging deploy, which would
    # run at once.
    anthropic_stub.reply_tool("deploy_service", STAGING, delay=30)
    mention = await slack.mention("deploy api 1.4.2 to staging")
    await _until(lambda: anthropic_stub.calls == 1)
    [thread] = await slack.threads()

    stop = signing.agent_session_stopped_event(ASKER, "CDEPLOY", mention["ts"])
    assert (await slack.event(stop)).status_code == 200
    view = await wait_for(slack.api, thread["id"], "cancelled")
    assert view["status"] == "cancelled" and view["pending_request"] is None
    anthropic_stub.release()

    [note] = await slack.posted(1)
    assert note.thread_ts == mention["ts"] and f"Stopped by <@{ASKER}>" in note.text
    view = await slack.thread(thread["id"])
    calls = [e["name"] for e in view["events"] if e["type"] == "tool_call"]
    assert calls == ["list_services"]  # the prefetch; the model's choice was dropped
    assert await _deploys(redis_client, slack_settings) == 0
    assert anthropic_stub.calls == 1  # and it was not asked again
    [cancelled] = [e for e in view["events"] if e["type"] == "cancelled"]
    assert cancelled["user"] == ASKER and cancelled["via"] == "slack_stop"
    audit = (await slack.api.get(f"/threads/{thread['id']}/audit")).json()["entries"]
    assert any(e["event"] == "cancelled" for e in audit)

    # A new message in the Slack thread starts the agent again, as after done.
    anthropic_stub.reply_tool("done_for_now", {"message": "Nothing deployed; ask again."})
    await slack.reply("what happened?", mention["ts"])
    await wait_for(slack.api, thread["id"], "done")
    assert anthropic_stub.calls == 2


async def test_a_cancelled_card_is_withdrawn_and_late_clicks_are_refused(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    mention = await slack.mention("deploy api 1.4.2 to production")
    view, card = await slack.pending()
    request_id = view["pending_request"]["request_id"]

    stranger = await slack.click(card, "cancel", user="USTRANGER")
    assert stranger.status_code == 200
    await slack.stub.wait_for("chat.postEphemeral")
    assert "can stop this" in slack.stub.ephemerals[-1].text
    assert (await slack.thread(view["id"]))["status"] == "waiting_approval"

    assert (await slack.click(card, "cancel", user=ASKER)).status_code == 200
    await wait_for(slack.api, view["id"], "cancelled")

    def card_now() -> str:
        message = slack.stub.message(card.channel, card.ts)
        return json.dumps(message.blocks if message is not None else [])

    await _until(lambda: "Cancelled by" in card_now())
    updated = slack.stub.message(card.channel, card.ts)
    assert updated is not None and not [b for b in updated.blocks if b["type"] == "actions"]
    assert f"Cancelled by <@{ASKER}>" in json.dumps(updated.blocks)
    await _until(lambda: any("Stopped by" in m.text for m in slack.stub.messages))

    late = await slack.click(card, "approve", user=APPROVER)
    assert late.status_code == 200
    await slack.stub.wait_for("chat.postEphemeral", 2)
    assert (
        slack.stub.ephemerals[-1].text == f"This was cancelled by <@{ASKER}>. Nothing was changed."
    )
    body = {"request_id": request_id, "user": APPROVER, "approved": True}
    refused = await slack.api.post(f"/threads/{view['id']}/responses", json=body)
    assert (
        refused.status_code == 409 and refused.json()["detail"] == f"this was cancelled by {ASKER}"
    )
    again = await slack.api.post(f"/threads/{view['id']}/cancel", json={"user": APPROVER})
    assert again.status_code == 409
    final = await slack.thread(view["id"])
    assert not tool_results(final, "deploy_service") and final["status"] == "cancelled"
    assert mention["ts"] == card.thread_ts


async def test_cancel_over_the_api_and_the_cli(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub, settings: Settings
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version?"})
    launched = await api.post("/threads", json={"agent": "deploy", "message": "deploy api"})
    thread_id = launched.json()["thread_id"]
    view = await wait_for(api, thread_id, "waiting_human")
    request_id = view["pending_request"]["request_id"]

    missing = await api.post("/threads/th_nope/cancel", json={"user": "ops"})
    assert missing.status_code == 404
    bad = await api.post(f"/threads/{thread_id}/cancel", json={"who": "ops"})
    assert bad.status_code == 422
    url = str(api.base_url)
    result = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        [
            "cancel",
            thread_id,
            "--user",
            "ops",
            "--reason",
            "wrong ticket",
            "--url",
            url,
            "--token",
            "test-token",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"cancelled {thread_id} (withdrawn requests: {request_id})" in result.output
    view = await wait_for(api, thread_id, "cancelled")
    [cancelled] = [e for e in view["events"] if e["type"] == "cancelled"]
    assert cancelled == cancelled | {"user": "ops", "via": "api", "reason": "wrong ticket"}
    assert cancelled["withdrawn"] == [request_id]
    listed = (await api.get("/threads", params={"status": "cancelled"})).json()["threads"]
    assert [t["id"] for t in listed] == [thread_id]

    answer = {"request_id": request_id, "user": "ops", "answer": "1.4.2"}
    late = await api.post(f"/threads/{thread_id}/responses", json=answer)
    assert late.status_code == 409
    twice = await asyncio.to_thread(
        CliRunner().invoke, app, ["cancel", thread_id, "--url", url, "--token", "test-token"]
    )
    assert twice.exit_code != 0 and "HTTP 409" in twice.output

    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    again = await api.post(f"/threads/{thread_id}/messages", json={"message": "start over"})
    assert again.status_code == 202
    await wait_for(api, thread_id, "done")
    done_thread = await api.post(f"/threads/{thread_id}/cancel", json={"user": "ops"})
    assert done_thread.status_code == 409 and "nothing to cancel" in done_thread.json()["detail"]


async def test_cancel_racing_an_approval_has_exactly_one_outcome(
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    redis_client: Redis,
) -> None:
    """Two web processes (two apps on one Redis): one takes the cancel, the other the
    approval, sent at once, round after round."""
    settings = slack_settings.model_copy(update={"slack_bot_token": None})

    def model(body: dict[str, Any]) -> ToolReply:
        if "deploy_service_result" in json.dumps(body["messages"]):
            return ToolReply(name="done_for_now", input={"message": "deployed"})
        return ToolReply(name="deploy_service", input=PRODUCTION)

    anthropic_stub.responder = model
    async with app_client(settings) as first, app_client(settings, with_worker=False) as second:
        for _ in range(4):
            launched = await first.post("/threads", json={"agent": "deploy", "message": "go"})
            thread_id = launched.json()["thread_id"]
            view = await wait_for(first, thread_id, "waiting_approval")
            request_id = view["pending_request"]["request_id"]
            decision = {"request_id": request_id, "user": APPROVER, "approved": True}
            approve, cancel = await asyncio.gather(
                second.post(f"/threads/{thread_id}/responses", json=decision),
                first.post(f"/threads/{thread_id}/cancel", json={"user": APPROVER_2}),
            )
            view = await wait_for(first, thread_id, "cancelled", "done")
            responses = [e for e in view["events"] if e["type"] == "human_response"]
            [cancelled] = [e for e in view["events"] if e["type"] == "cancelled"] or [None]
            if approve.status_code == 202:
                # The approval committed first: the cancel withdrew nothing.
                assert len(responses) == 1 and cancel.status_code in (202, 409)
                assert cancelled is None or cancelled["withdrawn"] == []
            else:
                # The cancel committed first: the approval was told, nothing was deployed.
                assert approve.status_code == 409 and "cancelled by" in approve.json()["detail"]
                assert cancel.status_code == 202 and cancelled is not None
                assert cancelled["withdrawn"] == [request_id] and responses == []
                assert not tool_results(view, "deploy_service")


async def test_a_stop_reply_by_mail_cancels_and_a_stranger_cannot(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "Which order number?"})
    started = await mail.send(new_mail("My machine arrived dented."))
    thread_id = started["thread_id"]
    await wait_delivered(mail.api, thread_id, "waiting_human")
    [question] = await mail.sink.wait_for(1)
    asked = question.message["Message-ID"]

    other = new_mail("stop", sender="eve@example.org", message_id="<eve.1@example.org>")
    other = other.replace(b"Subject:", f"In-Reply-To: {asked}\nSubject:".encode(), 1)
    held = await mail.send(other)
    assert held["status"] == "held"  # not the thread's human: nothing stopped

    stop = new_mail("Stop.", message_id="<stop.1@mail.example.com>")
    stop = stop.replace(b"Subject:", f"In-Reply-To: {asked}\nSubject:".encode(), 1)
    assert await mail.send(stop) == {"thread_id": thread_id, "status": "cancelled"}
    view = await wait_for(mail.api, thread_id, "cancelled")
    [cancelled] = [e for e in view["events"] if e["type"] == "cancelled"]
    assert cancelled["via"] == "email" and cancelled["user"] == CUSTOMER
    _, told = await mail.sink.wait_for(2)
    assert "stopped by ana@example.com" in told.message.get_body(("plain",)).get_content()
    again = await mail.send(stop)
    assert again["status"] == "ignored"  # a retry of the same mail


async def test_a_tool_running_when_cancelled_finishes_and_is_recorded_then_nothing_runs(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    started, release = asyncio.Event(), asyncio.Event()

    async def deploy(request: web.Request) -> web.Response:
        started.set()
        await release.wait()  # the barrier: the cancel commits while the deploy runs
        return web.json_response({"ok": True})

    hook = web.Application()
    hook.router.add_post("/deploy", deploy)
    runner = web.AppRunner(hook)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    anthropic_stub.reply_tool("deploy_service", STAGING)
    hooked = settings.model_copy(update={"deploy_webhook_url": f"http://127.0.0.1:{port}/deploy"})
    try:
        async with app_client(hooked) as api:
            launched = await api.post("/threads", json={"agent": "deploy", "message": "ship"})
            thread_id = launched.json()["thread_id"]
            await asyncio.wait_for(started.wait(), 10)
            cancel = await api.post(f"/threads/{thread_id}/cancel", json={"user": "ops"})
            assert cancel.status_code == 202
            release.set()
            deadline = asyncio.get_running_loop().time() + 10
            while not tool_results(
                view := (await api.get(f"/threads/{thread_id}")).json(), "deploy_service"
            ):
                assert asyncio.get_running_loop().time() < deadline, view
                await asyncio.sleep(0.02)
    finally:
        await runner.cleanup()
    assert view["status"] == "cancelled"
    assert types(view)[-2:] == ["cancelled", "tool_result"]  # kept, after the cancel
    assert anthropic_stub.calls == 1  # and the model was not asked again
