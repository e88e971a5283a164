"""The Pydantic AI adapter: deferred tool approvals decided in hitlbot (its TestModel)."""

from __future__ import annotations

import asyncio

from pydantic_ai import Agent, DeferredToolRequests
from pydantic_ai.models.test import TestModel

from bot.adapters.pydantic_ai import run_with_hitlbot
from bot.client import AsyncHitlbot
from tests.conftest import APPROVER, SlackDriver
from tests.humanlayer_support import pending


async def test_an_approval_deferred_by_pydantic_ai_is_decided_in_slack(slack: SlackDriver) -> None:
    agent = Agent(TestModel(), output_type=[str, DeferredToolRequests])
    runs: list[str] = []

    @agent.tool_plain(requires_approval=True)
    def deploy(service: str) -> str:
        runs.append(service)
        return f"deployed {service}"

    client = AsyncHitlbot(str(slack.api.base_url), "test-token", wait_s=5)
    result = asyncio.create_task(run_with_hitlbot(agent, "deploy", client, channel="COPS"))
    view, card = await pending(slack)
    assert card.channel == "COPS" and view["pending_request"]["tool"]["name"] == "deploy"
    assert runs == []
    await slack.click(card, "approve", user=APPROVER)
    done = await asyncio.wait_for(result, 10)
    assert runs == ["a"] and "deployed a" in str(done.output)
    await client.aclose()


async def test_a_rejection_reaches_the_model_as_the_denial(slack: SlackDriver) -> None:
    agent = Agent(TestModel(), output_type=[str, DeferredToolRequests])

    @agent.tool_plain(requires_approval=True)
    def drop(table: str) -> str:
        raise AssertionError("rejected: must not run")

    client = AsyncHitlbot(str(slack.api.base_url), "test-token", wait_s=5)
    result = asyncio.create_task(run_with_hitlbot(agent, "drop", client))
    view, _ = await pending(slack)
    call_id = view["origin"]["call_id"]
    decided = await slack.api.post(
        f"/humanlayer/v1/agent/function_calls/{call_id}/respond",
        json={"approved": False, "comment": "not in prod"},
    )
    assert decided.status_code == 200, decided.text
    done = await asyncio.wait_for(result, 10)
    returns = [
        part.content
        for message in done.all_messages()
        for part in getattr(message, "parts", [])
        if part.part_kind == "tool-return"
    ]
    assert returns == ["rejected by a human: not in prod"]
    await client.aclose()
