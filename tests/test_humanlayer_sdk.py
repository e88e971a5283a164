"""The published `humanlayer==0.7.9` SDK, unchanged, against `/humanlayer/v1` of the real app:
web and worker, real Redis, the Slack stand-in; people click as Slack would send it."""

from __future__ import annotations

import asyncio
import json

from humanlayer import ContactChannel, SlackContactChannel

from bot.testing import slack_signing as signing
from tests.conftest import APPROVER, APPROVER_2, ASKER, SLACK_SECRET, SlackDriver
from tests.humanlayer_support import pending, sdk, until

OPS = ContactChannel(
    slack=SlackContactChannel(
        channel_or_user_id="COPS", context_about_channel_or_user="the ops team"
    )
)


async def test_require_approval_card_refusal_and_two_approvers_at_once(slack: SlackDriver) -> None:
    hl = sdk(slack, run_id="run-1")
    runs: list[tuple[str, str]] = []

    @hl.require_approval(contact_channel=OPS)
    def deploy(service: str, version: str) -> str:
        runs.append((service, version))
        return f"deployed {service} {version}"

    result = asyncio.create_task(asyncio.to_thread(deploy, service="api", version="1.4.2"))
    view, card = await pending(slack)
    assert view["agent"] == "external" and view["status"] == "waiting_approval"
    assert card.channel == "COPS"
    shown = json.dumps(card.blocks)
    assert "deploy" in shown and "*service*\\napi" in shown and "the ops team" in shown
    buttons = [b for b in card.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Cancel"]  # no Edit

    assert (await slack.click(card, "approve", user=ASKER)).status_code == 200
    await until(lambda: len(slack.stub.ephemerals) == 1)
    assert "can decide this" in slack.stub.ephemerals[0].text
    assert not result.done() and runs == []

    clicks = await asyncio.gather(
        slack.click(card, "approve", user=APPROVER), slack.click(card, "approve", user=APPROVER_2)
    )
    assert [c.status_code for c in clicks] == [200, 200]
    assert await asyncio.wait_for(result, 10) == "deployed api 1.4.2"
    assert runs == [("api", "1.4.2")]
    await until(lambda: slack.stub.message(card.channel, card.ts).edited)  # type: ignore[union-attr]
    updated = slack.stub.message(card.channel, card.ts)
    assert updated is not None and "Approved by" in json.dumps(updated.blocks)
    decided = await slack.thread(view["id"])
    assert decided["status"] == "done"
    [decision] = [e for e in decided["events"] if e["type"] == "human_response"]
    assert decision["approved"] is True and decision["user"] in (APPROVER, APPROVER_2)


async def test_reject_through_the_modal_returns_the_reason(slack: SlackDriver) -> None:
    hl = sdk(slack)
    runs: list[str] = []

    @hl.require_approval()
    def drop_table(name: str) -> str:
        runs.append(name)
        return "dropped"

    result = asyncio.create_task(asyncio.to_thread(drop_table, name="users"))
    _, card = await pending(slack)
    assert card.channel == "CAPPROVALS"  # no channel named: SLACK_APPROVAL_CHANNEL
    assert (await slack.click(card, "reject", user=APPROVER)).status_code == 200
    await slack.stub.wait_for("views.open")
    [modal] = slack.stub.views.values()
    submit = await slack.send(
        signing.view_submission(
            APPROVER,
            modal,
            values=signing.plain_text_value("reason", "reason", "not on a Friday"),
            signing_secret=SLACK_SECRET,
        )
    )
    assert submit.status_code == 200
    said = await asyncio.wait_for(result, 10)
    assert said == "User denied drop_table with message: not on a Friday"
    assert runs == []
