"""Every decision updates every card of its request, whatever channel it came by (issue 18.13),
and a reminder or an escalation made moot by a decision is never delivered (issue 18.7)."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.config import Settings
from bot.core.events import (
    DeadlinePassed,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    UserMessage,
)
from bot.core.thread import ApiOrigin, Thread, undelivered
from bot.runtime.deadlines import sweep_deadlines
from bot.runtime.wiring import runtime
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from tests.conftest import APPROVER, SlackDriver, app_client
from tests.helpers import T0, tool_results, wait_for

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


def test_a_decision_makes_pending_reminders_moot_and_is_shown_on_every_card() -> None:
    call = ToolCall(call_id="c1", name="deploy_service", args=PRODUCTION, at=T0)
    request = HumanRequest(request_id="t.r1", kind="approval", message="m", call_id="c1", at=T0)
    card = RequestSent(ref="t.r1", channel="slack", coordinates={"channel": "C1", "ts": "1"}, at=T0)
    remind = DeadlinePassed(request_id="t.r1", step="remind", at=T0)
    escalate = DeadlinePassed(request_id="t.r1", step="escalate", at=T0)
    events = [UserMessage(text="go", at=T0), call, request, card, remind, escalate]
    thread = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=events, created_at=T0)
    assert [ref for ref, _ in thread.undelivered] == ["deadline:4", "deadline:5"]
    decision = HumanResponse(request_id="t.r1", user="U1", approved=True, at=T0)
    decided = thread.appended(decision)
    assert decided.undelivered == [("shown:t.r1:1", decision)]  # the reminders are moot
    # A card recorded after the decision (an escalation posted just before) is shown too.
    late = RequestSent(
        ref="deadline:5",
        channel="slack",
        coordinates={"channel": "C2", "ts": "2", "request_id": "t.r1"},
        at=T0,
    )
    shown = RequestSent(ref="shown:t.r1:1", channel="slack", at=T0)
    again = decided.appended(shown, late)
    assert again.undelivered == [("shown:t.r1:2", decision)]
    assert again.undelivered == undelivered(again.events)


async def test_an_api_decision_after_a_recorded_reminder_and_escalation(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        '[deploy.deploy_service]\nremind_after = "1h"\nescalate_after = "1h"\n'
        'escalate_to = "C0ONCALL"\n'
    )
    settings = slack_settings.model_copy(update={"policy_file": str(policy)})
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        await slack.mention("deploy api 1.4.2 to production")
        view, card = await slack.pending()
    posts = len(slack_stub.messages)
    # The sweeper records the reminder and the escalation (an hour on, by its clock) while no
    # worker runs; then an approver decides over the API, before any worker delivers them.
    async with runtime(settings) as (deps, _):
        assert await sweep_deadlines(deps, time.time() + 2 * 3600) == 1
    async with app_client(settings, with_worker=False) as api:
        pending = (await api.get(f"/threads/{view['id']}")).json()
        assert [e["step"] for e in pending["events"] if e["type"] == "deadline_passed"] == [
            "remind",
            "escalate",
        ]
        body = {"request_id": view["pending_request"]["request_id"], "approved": True}
        decided = await api.post(f"/threads/{view['id']}/responses", json=body | {"user": APPROVER})
        assert decided.status_code == 202, decided.text
    async with app_client(settings) as api:
        view = await wait_for(api, view["id"], "done")
    assert len(tool_results(view, "deploy_service")) == 1
    later = slack_stub.messages[posts:]
    assert not [m for m in later if "Reminder" in m.text or m.channel == "C0ONCALL"], later
    final = slack_stub.message(card.channel, card.ts)
    assert final is not None and f"Approved by <@{APPROVER}>" in json.dumps(final.blocks)
    assert '"action_id": "approve"' not in json.dumps(final.blocks)
    # The tool did not wait for the card: its result is recorded before the update.
    refs = [
        e.get("ref") or e.get("name")
        for e in view["events"]
        if e["type"] in ("tool_result", "request_sent")
    ]
    assert refs.index("deploy_service") < next(
        i for i, ref in enumerate(refs) if ref.startswith("shown:")
    )


async def test_a_refused_card_update_is_recorded_and_the_thread_goes_on(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(slack_settings) as api:
        launched = await api.post("/threads", json={"agent": "deploy", "message": "ship"})
        thread_id = launched.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        slack = SlackDriver(api=api, stub=slack_stub)
        view, _ = await slack.pending()
        slack_stub.fail("chat.update", error="message_not_found")  # the card was deleted
        body = {"request_id": view["pending_request"]["request_id"], "approved": True}
        decided = await api.post(f"/threads/{thread_id}/responses", json=body | {"user": APPROVER})
        assert decided.status_code == 202
        view = await wait_for(api, thread_id, "done")
    [error] = [e for e in view["events"] if e["type"] == "error"]
    assert error["kind"] == "delivery" and error["ref"].startswith("shown:")
    assert "message_not_found" in error["message"]
