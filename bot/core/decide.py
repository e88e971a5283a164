"""The decision (factor 8): from the thread alone, what happens next (pure).

`decide` picks the next action; `validate_reply` turns a model's reply into a checked call or
the `error` the model reads next; `follow_up` is what a call must be recorded with. The
runtime (`bot.runtime.step`) does the IO of the action chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError

from bot.core.agent import Agent, Prefetch
from bot.core.events import Done, Error, Event, HumanRequest, ToolCall
from bot.core.facts import SHOWN
from bot.core.model import REASON_FIELD, ModelCall
from bot.core.policy import Rule
from bot.core.thread import Thread
from bot.core.tools import DONE_FOR_NOW, REQUEST_CHOICE, REQUEST_MORE_INFORMATION, Tool

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


@dataclass(frozen=True)
class Conclude:
    """An external call was answered: record the outcome; its caller runs the function."""


Action = Stop | Deliver | RunTool | RunPrefetch | AskForHelp | CallModel | Conclude

THINKING = "is thinking…"
"""What a model step says it does while the model chooses (a channel may show it)."""


def progress(action: Action, agent: Agent) -> str | None:
    """What `action` says it does while it runs, for a channel that shows it (Slack's status
    line): "is thinking…" for a model step, a tool's own `status` or "is running <name>…";
    None for the actions that say nothing."""
    if isinstance(action, CallModel):
        return THINKING
    if isinstance(action, RunTool):
        tool = agent.local_tools.get(action.call.name)
        return (tool.status if tool is not None else "") or f"is running {action.call.name}…"
    return None


def decide(thread: Thread, agent: Agent, delivers: bool) -> Action:
    """The next action for `thread` (pure). `delivers`: its origin has a channel to send to."""
    if delivers:
        outbound = thread.undelivered
        first = next((out for out in outbound if not out[0].startswith(SHOWN)), None)
        if first is not None:
            return Deliver(*first)
        # A decision shown on its cards waits for the call it approved (or an external
        # call's conclusion): neither waits behind Slack, nor behind its retries.
        running = thread.status == "running"
        runs = running and (agent.external or thread.open_call is not None)
        if outbound and not runs:
            return Deliver(*outbound[0])
    status = thread.status
    if status != "running":
        return Stop(status)
    if agent.external:
        return Conclude()
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


@dataclass(frozen=True)
class Chosen:
    """A model reply that names one of the agent's tools with arguments its model accepts."""

    tool: Tool[Any]
    """The tool chosen."""
    args: BaseModel
    """Its arguments, validated."""
    reason: str | None
    """The model's one-line reason, if it gave one."""

    def dumped(self) -> dict[str, Any]:
        """The arguments as recorded on the `tool_call` event (JSON data)."""
        return self.args.model_dump(mode="json")


def validate_reply(
    agent: Agent, reply: ModelCall, at: datetime, tools: Mapping[str, Tool[Any]] | None = None
) -> Chosen | Error:
    """What the loop makes of a reply (pure): the validated call, or the `error` the model
    reads next step (an unknown tool, bad arguments), stamped `at`. `tools`: all the agent
    has, its MCP servers' included (default: its own and the built-ins)."""
    tools = agent.local_tools if tools is None else tools
    tool = tools.get(reply.name)
    if tool is None:
        known = ", ".join(tools)
        message = f"no tool {reply.name!r}; use one of {known}"
        return Error(kind="unknown_tool", name=reply.name, message=message, at=at)
    raw = dict(reply.args)
    # A tool with an argument of its own called `reason` keeps it; it doubles as the call's reason.
    own = REASON_FIELD in tool.args.model_fields
    reason = raw.get(REASON_FIELD) if own else raw.pop(REASON_FIELD, None)
    try:
        args = tool.args.model_validate(raw)
    except ValidationError as exc:
        return Error(kind="validation", name=tool.name, message=compact(exc), at=at)
    return Chosen(tool, args, reason if isinstance(reason, str) else None)


def follow_up(
    thread: Thread,
    call: ToolCall,
    needs_approval: bool,
    rule: Rule,
    request_id: str,
    now: datetime,
) -> list[Event]:
    """What must be recorded together with `call`, atomically (pure): the question, the
    answer or the approval request it makes, as `request_id`, stamped `now`."""
    deadlines = _deadlines(rule, now)
    if call.name in (REQUEST_MORE_INFORMATION.name, REQUEST_CHOICE.name):
        strict = call.name == REQUEST_CHOICE.name  # a choice: the answer must be one of them
        return [
            HumanRequest(
                request_id=request_id,
                kind="question",
                message=call.args["message"],
                choices=call.args.get("choices", []),
                only_choices=strict,
                answerers=list(rule.approvers) if strict else [],
                approver_groups=list(rule.groups) if strict else [],
                call_id=call.call_id,
                remind_at=deadlines["remind_at"],
                expire_at=deadlines["expire_at"],
                at=now,
            )
        ]
    if call.name == DONE_FOR_NOW.name:
        return [Done(message=call.args["message"], call_id=call.call_id, at=now)]
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
                excluded=[] if rule.self_approval else thread.requesters,
                at=now,
                **deadlines,
            )
        ]
    return []


def _deadlines(rule: Rule, now: datetime) -> dict[str, Any]:
    """The request's deadlines from its rule, as of `now`."""

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else now + timedelta(seconds=seconds)

    return {
        "remind_at": after(rule.remind_after),
        "escalate_at": after(rule.escalate_after) if rule.escalate_to else None,
        "escalate_to": rule.escalate_to,
        "expire_at": after(rule.expire_after),
    }


def compact(exc: ValidationError) -> str:
    """A validation error in a few model-readable lines."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(p) for p in error["loc"]) or "arguments"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)
