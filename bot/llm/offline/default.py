"""The offline model's scripted default, for an agent that ships no rules of its own.

Plain and labelled as such: call each read-only tool once, then the first tool that may need
approval (the loop pauses for it), then finish, saying what happened. Required arguments are
filled from each field's `examples` (or its default, or the first of its choices), so a tool
written with `Field(examples=[...])` runs as it would for a person.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.agent import Agent
from bot.core.model import ModelCall
from bot.core.tools import Tool
from bot.llm.offline.eventlog import Entry, Outcome, current_turn, human_text, outcomes
from bot.llm.offline.rules import Rules, call, done

LABEL = "scripted default"
"""Starts every reason the default gives (after the offline model's own mark)."""


def default_rules(agent: Agent) -> Rules:
    """The scripted default for `agent`."""
    read_only = [tool for tool in agent.tools if tool.approval is False and tool.run is not None]
    gated = next((tool for tool in agent.tools if tool.approval is not False), None)

    def decide(entries: Sequence[Entry]) -> ModelCall:
        turn = current_turn(entries)
        text = human_text(turn)
        for tool in read_only:
            if not outcomes(turn, tool.name):
                return call(tool.name, f"{LABEL}: each read-only tool once", **sample(tool, text))
        if gated is not None:
            tried = outcomes(turn, gated.name)
            if not tried:
                why = f"{LABEL}: then the first tool that needs approval"
                return call(gated.name, why, **sample(gated, text))
            if tried[-1].result is None and tried[-1].error is None and not tried[-1].rejected:
                return done(f"{gated.name} is still in progress ({LABEL}).")
            return done(_report(agent, gated.name, tried[-1]))
        return done(f"{agent.name} ran its read-only tools ({LABEL}; no offline rules).")

    return Rules(agent=agent.name, tools=frozenset(agent.local_tools), decide=decide)


def _report(agent: Agent, name: str, outcome: Outcome) -> str:
    head = f"{agent.name}: {LABEL} (this agent has no offline rules). "
    if outcome.rejected:
        why = f": {outcome.comment}" if outcome.comment else ""
        return f"{head}{name} was rejected{why}."
    if outcome.error is not None:
        return f"{head}{name} failed: {outcome.error}"
    return f"{head}{name} ran: {outcome.result}"


def sample(tool: Tool[Any], text: str) -> dict[str, Any]:
    """Arguments for `tool`'s required fields, from their examples, defaults or choices, else
    from the person's last word (a string) or a plain value of the field's type."""
    schema = tool.schema()["input_schema"]
    properties: dict[str, Any] = schema.get("properties", {})
    words = text.split()
    return {
        name: _value(properties.get(name, {}), words[-1] if words else "example")
        for name in schema.get("required", [])
    }


_PLAIN: dict[str, Any] = {"integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}


def _value(field: dict[str, Any], word: str) -> Any:
    if field.get("examples"):
        return field["examples"][0]
    if "default" in field:
        return field["default"]
    if field.get("enum"):
        return field["enum"][0]
    if "const" in field:
        return field["const"]
    kind = field.get("type", "string")
    return _PLAIN.get(kind, word) if isinstance(kind, str) else word
