"""Deadlines of pending approvals: reminded, then expired, durably across restarts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.config import Settings
from bot.deadlines import passed
from bot.events import DeadlinePassed, HumanRequest, HumanResponse, ToolCall, UserMessage
from bot.policy import deadline_steps
from bot.testing.anthropic_stub import AnthropicStub
from bot.testing.slack_stub import SlackStub
from bot.thread import ApiOrigin, Thread
from tests.conftest import APPROVER, APPROVER_2, SlackDriver, app_client
from tests.helpers import wait_for

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


def waiting(**deadlines: datetime) -> Thread:
    call = ToolCall(call_id="c1", name="deploy_service", args=PRODUCTION)
    request = HumanRequest(
        request_id="t.r1", kind="approval", message="m", call_id="c1", **deadlines
    )
    return Thread(
        id="t", agent="deploy", origin=ApiOrigin(), events=[UserMessage(text="go"), call, request]
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
    answered = thread.appended(HumanResponse(request_id="t.r1", user="U1", approved=True))
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
    assert "expired" in anthropic_stub.requests[-1].body["messages"][0]["content"]
