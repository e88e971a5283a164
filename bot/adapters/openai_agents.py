"""OpenAI Agents SDK: `needs_approval` tools decided in hitlbot.

    result = await run_with_hitlbot(agent, "deploy api", hitlbot, channel="C0OPS")

A run that stops on approvals (`result.interruptions`) has each tool call decided by hitlbot,
approved or rejected on the run's state (a rejection's comment is the message the model
reads), and is run again from that state until it finishes. The SDK runs its tools with
their own arguments, so no Edit is offered.

The SDK's import name is `agents`, the name of hitlbot's own folder of agents in its repo
(installed, that folder is `hitlbot_agents`): it is imported here only when called, so a
process started in hitlbot's source folder can import this module (see the README).
"""

from __future__ import annotations

import importlib
import json
import secrets
from typing import Any

from bot.client.aio import AsyncHitlbot


async def run_with_hitlbot(
    agent: Any, prompt: Any, client: AsyncHitlbot, *, runner: Any = None, **ask: Any
) -> Any:
    """Run `agent` on `prompt` (with `runner`, default the SDK's `Runner`), resolving every
    approval it stops on through hitlbot; returns the final `RunResult`."""
    runner = runner if runner is not None else importlib.import_module("agents").Runner
    result = await runner.run(agent, prompt)
    while result.interruptions:
        state = result.to_state()
        batch = secrets.token_hex(6)  # the model's call ids repeat across runs
        for item in result.interruptions:
            kwargs = json.loads(item.arguments or "{}")
            decision = await client.approval(
                item.name or "tool", kwargs, call_id=f"oai-{batch}-{item.call_id}", **ask
            )
            if decision.approved:
                state.approve(item)
            else:
                reason = decision.comment or "rejected"
                state.reject(item, rejection_message=f"rejected by {decision.by}: {reason}")
        result = await runner.run(agent, state)
    return result
