"""The loop (factor 8): decide from the thread alone what happens next, then do that one thing.

`decide` is pure and tested with plain data. `step` does the IO of one decision and returns
the events to append; the runner commits them, so any worker can take the next step (factor 12).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError

from bot.agent import Agent, Prefetch
from bot.agentstore import AgentStore
from bot.context import render_events, render_prompt
from bot.deps import Deps
from bot.events import Done, Error, Event, HumanRequest, ToolCall, ToolResult
from bot.mcp.client import McpUnavailable
from bot.model import REASON_FIELD, ModelOutputError
from bot.policy import Rule
from bot.thread import Thread
from bot.tools import (
    DONE_FOR_NOW,
    REQUEST_CHOICE,
    REQUEST_MORE_INFORMATION,
    ToolContext,
    ToolError,
)

log = structlog.get_logger(__name__)

MAX_CONSECUTIVE_ERRORS = 3
"""After this many errors in a row the loop asks a human instead of spinning (factor 9)."""


@dataclass(frozen=True)
class Stop:
    """Nothing to do until a human acts."""

    reason: str


@dataclass(frozen=True)
class Deliver:
    """Send an outbound event through the thread's channel."""

    ref: str
    event: HumanRequest | Done | Event


@dataclass(frozen=True)
class RunTool:
    """Run a recorded (and, if needed, approved) tool call."""

    call: ToolCall


@dataclass(frozen=True)
class RunPrefetch:
    """Make the agent's pre-fetch calls before its first LLM call."""

    calls: tuple[Prefetch, ...]


@dataclass(frozen=True)
class AskForHelp:
    """Too many errors in a row: ask the human."""

    last_error: str


@dataclass(frozen=True)
class CallModel:
    """Ask the model for the next tool call."""


Action = Stop | Deliver | RunTool | RunPrefetch | AskForHelp | CallModel


def decide(thread: Thread, agent: Agent, delivers: bool) -> Action:
    """The next action for `thread` (pure). `delivers`: its origin has a channel to send to."""
    if delivers:
        outbound = thread.undelivered
        if outbound:
            ref, event = outbound[0]
            return Deliver(ref, event)
    status = thread.status
    if status != "running":
        return Stop(status)
    call = thread.open_call
    if call is not None:
        # An approver's edit is what runs; the recorded tool_call stays as the model proposed.
        edited = thread.edited_args(call.call_id)
        return RunTool(call if edited is None else call.model_copy(update={"args": edited}))
    if thread.consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
        last = next(e for e in reversed(thread.events) if isinstance(e, Error))
        return AskForHelp(last.message)
    if agent.prefetch and not any(isinstance(e, ToolCall) for e in thread.events):
        return RunPrefetch(agent.prefetch)
    return CallModel()


async def step(thread: Thread, agent: Agent, action: Action, deps: Deps) -> list[Event]:
    """Carry out one action; returns the events to append (the runner commits them)."""
    if isinstance(action, CallModel):
        return await _call_model(thread, agent, deps)
    if isinstance(action, RunTool):
        return [await _run_tool(thread, agent, action.call, deps)]
    if isinstance(action, RunPrefetch):
        return await _prefetch(thread, agent, action.calls, deps)
    if isinstance(action, AskForHelp):
        message = f"I keep failing and need your help. The last error was: {action.last_error}"
        request_id = f"{thread.id}.{deps.ids('r')}"
        return [HumanRequest(request_id=request_id, kind="question", message=message)]
    if isinstance(action, Deliver):
        channel = deps.channels[thread.origin.kind]
        return [await channel.deliver(thread, action.ref, action.event)]
    raise AssertionError(f"step() was given {action!r}")


async def _call_model(thread: Thread, agent: Agent, deps: Deps) -> list[Event]:
    try:
        tools = await deps.mcp.all_tools(agent)
    except McpUnavailable as exc:  # never listed, and down: the model cannot be shown its tools
        return [Error(kind="tool", message=str(exc))]
    try:
        reply = await deps.model.next_call(
            system=render_prompt(agent, thread, deps.clock(), tools),
            context=render_events(thread, deps.settings.context_token_budget),
            tools=[tool.schema() for tool in tools.values()],
        )
    except ModelOutputError as exc:
        return [Error(kind="validation", message=str(exc))]
    tool = tools.get(reply.name)
    if tool is None:
        known = ", ".join(tools)
        return [
            Error(
                kind="unknown_tool",
                name=reply.name,
                message=f"no tool {reply.name!r}; use one of {known}",
            )
        ]
    raw = dict(reply.args)
    # A tool with an argument of its own called `reason` keeps it; it doubles as the call's reason.
    own = REASON_FIELD in tool.args.model_fields
    reason = raw.get(REASON_FIELD) if own else raw.pop(REASON_FIELD, None)
    try:
        args = tool.args.model_validate(raw)
    except ValidationError as exc:
        return [Error(kind="validation", name=tool.name, message=_compact(exc))]
    call = ToolCall(
        call_id=deps.ids("call_"),
        name=tool.name,
        args=args.model_dump(mode="json"),
        reason=reason if isinstance(reason, str) else None,
    )
    rule = deps.policy.rule(agent.name, tool.name, tool.approval_rule())
    needs = tool.needs_approval(args) if rule.approval is None else rule.approval
    return [call, *_follow_up(thread, call, needs, rule, deps)]


