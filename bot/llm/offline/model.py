"""`HITLBOT_MODEL=offline`: a `Model` that picks tool calls by plain rules, with no network.

It reads the same system prompt, rendered event log and tool schemas Claude would, and answers
with the same unvalidated `ModelCall`, so the loop validates, records, pauses for approval and
reports errors exactly as it does with Claude. Rules are chosen by the agent's tools.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.config import NotConfigured
from bot.core.model import ModelCall
from bot.llm.offline import deploy, oncall, support
from bot.llm.offline.eventlog import parse
from bot.llm.offline.rules import Rules

NAME = "offline"
"""The `HITLBOT_MODEL` value that selects this model."""
RULE_SETS: tuple[Rules, ...] = (deploy.RULES, support.RULES, oncall.RULES)
"""The agents the offline model knows how to play."""

_AGENT_NAME = re.compile(r"You are `([^`]+)`")


class OfflineModel:
    """Deterministic rules for the shipped agents; any other agent fails, saying why."""

    def __init__(self, rule_sets: Sequence[Rules] = RULE_SETS) -> None:
        self.rule_sets = tuple(rule_sets)

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        names = {str(tool["name"]) for tool in tools}
        for rules in self.rule_sets:
            if rules.tools <= names:
                return rules.decide(parse(context))
        raise NotConfigured(
            f"offline model has no rules for agent {_agent_name(system, names)}; "
            "set ANTHROPIC_API_KEY to run it with Claude"
        )

    async def aclose(self) -> None:
        pass


def _agent_name(system: str, tools: set[str]) -> str:
    match = _AGENT_NAME.search(system)
    if match:
        return repr(match.group(1))
    return f"with tools {', '.join(sorted(tools))}"
