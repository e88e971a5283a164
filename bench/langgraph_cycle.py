"""The cycle bench's baseline: LangGraph interrupt/resume with its SQLite checkpointer.

The same conversation as hitlbot's: a model node asks the same Anthropic stand-in (the same
scripted replies: deploy, then done), an `interrupt()` before the deploy runs, and a resume
with `Command(resume=...)`. 20 concurrent clients, each running whole cycles; clients and
graph share this one process (LangGraph has no server of its own here), which only helps it.

`python -m bench.langgraph_cycle ANTHROPIC_URL --clients 20 --seconds 10`; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import operator
import tempfile
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal, TypedDict

import anthropic
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from bench.closed_loop import closed_loop

MESSAGE = "deploy api 1.4.2 to production"
TOOLS = [
    {
        "name": "deploy_service",
        "description": "Deploy a service version to an environment.",
        "input_schema": {
            "type": "object",
            "properties": {
                "service": {"type": "string"},
                "version": {"type": "string"},
                "environment": {"type": "string", "enum": ["staging", "production"]},
            },
            "required": ["service", "version", "environment"],
        },
    },
    {
        "name": "done_for_now",
        "description": "Final answer to the human.",
        "input_schema": {
            "type": "object",
            "properties": {"message": {"type": "string"}},
            "required": ["message"],
        },
    },
]


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    call: dict[str, Any] | None


def build(client: anthropic.AsyncAnthropic) -> StateGraph:
    async def model(state: State) -> dict[str, Any]:
        reply = await client.messages.create(
            model="claude-bench",
            max_tokens=1024,
            messages=[{"role": "user", "content": "\n".join(state["log"])}],
            tools=TOOLS,  # type: ignore[arg-type]
            tool_choice={"type": "any", "disable_parallel_tool_use": True},
        )
        block = next(b for b in reply.content if b.type == "tool_use")
        call = {"name": block.name, "input": block.input, "id": block.id}
        return {
            "call": call,
            "log": [f"<{block.name}>\n{json.dumps(block.input)}\n</{block.name}>"],
        }

    def route(state: State) -> Literal["approval", "__end__"]:
        assert state["call"] is not None
        return "approval" if state["call"]["name"] == "deploy_service" else END

    async def approval(state: State) -> dict[str, Any]:
        decision = interrupt({"call": state["call"]})
        return {"log": [f"<human_response>\napproved: {decision['approved']}\n</human_response>"]}

    async def deploy(state: State) -> dict[str, Any]:
        assert state["call"] is not None
        result = {"status": "deployed", **state["call"]["input"], "call_id": state["call"]["id"]}
        return {"log": [f"<deploy_service_result>\n{json.dumps(result)}\n</deploy_service_result>"]}

    graph = StateGraph(State)
    graph.add_node("model", model)
    graph.add_node("approval", approval)
    graph.add_node("deploy", deploy)
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", route)
    graph.add_edge("approval", "deploy")
    graph.add_edge("deploy", "model")
    return graph


async def main(anthropic_url: str, clients: int, seconds: float) -> dict[str, object]:
    client = anthropic.AsyncAnthropic(base_url=anthropic_url, api_key="bench-key", max_retries=0)
    with tempfile.TemporaryDirectory(prefix="hitlbot-langgraph-") as tmp:
        async with AsyncSqliteSaver.from_conn_string(str(Path(tmp) / "checkpoints.db")) as saver:
            app = build(client).compile(checkpointer=saver)

            async def one_cycle() -> None:
                config = {"configurable": {"thread_id": uuid.uuid4().hex}}
                first = await app.ainvoke(
                    {"log": [f"<user_message>\n{MESSAGE}\n</user_message>"], "call": None}, config
                )
                assert "__interrupt__" in first, first
                last = await app.ainvoke(Command(resume={"approved": True}), config)
                assert last["call"]["name"] == "done_for_now", last

            result = await closed_loop(one_cycle, clients, seconds)
    await client.close()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("anthropic_url")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.anthropic_url, args.clients, args.seconds))))
