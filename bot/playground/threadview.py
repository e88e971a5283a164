"""The thread timeline of the page: events, status, pending request, what the model saw, audit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.api.http import thread_view
from bot.core.agent import Agent
from bot.core.context import ContextCache, estimate_tokens, render_events
from bot.core.rebuild import model_steps
from bot.core.thread import Thread
from bot.core.timeline import describe
from bot.core.tools import Tool
from bot.runtime.prompts import PromptFiles


@dataclass(frozen=True)
class ModelStep:
    """One model call, rebuilt: rendering is pure, so the log up to the call is what it read."""

    system: str
    """The system prompt, rendered with the call's time (the time it was rendered at, for
    threads recorded since steps stamp their events with it)."""
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


def rows(
    thread: Thread,
    agent: Agent | None,
    budget: int,
    tools: Mapping[str, Tool[Any]] | None = None,
    *,
    prompts: PromptFiles,
    cache: ContextCache | None = None,
) -> list[Row]:
    """The timeline of `thread`, each model-chosen event with the context behind it (`tools`:
    the agent's, its MCP servers' as this process listed them; `prompts`: where its prompt
    is read)."""
    view = thread_view(thread)
    listed = []
    if agent is not None:
        prompt = prompts.text(agent.prompt)
        listed = model_steps(thread, agent, budget, tools, prompt=prompt, cache=cache)
    steps = {step.index: step.input for step in listed}
    out = []
    for index, (event, data) in enumerate(zip(thread.events, view["events"], strict=True)):
        step = None
        found = steps.get(index)
        if found is not None:
            system, context = found.system, found.context
            step = ModelStep(system, context, estimate_tokens(context), estimate_tokens(system))
        out.append(Row(data["type"], data["at"][11:19], describe(event), data, step))
    return out


def now_context(thread: Thread, budget: int, cache: ContextCache | None = None) -> ModelStep:
    """The event log as the model would read it at its next call."""
    context = render_events(thread, budget, cache)
    return ModelStep("", context, estimate_tokens(context), 0)
