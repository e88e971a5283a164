"""The agents that ship with hitlbot, by name (factor 10: small and focused)."""

from collections.abc import Mapping

from agents.deploy import AGENT as DEPLOY
from agents.oncall import AGENT as ONCALL
from agents.support import AGENT as SUPPORT
from bot.core.agent import Agent

AGENTS: Mapping[str, Agent] = {agent.name: agent for agent in (DEPLOY, SUPPORT, ONCALL)}
