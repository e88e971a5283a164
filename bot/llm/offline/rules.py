"""What a rule set is: the tools it needs and a pure function from the log to one call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.model import REASON_FIELD, ModelCall
from bot.llm.offline.eventlog import Entry

MARK = "(offline model)"
"""Starts every reason the offline model gives, so approvers see who chose the call."""


@dataclass(frozen=True)
class Rules:
    """The offline model's rules for one agent."""

    agent: str
    """The agent they were written for."""
    tools: frozenset[str]
    """Tool names the agent must have for these rules to apply."""
    decide: Callable[[Sequence[Entry]], ModelCall]
    """The next call, from the parsed event log (pure)."""


def call(name: str, why: str, **args: Any) -> ModelCall:
    """A tool call with the offline model's reason (a tool's own `reason` argument wins)."""
    return ModelCall(name=name, args={REASON_FIELD: f"{MARK} {why}", **args})


def ask(message: str, choices: Sequence[str] = ()) -> ModelCall:
    """`request_more_information`, with buttons for `choices`."""
    args: dict[str, Any] = {"message": message}
    if choices:
        args["choices"] = list(choices)
    return call("request_more_information", "I need this to go on", **args)


def done(message: str) -> ModelCall:
    """`done_for_now` with the final answer."""
    return call("done_for_now", "the work is finished", message=message)
