"""Deadlines of pending requests: reminded, escalated, expired, durably across restarts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.core.events import DeadlinePassed, HumanRequest, HumanResponse, ToolCall, UserMessage
from bot.core.policy import deadline_steps
from bot.core.thread import ApiOrigin, Thread
from bot.email.outbound import REMINDER
from bot.runtime.deadlines import passed
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.standins.smtp_sink import SmtpSink
from tests.conftest import APPROVER, APPROVER_2, ASKER, SlackDriver, app_client
from tests.email_support import MailDriver, new_mail
from tests.helpers import wait_for

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


def waiting(**deadlines: datetime) -> Thread:
    call = ToolCall(call_id="c1", name="deploy_service", args=PRODUCTION, at=T0)
    request = HumanRequest(
        request_id="t.r1", kind="approval", message="m", call_id="c1", at=T0, **deadlines
    )
    return Thread(
        id="t",
        agent="deploy",
        origin=ApiOrigin(),
        events=[UserMessage(text="go", at=T0), call, request],
        created_at=T0,
    )


def test_what_is_due_is_recorded_once() -> None:
    thread = waiting(remind_at=T0 + timedelta(minutes=10), expire_at=T0 + timedelta(hours=2))
    request = thread.request("t.r1")
    assert request is not None
    assert [step for step, _ in deadline_steps(request)] == ["remind", "expire"]
    early = (T0 + timedelta(minutes=5)).timestamp()
    assert passed(thread, "t.r1", early, T0) == []
    later = (T0 + timedelta(minutes=11)).timestamp()
    [reminder] = passed(thread, "t.r1", later, T0)
    assert isinstance(reminder, DeadlinePassed) and reminder.step == "remind"
    reminded = thread.appended(reminder)
    assert passed(reminded, "t.r1", later, T0) == []  # not twice
    assert reminded.undelivered[-1] == ("deadline:3", reminder)  # the worker delivers it
    end = (T0 + timedelta(hours=3)).timestamp()
    expiry, decision = passed(reminded, "t.r1", end, T0)
    assert isinstance(expiry, DeadlinePassed) and expiry.step == "expire"
    assert isinstance(decision, HumanResponse)
    assert (decision.user, decision.approved) == ("hitlbot", False)
    assert decision.comment == "expired: no decision by 2026-12-02 11:00 UTC"
    assert reminded.appended(expiry, decision).status == "running"  # it goes on, rejected
    # Both at once (a sweeper that was down): the expiry alone, the reminder moot.
    assert [e.type for e in passed(thread, "t.r1", end, T0)] == [
        "deadline_passed",
        "human_response",
    ]
    answered = thread.appended(HumanResponse(request_id="t.r1", user="U1", approved=True, at=T0))
    assert passed(answered, "t.r1", end, T0) == []


async def test_a_reminder_then_an_expiry_across_a_restart(
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    tmp_path: Path,
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("deploy:\n  deploy_service:\n    remind_after: 1s\n    expire_after: 2.5s\n")
    settings = slack_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        mention = await slack.mention("deploy api 1.4.2 to production")
        view, card = await slack.pending()
    # Every process stops, and others start: the deadlines are in Redis, nothing sleeps.
    anthropic_stub.reply_tool("done_for_now", {"message": "Not deployed: nobody approved it."})
    async with app_client(settings) as api:
        view = await wait_for(api, view["id"], "done", timeout=20)
        audit = (await api.get(f"/threads/{view['id']}/audit")).json()["entries"]
    notes = [m for m in slack_stub.messages if m.bot_id and m.thread_ts == mention["ts"]]
    texts = [m.text for m in notes]
    assert any(f"Reminder for <@{APPROVER}>, <@{APPROVER_2}>" in t for t in texts), texts
    assert any("expired and counts as rejected" in t for t in texts), texts
    final = slack_stub.message(card.channel, card.ts)
    assert final is not None and "Rejected by hitlbot: expired" in json.dumps(final.blocks)
    steps = [e.get("step") for e in audit if e["event"] == "deadline_passed"]
    assert steps == ["remind", "expire"]
    [decision] = [e for e in audit if e["event"] == "human_response"]
    assert (decision["user"], decision["approved"]) == ("hitlbot", False)
    assert "expired" in anthropic_stub.requests[-1].context


async def test_an_escalated_card_counts_and_both_cards_show_the_decision(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[deploy.deploy_service]\nescalate_after = "1s"\nescalate_to = "C0ONCALL"\n')
    settings = slack_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        await slack.mention("deploy api 1.4.2 to production")
        view, first = await slack.pending()
        for _ in range(400):
            escalated = [m for m in slack_stub.messages if m.channel == "C0ONCALL"]
            sent = messages_recorded(await slack.thread(view["id"]))
            if escalated and any(_posted_in(e, "C0ONCALL") for e in sent):
                break  # the escalated card is recorded: a click on it counts
            await asyncio.sleep(0.025)
        [card] = escalated
        assert "Approval needed" in json.dumps(card.blocks)
        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        await wait_for(api, view["id"], "done")
        await slack_stub.wait_for("chat.update", 2)
    for shown in (first, card):
        now = slack_stub.message(shown.channel, shown.ts)
        assert now is not None and f"Approved by <@{APPROVER}>" in json.dumps(now.blocks)


def messages_recorded(view: dict[str, object]) -> list[object]:
    events = view["events"]
    assert isinstance(events, list)
    return [e for e in events if e["type"] == "request_sent" and e["channel"] == "slack"]


def _posted_in(event: object, channel: str) -> bool:
    coordinates = event.get("coordinates") if isinstance(event, dict) else None
    return isinstance(coordinates, dict) and coordinates.get("channel") == channel


async def test_a_question_is_reminded_then_expires(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[deploy.request_more_information]\nremind_after = "1s"\nexpire_after = "2s"\n'
    )
    settings = slack_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version?"})
    anthropic_stub.reply_tool("done_for_now", {"message": "I will wait for a version."})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        mention = await slack.mention("deploy api to production")
        [thread] = await slack.threads()
        view = await wait_for(api, thread["id"], "done", timeout=20)
    texts = [m.text for m in slack_stub.messages if m.bot_id and m.thread_ts == mention["ts"]]
    assert any(f"Reminder for <@{ASKER}>: I am still waiting" in t for t in texts), texts
    assert any("No answer in time" in t for t in texts), texts
    [response] = [e for e in view["events"] if e["type"] == "human_response"]
    assert response["user"] == "hitlbot" and response["answer"].startswith("(expired")
    assert "(expired" in anthropic_stub.requests[-1].context


async def test_an_email_question_is_reminded_by_mail_in_its_thread(
    email_settings: Settings, anthropic_stub: AnthropicStub, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[support.request_more_information]\nremind_after = "1s"\n')
    settings = email_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    anthropic_stub.reply_tool("request_more_information", {"message": "Which order is it?"})
    async with app_client(settings) as api:
        driver = MailDriver(api=api, sink=smtp_sink)
        started = await driver.send(new_mail("My machine arrived broken."))
        asked, reminder = await smtp_sink.wait_for(2, timeout=15)
        view = await driver.thread(started["thread_id"])
    assert view["status"] == "waiting_human"
    assert reminder.message["In-Reply-To"] == asked.message["Message-ID"]
    assert reminder.message["Subject"] == asked.message["Subject"]
    body = reminder.message.get_body(("plain",))
    assert body is not None
    text = str(body.get_content()).replace("\r\n", "\n")
    assert text.startswith(REMINDER + "Which order is it?")


async def test_the_operators_policy_end_to_end(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    """Production deploys need 2 of @sre, not the requester; remind, escalate, expire."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[deploy.deploy_service]\ngroups = ["S0SRE"]\nquorum = 2\nself_approval = false\n'
        'remind_after = "1s"\nescalate_after = "2s"\nescalate_to = "C0ONCALL"\n'
        'expire_after = "2h"\n'
    )
    sre = ["U0SRE1", "U0SRE2", "U0SRE3"]
    slack_stub.set_usergroup("S0SRE", sre)
    settings = slack_settings.model_copy(
        update={"policy_file": str(policy), "step_lease_s": 0.5, "slack_approvers": ""}
    )
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        await slack.mention("deploy api 1.4.2 to production", user="U0SRE1")  # an SRE asks
        view, card = await slack.pending()
        await slack.click(card, "approve", user="U0SRE1")  # the requester: refused
        await slack.click(card, "approve", user="U0SRE2")  # 1 of 2
        for _ in range(400):  # then the reminder and the escalation come due
            escalated = [m for m in slack_stub.messages if m.channel == "C0ONCALL"]
            sent = messages_recorded(await slack.thread(view["id"]))
            if escalated and any(_posted_in(e, "C0ONCALL") for e in sent):
                break  # the escalated card is recorded: a click on it counts
            await asyncio.sleep(0.025)
        [oncall] = escalated
        assert "1 of 2 approvals: <@U0SRE2>" in json.dumps(oncall.blocks)
        await slack.click(oncall, "approve", user="U0SRE3")  # 2 of 2, on the escalated card
        view = await wait_for(api, view["id"], "done")
        audit = (await api.get(f"/threads/{view['id']}/audit")).json()["entries"]
    assert "You started this thread" in slack_stub.ephemerals[0].text
    texts = [m.text for m in slack_stub.messages if m.bot_id]
    assert any("Reminder for <@U0SRE1>, <@U0SRE2>, <@U0SRE3>" in t for t in texts), texts
    events = [(e["event"], e.get("user") or e.get("step")) for e in audit]
    assert ("approval_vote", "U0SRE2") in events and ("human_response", "U0SRE3") in events
    assert ("deadline_passed", "remind") in events and ("deadline_passed", "escalate") in events
