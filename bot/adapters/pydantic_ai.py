"""Pydantic AI: deferred tool approvals (`requires_approval=True` tools) decided in hitlbot.

    result = await run_with_hitlbot(agent, "deploy api", hitlbot, channel="C0OPS")

The agent's `output_type` must include `DeferredToolRequests`; each run that stops for
approvals has each call decided by hitlbot, then goes on with the decisions (an approver's
edit as `override_args`, a rejection's comment as the tool's denial message).
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic_ai import Agent, DeferredToolRequests, DeferredToolResults, ToolDenied
from pydantic_ai.run import AgentRunResult
from pydantic_ai.tools import ToolApproved

from bot.client.aio import AsyncHitlbot


async def resolve_approvals(
    requests: DeferredToolRequests, client: AsyncHitlbot, **ask: Any
) -> DeferredToolResults:
    """Ask hitlbot about each call awaiting approval; the results to resume with."""
    results = DeferredToolResults()
    batch = secrets.token_hex(6)  # tool call ids repeat across runs; the call ids may not
    for call in requests.approvals:
        decision = await client.approval(
            call.tool_name, call.args_as_dict(), call_id=f"pai-{batch}-{call.tool_call_id}", **ask
        )
        if decision.approved:
            override = decision.kwargs if decision.edited else None
            results.approvals[call.tool_call_id] = ToolApproved(override_args=override)
        else:
            reason = decision.comment or "rejected"
            results.approvals[call.tool_call_id] = ToolDenied(f"rejected by a human: {reason}")
    return results


async def run_with_hitlbot(
    agent: Agent[Any, Any], prompt: str, client: AsyncHitlbot, **ask: Any
) -> AgentRunResult[Any]:
    """Run `agent` on `prompt`, resolving every approval it defers through hitlbot."""
    result = await agent.run(prompt)
    while isinstance(result.output, DeferredToolRequests):
        decided = await resolve_approvals(result.output, client, **ask)
        result = await agent.run(
            message_history=result.all_messages(), deferred_tool_results=decided
        )
    return result
