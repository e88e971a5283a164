"""Self-approval is about who asked for the call, not who started the thread (issue 18.1).

Ben starts a thread; later Maya, an approver, asks in the same thread for a production
deploy: Maya may not approve her own request, and Ben (an approver too) may. On Slack, over
the API and on an email thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.config import Settings
from bot.core.events import HumanRequest, HumanResponse, ToolCall, UserMessage
from bot.core.thread import ApiOrigin, SlackOrigin, Thread
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.standins.smtp_sink import SmtpSink
from tests.conftest import APPROVER, APPROVER_2, SlackDriver, app_client
from tests.email_support import MailDriver, new_mail, wait_delivered
from tests.helpers import T0, tool_results, wait_for
from tests.test_policy_flow import as_, keyed

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}
BEN, MAYA = APPROVER_2, APPROVER


def test_the_requester_is_whoever_wrote_the_turn_and_answered_its_questions() -> None:
    origin = SlackOrigin(channel="C1", thread_ts="1.0", user=BEN)
    thread = Thread(
        id="th_1",
        agent="deploy",
        origin=origin,
        events=[UserMessage(text="hi", at=T0)],
        created_at=T0,
    )
    assert thread.requesters == [BEN]  # no author on the message: the starter
    thread = thread.appended(UserMessage(text="deploy", user=MAYA, at=T0))
    assert thread.requesters == [MAYA] and thread.humans == {BEN, MAYA}
    asked = HumanRequest(request_id="th_1.r1", kind="question", message="which?", at=T0)
    answered = HumanResponse(request_id="th_1.r1", user="UCAROL", answer="1.4.2", at=T0)
    thread = thread.appended(ToolCall(call_id="c", name="x", args={}, at=T0), asked, answered)
    assert thread.requesters == ["UCAROL", MAYA]  # both shaped the call
    api = Thread(
        id="th_2",
        agent="deploy",
        origin=ApiOrigin(),
        events=[UserMessage(text="x", at=T0)],
        created_at=T0,
    )
    assert api.requesters == []


async def test_slack_a_later_requester_may_not_approve_but_the_starter_may(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello Ben"})
    started = await slack.mention("hi there", user=BEN)
    await slack.stub.wait_for("chat.postMessage", 1)
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    await slack.reply("deploy api 1.4.2 to production", started["ts"], user=MAYA)
    view, card = await slack.pending()
    request = view["pending_request"]
    assert request["excluded"] == [MAYA]
    assert (await slack.click(card, "approve", user=MAYA)).status_code == 200
    await slack.stub.wait_for("chat.postEphemeral", 1)
    [note] = slack.stub.ephemerals
    assert note.user == MAYA and "You asked for this call" in note.text
    assert (await slack.thread(view["id"]))["status"] == "waiting_approval"
    assert (await slack.click(card, "approve", user=BEN)).status_code == 200
    view = await wait_for(slack.api, view["id"], "done")
    assert len(tool_results(view, "deploy_service")) == 1


async def test_api_a_later_requester_may_not_approve_but_the_starter_may(
    slack_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    strict = keyed(slack_settings)
    anthropic_stub.reply_tool("done_for_now", {"message": "hello Ben"})
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(strict) as api:
        start = {"agent": "deploy", "message": "hi"}
        launched = await api.post("/threads", json=start, headers=as_(BEN))
        thread_id = launched.json()["thread_id"]
        await wait_for(api, thread_id, "done")
        body = {"message": "deploy api 1.4.2 to production"}
        posted = await api.post(f"/threads/{thread_id}/messages", json=body, headers=as_(MAYA))
        assert posted.status_code == 202
        view = await wait_for(api, thread_id, "waiting_approval")
        url = f"/threads/{thread_id}/responses"
        decision = {"request_id": view["pending_request"]["request_id"], "approved": True}
        refused = await api.post(url, json=decision, headers=as_(MAYA))
        assert refused.status_code == 403 and "asked for this call" in refused.json()["detail"]
        assert (await api.post(url, json=decision, headers=as_(BEN))).status_code == 202
        await wait_for(api, thread_id, "done")


@pytest.fixture
async def both(
    slack_settings: Settings,
    email_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    smtp_sink: SmtpSink,
) -> AsyncIterator[tuple[MailDriver, SlackDriver]]:
    """One app with Slack and email on."""
    fields: dict[str, Any] = email_settings.model_dump(
        include={
            "smtp_host",
            "smtp_port",
            "smtp_starttls",
            "smtp_timeout",
            "email_from",
            "email_inbound_secret",
            "delivery_retry_schedule",
        }
    )
    async with app_client(slack_settings.model_copy(update=fields)) as client:
        yield MailDriver(api=client, sink=smtp_sink), SlackDriver(api=client, stub=slack_stub)


async def test_email_thread_a_later_requester_may_not_approve(
    both: tuple[MailDriver, SlackDriver], anthropic_stub: AnthropicStub
) -> None:
    mail, slack = both
    anthropic_stub.reply_tool("done_for_now", {"message": "Found it.\n\n— The support team"})
    started = await mail.send(new_mail("Where is order A1001?"))
    thread_id = started["thread_id"]
    await wait_delivered(mail.api, thread_id, "done")
    # A colleague (a Slack approver) asks for the refund on the customer's thread.
    refund = {"order_id": "A1001", "amount": "49.00", "reason": "dented"}
    anthropic_stub.reply_tool("issue_refund", refund)
    body = {"message": "refund A1001 in full", "user": MAYA}
    assert (await mail.api.post(f"/threads/{thread_id}/messages", json=body)).status_code == 202
    view = await wait_delivered(mail.api, thread_id, "waiting_approval")
    sent = view["pending_request"]["sent_to"]["coordinates"]
    card = slack.stub.message(sent["channel"], sent["ts"])
    assert card is not None and view["pending_request"]["excluded"] == [MAYA]
    assert (await slack.click(card, "approve", user=MAYA)).status_code == 200
    await slack.stub.wait_for("chat.postEphemeral", 1)
    assert "You asked for this call" in slack.stub.ephemerals[0].text
    assert (await slack.thread(thread_id))["status"] == "waiting_approval"
