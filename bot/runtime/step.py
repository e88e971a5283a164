"""One step of the loop (factor 8): do the one thing `bot.core.decide` chose, and say what it adds.

`step` does the IO of one decision (call the model, run a tool, deliver) and returns the
events to append; the loop (`bot.runtime.loop`) commits them, so any worker can take the next
step (factor 12).
"""

from __future__ import annotations

from typing import Any

import structlog
from pydantic import ValidationError

from bot import metrics, telemetry
from bot.core.agent import Agent, Prefetch
from bot.core.context import model_input
from bot.core.decide import (
    Action,
    AskForHelp,
    CallModel,
    Conclude,
    Deliver,
    RunPrefetch,
    RunTool,
    follow_up,
    progress,
    validate_reply,
)
from bot.core.events import (
    Error,
    Event,
    HumanRequest,
    HumanResponse,
    ToolCall,
    ToolResult,
    Usage,
)
from bot.core.external import concluded
from bot.core.model import ModelOutputError
from bot.core.thread import Thread
from bot.core.tools import ToolContext, ToolError
from bot.core.usage import cost
from bot.llm import gen_ai
from bot.llm.pricing import prices
from bot.mcp.client import McpUnavailable
from bot.runtime.answering import ask, with_stream
from bot.runtime.deps import Deps

log = structlog.get_logger(__name__)


async def step(thread: Thread, agent: Agent, action: Action, deps: Deps) -> list[Event]:
    """Carry out one action; returns the events to append (the loop commits them)."""
    said = progress(action, agent)
    if said is not None:
        await _progress(thread, deps, said)
    if isinstance(action, CallModel):
        return await _call_model(thread, agent, deps)
    if isinstance(action, RunTool):
        return [await _run_tool(thread, agent, action.call, deps)]
    if isinstance(action, RunPrefetch):
        return await _prefetch(thread, agent, action.calls, deps)
    if isinstance(action, AskForHelp):
        message = f"I keep failing and need your help. The last error was: {action.last_error}"
        request_id = f"{thread.id}.{deps.ids('r')}"
        asked = HumanRequest(
            request_id=request_id, kind="question", message=message, at=deps.clock.now()
        )
        return [asked]
    if isinstance(action, Conclude):
        return [concluded(thread, deps.clock.now())]
    if isinstance(action, Deliver):
        if isinstance(action.event, HumanResponse):  # a decision, shown on its request's cards
            return [
                await deps.decisions.deliver(thread, action.ref, action.event, deps.clock.now())
            ]
        channel = deps.channels[thread.origin.kind]
        attributes = {"hitlbot.channel": thread.origin.kind, "hitlbot.ref": action.ref}
        with telemetry.span(f"deliver {thread.origin.kind}", attributes):
            return [await channel.deliver(thread, action.ref, action.event, deps.clock.now())]
    raise AssertionError(f"step() was given {action!r}")


async def _progress(thread: Thread, deps: Deps, status: str) -> None:
    """Tell the thread's channel what the step does, where it shows that (Slack's status)."""
    show = getattr(deps.channels.get(thread.origin.kind), "progress", None)
    if show is not None:
        await show(thread, status)


async def _call_model(thread: Thread, agent: Agent, deps: Deps) -> list[Event]:
    try:
        tools = await deps.mcp.all_tools(agent)
    except McpUnavailable as exc:  # never listed, and down: the model cannot be shown its tools
        return [Error(kind="tool", message=str(exc), at=deps.clock.now())]
    # One instant for the step: the prompt's "current time" and the stamp of what it chose,
    # so the request can be rebuilt exactly from the events (`bot.core.rebuild`, `hitlbot record`).
    now = deps.clock.now()
    budget = deps.settings.context_token_budget
    prompt = deps.prompts.text(agent.prompt)
    request = model_input(
        agent, thread, now, budget, tools, prompt=prompt, cache=deps.context_cache
    )
    stream = None
    with telemetry.span(f"chat {deps.settings.model}", gen_ai.request(deps.settings)) as span:
        try:
            reply, stream = await ask(thread, deps, request.system, request.context, request.tools)
        except ModelOutputError as exc:
            _count(agent, exc.usage, deps)
            telemetry.annotate(span, gen_ai.response(exc.usage, None))
            return [Error(kind="validation", message=str(exc), at=now, usage=exc.usage)]
        telemetry.annotate(span, gen_ai.response(reply.usage, reply.stop_reason))
    _count(agent, reply.usage, deps)
    chosen = validate_reply(agent, reply, now, tools)
    if isinstance(chosen, Error):
        return [chosen.model_copy(update={"usage": reply.usage})]
    call = ToolCall(
        call_id=deps.ids("call_"),
        name=chosen.tool.name,
        args=chosen.dumped(),
        reason=chosen.reason,
        at=now,
        usage=reply.usage,
    )
    rule = deps.policy.rule(agent.name, chosen.tool.name, chosen.tool.approval_rule())
    needs_approval = chosen.tool.needs_approval(chosen.args)
    if rule.approval is not None:  # the operator's say, over the tool's
        needs_approval = rule.approval
    request_id = f"{thread.id}.{deps.ids('r')}"
    events = [call, *follow_up(thread, call, needs_approval, rule, request_id, now)]
    return await with_stream(thread, events, stream)


def _count(agent: Agent, usage: Usage | None, deps: Deps) -> None:
    if usage is not None:
        metrics.model_step(agent.name, usage, cost(usage, prices(deps.settings)))


async def _run_tool(thread: Thread, agent: Agent, call: ToolCall, deps: Deps) -> Event:
    """The tool's result or error, stamped when the tool is done."""
    try:
        tool = (await deps.mcp.all_tools(agent)).get(call.name)
    except McpUnavailable as exc:
        return Error(
            kind="tool", call_id=call.call_id, name=call.name, message=str(exc), at=deps.clock.now()
        )
    if tool is None or tool.run is None:
        return Error(
            kind="tool",
            call_id=call.call_id,
            name=call.name,
            message="tool is not runnable",
            at=deps.clock.now(),
        )
    store = deps.records.for_call(agent.name, call.call_id)
    context = ToolContext(
        call_id=call.call_id,
        thread_id=thread.id,
        store=store,
        http=deps.http,
        settings=deps.settings,
    )
    try:
        with telemetry.span(f"execute_tool {call.name}", gen_ai.tool(call)):
            result = await tool.run(tool.args.model_validate(call.args), context)
    except (ToolError, ValidationError) as exc:
        return Error(
            kind="tool", call_id=call.call_id, name=call.name, message=str(exc), at=deps.clock.now()
        )
    except Exception as exc:  # a tool's bug or outage is the model's to see, not a worker crash
        log.exception("tool raised", tool=call.name, call_id=call.call_id, thread_id=thread.id)
        message = f"{type(exc).__name__}: {exc}"
        return Error(
            kind="tool", call_id=call.call_id, name=call.name, message=message, at=deps.clock.now()
        )
    return ToolResult(
        call_id=call.call_id, name=call.name, result=_jsonable(result), at=deps.clock.now()
    )


async def _prefetch(
    thread: Thread, agent: Agent, calls: tuple[Prefetch, ...], deps: Deps
) -> list[Event]:
    events: list[Event] = []
    for prefetch in calls:
        call = ToolCall(
            call_id=deps.ids("call_"), name=prefetch.tool, args=prefetch.args, at=deps.clock.now()
        )
        events += [call, await _run_tool(thread, agent, call, deps)]
    return events


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value