def _follow_up(
    thread: Thread, call: ToolCall, needs_approval: bool, rule: Rule, deps: Deps
) -> list[Event]:
    """What must be recorded together with `call`, atomically."""
    request_id = f"{thread.id}.{deps.ids('r')}"
    deadlines = _deadlines(rule, deps)
    if call.name == REQUEST_MORE_INFORMATION.name:
        return [
            HumanRequest(
                request_id=request_id,
                kind="question",
                message=call.args["message"],
                choices=call.args.get("choices", []),
                call_id=call.call_id,
                remind_at=deadlines["remind_at"],
                expire_at=deadlines["expire_at"],
            )
        ]
    if call.name == REQUEST_CHOICE.name:
        return [
            HumanRequest(
                request_id=request_id,
                kind="question",
                message=call.args["message"],
                choices=call.args["choices"],
                only_choices=True,
                answerers=list(rule.approvers),
                call_id=call.call_id,
                remind_at=deadlines["remind_at"],
                expire_at=deadlines["expire_at"],
            )
        ]
    if call.name == DONE_FOR_NOW.name:
        return [Done(message=call.args["message"], call_id=call.call_id)]
    if needs_approval:
        message = call.reason or f"{call.name} needs approval before it runs"
        return [
            HumanRequest(
                request_id=request_id,
                kind="approval",
                message=message,
                call_id=call.call_id,
                approvers=list(rule.approvers),
                approver_groups=list(rule.groups),
                quorum=rule.quorum,
                excluded=[] if rule.self_approval or not thread.starter else [thread.starter],
                **deadlines,
            )
        ]
    return []


def _deadlines(rule: Rule, deps: Deps) -> dict[str, Any]:
    """The request's deadlines from its rule, as of now."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else deps.clock() + timedelta(seconds=seconds)

    return {
        "remind_at": after(rule.remind_after),
        "escalate_at": after(rule.escalate_after) if rule.escalate_to else None,
        "escalate_to": rule.escalate_to,
        "expire_at": after(rule.expire_after),
    }


async def _run_tool(thread: Thread, agent: Agent, call: ToolCall, deps: Deps) -> Event:
    try:
        tool = (await deps.mcp.all_tools(agent)).get(call.name)
    except McpUnavailable as exc:
        return Error(kind="tool", call_id=call.call_id, name=call.name, message=str(exc))
    if tool is None or tool.run is None:
        return Error(
            kind="tool", call_id=call.call_id, name=call.name, message="tool is not runnable"
        )
    store = AgentStore(deps.redis, deps.keys, agent.name, call.call_id)
    context = ToolContext(call_id=call.call_id, thread_id=thread.id, deps=deps, store=store)
    try:
        result = await tool.run(tool.args.model_validate(call.args), context)
    except (ToolError, ValidationError) as exc:
        return Error(kind="tool", call_id=call.call_id, name=call.name, message=str(exc))
    except Exception as exc:  # a tool's bug or outage is the model's to see, not a worker crash
        log.exception("tool raised", tool=call.name, call_id=call.call_id, thread_id=thread.id)
        message = f"{type(exc).__name__}: {exc}"
        return Error(kind="tool", call_id=call.call_id, name=call.name, message=message)
    return ToolResult(call_id=call.call_id, name=call.name, result=_jsonable(result))


async def _prefetch(
    thread: Thread, agent: Agent, calls: tuple[Prefetch, ...], deps: Deps
) -> list[Event]:
    events: list[Event] = []
    for prefetch in calls:
        call = ToolCall(call_id=deps.ids("call_"), name=prefetch.tool, args=prefetch.args)
        events += [call, await _run_tool(thread, agent, call, deps)]
    return events


def _compact(exc: ValidationError) -> str:
    """A validation error in a few model-readable lines."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _jsonable(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    return value
