"""Claude's answer streamed as it is written: the final answer's text before the reply ends.

The same one request as `AnthropicModel.next_call` (`request_params`), sent with
`"stream": true`. While the model writes the arguments of `done_for_now` (its
`input_json_delta` events), the `message` written so far is handed to `on_answer`, so a
channel can show it at once (`bot/slack/streaming.py`); the call returned is read from the
whole answer, exactly as without streaming. The SDK's own snapshot drops a string still
being written, so the arguments are parsed here with jiter's trailing-strings mode.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from anthropic.lib.streaming import InputJsonEvent
from anthropic.types import Message, RawContentBlockStartEvent
from jiter import from_json

from bot.core.tools import DONE_FOR_NOW

OnAnswer = Callable[[str], Awaitable[None]]
"""Takes the final answer's text written so far (each time longer)."""


async def streamed_message(client: Any, params: dict[str, Any], on_answer: OnAnswer) -> Message:
    """Send `params` (model and max_tokens included) as a streamed request; the whole
    answer, once it has ended. Raises the SDK's `APIError`s as they come."""
    tool, arguments, shown = "", "", ""
    async with client.messages.stream(**params) as events:
        async for event in events:
            if isinstance(event, RawContentBlockStartEvent):
                block = event.content_block
                tool, arguments = (block.name if block.type == "tool_use" else ""), ""
            elif isinstance(event, InputJsonEvent) and tool == DONE_FOR_NOW.name:
                arguments += event.partial_json
                text = _message_so_far(arguments)
                if len(text) > len(shown):
                    shown = text
                    await on_answer(text)
        message: Message = await events.get_final_message()
    return message


def _message_so_far(arguments: str) -> str:
    """The `message` argument in a prefix of the arguments' JSON ("" until it starts)."""
    try:
        parsed = from_json(arguments.encode(), partial_mode="trailing-strings")
    except ValueError:
        return ""
    text = parsed.get("message") if isinstance(parsed, dict) else None
    return text if isinstance(text, str) else ""
