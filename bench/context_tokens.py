"""Context tokens of one thread: our event log (`bot/core/context.py`) vs a plain message list.

The plain list is what a framework that keeps the chat transcript sends: Anthropic Messages
turns with `tool_use` / `tool_result` blocks, one per event. Both are counted with the
function our own budget uses (`estimate_tokens`, about four characters a token), so the ratio
is fair even though neither count is a real tokenizer's.
"""

from __future__ import annotations

import json
from typing import Any

from bot.core.context import estimate_tokens, render_events
from bot.core.events import Error, HumanResponse, ToolCall, ToolResult, UserMessage
from bot.core.thread import Thread

UNLIMITED = 10**9


def plain_messages(thread: Thread) -> list[dict[str, Any]]:
    """The thread as a Messages API transcript."""
    out: list[dict[str, Any]] = []
    for event in thread.events:
        if isinstance(event, UserMessage):
            out.append({"role": "user", "content": [{"type": "text", "text": event.text}]})
        elif isinstance(event, ToolCall):
            block = {
                "type": "tool_use",
                "id": event.call_id,
                "name": event.name,
                "input": event.args,
            }
            out.append({"role": "assistant", "content": [block]})
        elif isinstance(event, ToolResult):
            block = {
                "type": "tool_result",
                "tool_use_id": event.call_id,
                "content": json.dumps(event.result),
            }
            out.append({"role": "user", "content": [block]})
        elif isinstance(event, Error):
            out.append({"role": "user", "content": [{"type": "text", "text": event.message}]})
        elif isinstance(event, HumanResponse):
            said = {"approved": event.approved, "answer": event.answer, "comment": event.comment}
            text = json.dumps({k: v for k, v in said.items() if v is not None})
            out.append({"role": "user", "content": [{"type": "text", "text": text}]})
    return out


def compare(thread: Thread, budget: int) -> dict[str, int]:
    """Token counts: our log under `budget`, our log uncompacted, the plain transcript."""
    return {
        "events": len(thread.events),
        "ours": estimate_tokens(render_events(thread, budget)),
        "ours_uncompacted": estimate_tokens(render_events(thread, UNLIMITED)),
        "plain": estimate_tokens(json.dumps(plain_messages(thread))),
    }
