"""The model asked with the final answer streamed to the thread's channel as it is written.

Used by the loop's model step (`bot/runtime/step.py`) when the model can stream
(`next_call_streaming`: Claude) and the thread's channel can show a stream (`answer_stream`:
Slack). The answer is still committed once, whole, as the `done` event; the stream's message
is recorded beside it in the same commit (a `request_sent` for the answer's ref), so the
delivery that would post it finds it sent. Anything else asked of the model is not streamed.
"""

from __future__ import annotations

from typing import Any, Protocol

from bot.core.events import Done, Event, RequestSent
from bot.core.model import ModelCall
from bot.core.thread import Thread
from bot.runtime.deps import Deps


class Stream(Protocol):
    """A channel's stream of one answer (`bot.slack.streaming.AnswerStream`)."""

    @property
    def started(self) -> bool: ...

    async def update(self, text: str) -> None: ...

    async def finish(self, text: str, ref: str) -> dict[str, str] | None: ...

    async def abandon(self) -> None: ...


async def ask(
    thread: Thread, deps: Deps, system: str, context: str, tools: list[dict[str, Any]]
) -> tuple[ModelCall, Stream | None]:
    """The model's call, and the stream its answer went to, if it was streamed."""
    streaming = getattr(deps.model, "next_call_streaming", None)
    opener = getattr(deps.channels.get(thread.origin.kind), "answer_stream", None)
    stream: Stream | None = opener(thread) if streaming is not None and opener else None
    if stream is None or streaming is None:
        return await deps.model.next_call(system=system, context=context, tools=tools), None
    reply: ModelCall = await streaming(
        system=system, context=context, tools=tools, on_answer=stream.update
    )
    return reply, stream


async def with_stream(thread: Thread, events: list[Event], stream: Stream | None) -> list[Event]:
    """`events`, and the record of the streamed answer among them (ended here)."""
    if stream is None or not stream.started:
        return events
    for offset, event in enumerate(events):
        if isinstance(event, Done):
            ref = f"done:{len(thread.events) + offset}"
            where = await stream.finish(event.message, ref)
            if where is None:
                return events  # refused on the way: the delivery posts it whole
            return [*events, RequestSent(ref=ref, channel="slack", coordinates=where, at=event.at)]
    await stream.abandon()  # streamed, then not an answer after all (invalid arguments)
    return events
