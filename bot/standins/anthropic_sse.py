"""The Messages API's streaming answer (`"stream": true`), for the Anthropic stand-in.

The message is sent as Anthropic sends it: `message_start`, per content block a start, its
deltas (`text_delta`, or `input_json_delta` pieces of the tool's arguments) and a stop, then
`message_delta` with the stop reason and `message_stop`, as server-sent events. A reply held
by its `delay` is held halfway through its deltas (`hold`), so a test sees the first pieces
arrive before the answer is complete, then releases the rest (`AnthropicStub.release`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

PIECE = 12
"""Characters of the arguments' JSON per `input_json_delta`."""


async def stream(
    request: web.Request, message: dict[str, Any], hold: Callable[[], Awaitable[None]] | None
) -> web.StreamResponse:
    """Send `message` (a whole Messages API answer) as a stream of events."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    start = {**message, "content": [], "stop_reason": None}
    start["usage"] = {**message["usage"], "output_tokens": 1}
    await _send(response, {"type": "message_start", "message": start})
    deltas = [
        (index, delta) for index, block in enumerate(message["content"]) for delta in _deltas(block)
    ]
    for number, (index, delta) in enumerate(deltas):
        if number == len(deltas) // 2 and hold is not None:
            await hold()
        if delta["type"] == "start":
            block = delta["block"]
            await _send(
                response, {"type": "content_block_start", "index": index, "content_block": block}
            )
        elif delta["type"] == "stop":
            await _send(response, {"type": "content_block_stop", "index": index})
        else:
            await _send(response, {"type": "content_block_delta", "index": index, "delta": delta})
    stop = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    usage = {"output_tokens": message["usage"]["output_tokens"]}
    await _send(response, {"type": "message_delta", "delta": stop, "usage": usage})
    await _send(response, {"type": "message_stop"})
    await response.write_eof()
    return response


def _deltas(block: dict[str, Any]) -> list[dict[str, Any]]:
    """A content block as its start, its deltas and its stop."""
    start: dict[str, Any]
    if block["type"] == "text":
        pieces = [block["text"][i : i + PIECE] for i in range(0, len(block["text"]), PIECE)]
        start = {"type": "text", "text": ""}
        middle = [{"type": "text_delta", "text": piece} for piece in pieces]
    else:
        arguments = json.dumps(block["input"])
        pieces = [arguments[i : i + PIECE] for i in range(0, len(arguments), PIECE)]
        start = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}
        middle = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    return [{"type": "start", "block": start}, *middle, {"type": "stop"}]


async def _send(response: web.StreamResponse, event: dict[str, Any]) -> None:
    data = json.dumps(event)
    await response.write(f"event: {event['type']}\ndata: {data}\n\n".encode())
