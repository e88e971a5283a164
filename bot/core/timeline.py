"""A thread as a readable timeline, for `hitlbot show` and `hitlbot launch` (pure)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.events import (
    EVENTS,
    ApprovalVote,
    DeadlinePassed,
    Done,
    Error,
    Event,
    Failed,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    ToolResult,
    Usage,
    UserMessage,
)


def timeline(view: dict[str, Any]) -> str:
    """Lines for a thread as `GET /threads/{id}` returns it."""
    lines = [f"thread {view['id']}  agent={view['agent']}  status={view['status']}"]
    if view.get("model") == "offline":
        lines[0] += "  model=offline (rule-based stand-in, not Claude)"
    elif view.get("model"):
        lines[0] += f"  model={view['model']}"
    for event in EVENTS.validate_python(view["events"]):
        lines.append(f"  {event.at:%H:%M:%S}  {describe(event)}")
    pending = view.get("pending_request")
    if pending:
        lines.append("")
        lines.append(f"waiting for a human: {pending['kind']} {pending['request_id']}")
        lines.append(f"  {pending['message']}")
        if pending.get("tool"):
            lines.append(f"  tool: {pending['tool']['name']} {_args(pending['tool']['args'])}")
    if view.get("error"):
        lines.append(f"failed: {view['error']}")
    usage = view.get("usage")
    if usage and usage.get("model_steps"):
        lines.append(f"usage: {usage_line(usage)}")
    return "\n".join(lines)


def usage_line(usage: dict[str, Any]) -> str:
    """Tokens (cache reads and writes apart), time and estimated cost, on one line."""
    cost = usage.get("cost_usd")
    steps = usage.get("model_steps")
    return (
        (f"{steps} model steps, " if steps else "")
        + f"in {usage['input_tokens']} + cache read {usage['cache_read_tokens']} / write "
        f"{usage['cache_write_tokens']}, out {usage['output_tokens']} tokens, "
        f"{usage['latency_ms']} ms" + ("" if cost is None else f", ~${cost:.4f}")
    )


def describe(event: Event) -> str:  # noqa: C901, PLR0911 - one branch per event type
    """One line for an event of a thread."""
    match event:
        case UserMessage():
            return f"user {event.user or ''}: {event.text}"
        case ToolCall():
            reason = f"  ({event.reason})" if event.reason else ""
            return f"-> {event.name} {_args(event.args)}{reason}{_usage(event.usage)}"
        case ToolResult():
            return f"<- {event.name}: {_short(event.result)}"
        case Error():
            return f"!! {event.kind} error: {event.message}{_usage(event.usage)}"
        case HumanRequest():
            return f"?? {event.kind} {event.request_id}: {event.message}"
        case HumanResponse() if event.approved is not None:
            comment = f": {event.comment}" if event.comment else ""
            return f"ok {event.verdict} by {event.user}{comment}"
        case HumanResponse():
            return f"ok {event.user} answered: {event.answer}"
        case DeadlinePassed():
            return f"   deadline passed for {event.request_id}: {event.step}"
        case ApprovalVote():
            return f"+1 approved by {event.user} (the quorum is not met yet)"
        case RequestSent():
            return f"   sent {event.ref} via {event.channel}"
        case Done():
            return f"== {event.message}"
        case HeldMessage():
            return f"-- held mail from {event.sender} ({event.reason}): {_short(event.text)}"
        case Failed():
            return f"XX failed: {event.reason}"
    return event.type


def _usage(usage: Usage | None) -> str:
    if usage is None:
        return ""
    return (
        f"  [{usage.prompt_tokens} in ({usage.cache_read_tokens} cached), "
        f"{usage.output_tokens} out, {usage.latency_ms} ms]"
    )


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in args.items()) or "()"


def _short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"
