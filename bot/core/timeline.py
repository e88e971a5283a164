"""A thread as a readable timeline, for `hitlbot show` and `hitlbot launch` (pure)."""

from __future__ import annotations

import json
from typing import Any


def timeline(view: dict[str, Any]) -> str:
    """Lines for a thread as `GET /threads/{id}` returns it."""
    lines = [f"thread {view['id']}  agent={view['agent']}  status={view['status']}"]
    if view.get("model") == "offline":
        lines[0] += "  model=offline (rule-based stand-in, not Claude)"
    elif view.get("model"):
        lines[0] += f"  model={view['model']}"
    for event in view["events"]:
        lines.append(f"  {event['at'][11:19]}  {describe(event)}")
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


def describe(event: dict[str, Any]) -> str:  # noqa: C901 - one branch per event type
    """One line for an event of a thread view."""
    kind = event["type"]
    if kind == "user_message":
        return f"user {event.get('user') or ''}: {event['text']}"
    if kind == "tool_call":
        reason = f"  ({event['reason']})" if event.get("reason") else ""
        return f"-> {event['name']} {_args(event['args'])}{reason}{_usage(event)}"
    if kind == "tool_result":
        return f"<- {event['name']}: {_short(event['result'])}"
    if kind == "error":
        return f"!! {event['kind']} error: {event['message']}{_usage(event)}"
    if kind == "human_request":
        return f"?? {event['kind']} {event['request_id']}: {event['message']}"
    if kind == "human_response":
        if event.get("approved") is not None:
            verdict = "approved" if event["approved"] else "rejected"
            comment = f": {event['comment']}" if event.get("comment") else ""
            return f"ok {verdict} by {event['user']}{comment}"
        return f"ok {event['user']} answered: {event.get('answer')}"
    if kind == "deadline_passed":
        return f"   deadline passed for {event['request_id']}: {event['step']}"
    if kind == "approval_vote":
        return f"+1 approved by {event['user']} (the quorum is not met yet)"
    if kind == "request_sent":
        return f"   sent {event['ref']} via {event['channel']}"
    if kind == "done":
        return f"== {event['message']}"
    if kind == "held_message":
        return f"-- held mail from {event['sender']} ({event['reason']}): {_short(event['text'])}"
    if kind == "failed":
        return f"XX failed: {event['reason']}"
    return str(kind)


def _usage(event: dict[str, Any]) -> str:
    usage = event.get("usage")
    if not usage:
        return ""
    read, written = usage["cache_read_tokens"], usage["cache_write_tokens"]
    return (
        f"  [{usage['input_tokens'] + read + written} in ({read} cached), "
        f"{usage['output_tokens']} out, {usage['latency_ms']} ms]"
    )


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in args.items()) or "()"


def _short(value: Any, limit: int = 100) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= limit else text[:limit] + "…"
