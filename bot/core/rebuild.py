"""The model steps of a thread, rebuilt from its events.

Rendering is pure and a step stamps what it chose with the time its prompt was rendered at
(`bot.runtime.step`), so the events before a step's first event, with that event's time, give back
exactly the input that step was given. The playground shows it; `hitlbot record` keeps it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.agent import Agent
from bot.core.context import ContextCache, ModelInput, model_input
from bot.core.events import Error, Event, ToolCall
from bot.core.thread import Thread
from bot.core.tools import Tool


@dataclass(frozen=True)
class ModelStepAt:
    """One model step of a thread: where its output starts, and what it was given."""

    index: int
    """Index of its first event (a `tool_call`, or the `error` the model's output made)."""
    input: ModelInput
    """What the step was given: rendered from the events before `index`, at that time."""


def model_step_indices(thread: Thread, agent: Agent | None) -> list[int]:
    """Indices of the events a model step began with (the loop's own pre-fetch excluded)."""
    prefetched = _prefetched(thread, agent)
    return [
        index
        for index, event in enumerate(thread.events)
        if index not in prefetched and from_model(event)
    ]


def model_steps(
    thread: Thread,
    agent: Agent,
    budget: int,
    tools: Mapping[str, Tool[Any]] | None = None,
    *,
    prompt: str,
    cache: ContextCache | None = None,
) -> list[ModelStepAt]:
    """Every model step of `thread`, with the input it was given (`budget`: the context
    token budget the worker had, `HITLBOT_CONTEXT_TOKENS`; `tools`: all the agent had, its
    MCP servers' included, and `prompt`, its prompt's text, as `model_input` takes them)."""
    cache = cache or ContextCache()
    steps = []
    for index in model_step_indices(thread, agent):
        before = thread.model_copy(update={"events": thread.events[:index]})
        at = thread.events[index].at
        given = model_input(agent, before, at, budget, tools, prompt=prompt, cache=cache)
        steps.append(ModelStepAt(index, given))
    return steps


def from_model(event: Event) -> bool:
    """Whether `event` can be a model step's first: a tool call, or an error the model made."""
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
