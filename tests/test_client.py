"""hitlbot's native client (`bot.client`), sync and async, against the real app: Edit is
offered for its calls, and the function runs with the approver's edited arguments."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bot.client import AsyncHitlbot, Hitlbot, Option, Rejected, requires_approval
from bot.standins import slack_signing as signing
from tests.conftest import APPROVER, SLACK_SECRET, SlackDriver
from tests.humanlayer_support import pending


def sync_client(slack: SlackDriver) -> Hitlbot:
    return Hitlbot(str(slack.api.base_url), "test-token", wait_s=5)


async def test_requires_approval_runs_with_the_edited_kwargs(slack: SlackDriver) -> None:
    client = sync_client(slack)
    runs: list[dict[str, Any]] = []

    @requires_approval(client, channel="COPS")
    def deploy(service: str, replicas: int = 2) -> str:
        runs.append({"service": service, "replicas": replicas})
        return f"{service} x{replicas}"

    result = asyncio.create_task(asyncio.to_thread(deploy, "api"))
    _, card = await pending(slack)
    buttons = [b for b in card.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Edit", "Cancel"]
    assert (await slack.click(card, "edit", user=APPROVER)).status_code == 200
    await slack.stub.wait_for("views.open")
    [modal] = slack.stub.views.values()
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert inputs["arg:service"]["initial_value"] == "api"
    values = {
        "arg:service": {"value": {"type": "plain_text_input", "value": "api"}},
        "arg:replicas": {"value": {"type": "plain_text_input", "value": "5"}},
    }
    reply = await slack.send(
        signing.view_submission(APPROVER, modal, values=values, signing_secret=SLACK_SECRET)
    )
    assert reply.status_code == 200, reply.text
    assert await asyncio.wait_for(result, 10) == "api x5"
    assert runs == [{"service": "api", "replicas": 5}]
    client.close()


async def test_rejected_raises_with_who_and_why(slack: SlackDriver) -> None:
    client = AsyncHitlbot(str(slack.api.base_url), "test-token", wait_s=5)
    freeze = Option(name="freeze", title="Freeze", description="not this week")

    @requires_approval(client, reject_options=[freeze])
    async def drop(table: str) -> None:
        raise AssertionError("rejected: must not run")

    result = asyncio.create_task(drop(table="users"))
    _, card = await pending(slack)
    await slack.click(card, "reject_option:0", user=APPROVER)
    with pytest.raises(Rejected) as rejected:
        await asyncio.wait_for(result, 10)
    decision = rejected.value.decision
    assert (decision.approved, decision.by, decision.option) == (False, APPROVER, "freeze")
    assert decision.comment == "Freeze: not this week"
    await client.aclose()


async def test_ask_returns_the_answer_and_who(slack: SlackDriver) -> None:
    client = AsyncHitlbot(str(slack.api.base_url), "test-token", wait_s=5)
    options = [Option(name="eu", title="Europe"), Option(name="us", title="America")]
    answer = asyncio.create_task(client.ask("Where?", channel="COPS", options=options))
    _, question = await pending(slack)
    assert "Europe" in json.dumps(question.blocks)
    await slack.click(question, "choice:0", user="UANYONE")
    got = await asyncio.wait_for(answer, 10)
    assert (got.text, got.option, got.by) == ("Europe", "eu", "UANYONE")
    await client.aclose()
