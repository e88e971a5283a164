"""The LangGraph adapter: a tool's approval as an interrupt, resolved in hitlbot (LangGraph's
`ToolNode`, LangChain's fake chat model, an in-memory checkpointer)."""

from __future__ import annotations

import asyncio
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

from bot.adapters.langgraph import approval_required, run_with_hitlbot
from bot.client import AsyncHitlbot
from tests.conftest import APPROVER, SlackDriver
from tests.humanlayer_support import pending


def graph_with(deploy: Any) -> Any:
    proposal = AIMessage(
        content="", tool_calls=[{"name": "deploy", "args": {"service": "api"}, "id": "tc1"}]
    )
    model = GenericFakeChatModel(messages=iter([proposal]))

    async def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await model.ainvoke(state["messages"])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode([deploy]))
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "tools")
    return builder.compile(checkpointer=InMemorySaver())


async def test_a_tool_interrupt_is_approved_in_slack_and_the_tool_runs_once(
    slack: SlackDriver,
) -> None:
    runs: list[str] = []

    @tool
    @approval_required
    def deploy(service: str) -> str:
        """Deploy a service."""
        runs.append(service)
        return f"deployed {service}"

    graph = graph_with(deploy)
    client = AsyncHitlbot(str(slack.api.base_url), "test-token", wait_s=5)
    config: Any = {"configurable": {"thread_id": "lg-1"}}
    run = run_with_hitlbot(graph, {"messages": [("user", "ship api")]}, config, client)
    result = asyncio.create_task(run)
    view, card = await pending(slack)
    assert view["pending_request"]["tool"] == {
        "name": "deploy",
        "args": {"service": "api"},
        "reason": None,
    }
    assert runs == []
    await slack.click(card, "approve", user=APPROVER)
    final = await asyncio.wait_for(result, 10)
    assert runs == ["api"] and final["messages"][-1].content == "deployed api"
    await client.aclose()
