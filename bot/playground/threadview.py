"""The thread timeline of the page: events, status, pending request, what the model saw, audit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.agent import Agent
from bot.api import thread_view
from bot.context import estimate_tokens, render_events, render_prompt
from bot.events import Error, ToolCall
from bot.thread import Thread
from bot.timeline import describe


@dataclass(frozen=True)
class ModelStep:
    """One model call, rebuilt: rendering is pure, so the log up to the call is what it read."""

    system: str
    """The system prompt, rendered with the call's time (the prompt shows minutes only, so
    it reads as the model's did unless the call straddled a minute)."""
    context: str
    """The rendered event log the model was given."""
    tokens: int
    """The budget's estimate for the event log (the budget covers the log only)."""
    prompt_tokens: int
    """The same estimate for the system prompt."""


@dataclass(frozen=True)
class Row:
    """One event of the timeline."""

    type: str
    """The event's type."""
    at: str
    """`HH:MM:SS`."""
    line: str
    """What happened, in one line (as `hitlbot show` says it)."""
    data: dict[str, Any]
    """The event as `GET /threads/{id}` shows it."""
    model_step: ModelStep | None
    """Set on the events the model chose."""


def rows(thread: Thread, agent: Agent | None, budget: int) -> list[Row]:
    """The timeline of `thread`, each model-chosen event with the context behind it."""
    view = thread_view(thread)
    prefetched = _prefetched(thread, agent)
    out = []
    for index, (event, data) in enumerate(zip(thread.events, view["events"], strict=True)):
        step = None
        if agent is not None and index not in prefetched and _from_model(event):
            before = thread.model_copy(update={"events": thread.events[:index]})
            system = render_prompt(agent, before, event.at)
            context = render_events(before, budget)
            step = ModelStep(system, context, estimate_tokens(context), estimate_tokens(system))
        out.append(Row(data["type"], data["at"][11:19], describe(data), data, step))
    return out


def _from_model(event: object) -> bool:
    if isinstance(event, ToolCall):
        return True
    # Output the model got wrong (no tool call, an unknown tool, bad arguments) names no call.
    return isinstance(event, Error) and event.kind in ("validation", "unknown_tool")


def _prefetched(thread: Thread, agent: Agent | None) -> set[int]:
    """Indices of the calls the loop made itself before the first model call."""
    names = {p.tool for p in agent.prefetch} if agent is not None else set()
    found: set[int] = set()
    for index, event in enumerate(thread.events):
        if isinstance(event, ToolCall):
            if event.name not in names or event.reason is not None:
                break
            found.add(index)
    return found


def now_context(thread: Thread, budget: int) -> ModelStep:
    """The event log as the model would read it at its next call."""
    context = render_events(thread, budget)
    return ModelStep("", context, estimate_tokens(context), 0)
