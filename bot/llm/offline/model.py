"""`HITLBOT_MODEL=offline`: a `Model` that picks tool calls by plain rules, with no network.

It reads the same system prompt, rendered event log and tool schemas Claude would, and answers
with the same unvalidated `ModelCall`, so the loop validates, records, pauses for approval and
reports errors exactly as it does with Claude. Which rules answer, for the agent of the step:
its scripted replies (`HITLBOT_OFFLINE_SCRIPT`) if the script names it, else the rules that
ship beside it (`agents/<name>/offline.py`, found by discovery), else the scripted default
(`bot.llm.offline.default`), labelled as such.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from bot.config import NotConfigured
from bot.core.agent import Agent
from bot.core.model import ModelCall
from bot.llm.offline.default import default_rules
from bot.llm.offline.eventlog import parse
from bot.llm.offline.rules import Rules
from bot.llm.offline.script import Script, play

NAME = "offline"
"""The `HITLBOT_MODEL` value that selects this model."""

_AGENT_NAME = re.compile(r"You are `([^`]+)`")


class OfflineModel:
    """Deterministic rules for every agent it is given; with none, it fails saying why."""

    def __init__(
        self,
        rules: Mapping[str, Rules] | None = None,
        agents: Mapping[str, Agent] | None = None,
        script: Script | None = None,
    ) -> None:
        self.agents = dict(agents or {})
        self.script = dict(script or {})
        defaults = {name: default_rules(agent) for name, agent in self.agents.items()}
        self.own = set(rules or {})
        self.rules: dict[str, Rules] = {**defaults, **(rules or {})}

    def plays(self, agent: str) -> str:
        """How `agent` is played: `scripted replies`, `its own rules` or `scripted default`."""
        if agent in self.script:
            return "scripted replies"
        if agent in self.own:
            return "its own rules"
        return "scripted default"

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        names = {str(tool["name"]): tool for tool in tools}
        agent = self._agent(system, set(names))
        if agent is not None and agent in self.script:
            return play(self.script[agent], parse(context), names)
        if agent is not None and agent in self.rules:
            return self.rules[agent].decide(parse(context))
        raise NotConfigured(
            f"offline model has no rules for agent {_agent_name(system, set(names))}; "
            "set ANTHROPIC_API_KEY to run it with Claude"
        )

    def _agent(self, system: str, names: set[str]) -> str | None:
        """The agent of the step: named by its prompt (`You are `name``), else the one whose
        tools the step offers, the most specific first."""
        match = _AGENT_NAME.search(system)
        named = match.group(1) if match else None
        if named in self.script or (named in self.rules and self.rules[named].tools <= names):
            return named
        fitting = [rules for rules in self.rules.values() if rules.tools <= names]
        if not fitting:
            return None
        return max(fitting, key=lambda rules: len(rules.tools)).agent

    async def aclose(self) -> None:
        pass


def _agent_name(system: str, tools: set[str]) -> str:
    match = _AGENT_NAME.search(system)
    if match:
        return repr(match.group(1))
    return f"with tools {', '.join(sorted(tools))}"
