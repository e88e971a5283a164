"""Run by `test_adapter_openai_agents` in a process of its own, outside hitlbot's source
folder: the OpenAI Agents SDK's import name (`agents`) is also hitlbot's folder of agents.

argv: the app's URL; prints the run's final output and what the tool ran with, as JSON.
"""

from __future__ import annotations  # noqa: I001  (`agents` here is the SDK, not ours)

import asyncio
import json
import sys

from agents import Agent, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call

from bot.adapters.openai_agents import run_with_hitlbot
from bot.client import AsyncHitlbot

runs: list[str] = []


@function_tool(needs_approval=True)
def deploy(service: str) -> str:
    """Deploy a service."""
    runs.append(service)
    return f"deployed {service}"


async def main(url: str) -> None:
    model = ScriptedModel(
        [[function_call("deploy", {"service": "api"}, call_id="c1")], [assistant_message("ok")]]
    )
    agent = Agent(name="ops", model=model, tools=[deploy])
    client = AsyncHitlbot(url, "test-token", wait_s=5)
    result = await run_with_hitlbot(agent, "ship api", client, channel="COPS")
    await client.aclose()
    print(json.dumps({"output": result.final_output, "runs": runs}))


asyncio.run(main(sys.argv[1]))
