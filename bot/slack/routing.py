"""Which agent a Slack channel talks to (factor 10): `HITLBOT_SLACK_ROUTES`, then a default."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from bot.config import agent_routes


@dataclass(frozen=True)
class Routes:
    """Channel id -> agent name, and the agent for every other channel and for DMs."""

    default: str = "deploy"
    """Agent for unrouted channels and direct messages."""
    by_channel: Mapping[str, str] = field(default_factory=dict)
    """Agent by channel id."""

    @classmethod
    def parse(cls, spec: str, default: str) -> Routes:
        """Read `C123=deploy,C456=support`; raises ValueError naming a malformed entry."""
        by_channel = agent_routes(spec, "HITLBOT_SLACK_ROUTES", "CHANNEL=agent", separators=",;")
        return cls(default=default, by_channel=by_channel)

    def agent_for(self, channel: str) -> str:
        """The agent a new thread in `channel` runs on."""
        return self.by_channel.get(channel, self.default)

    def check(self, agents: Collection[str]) -> None:
        """Raise ValueError if a route names an agent that does not exist."""
        unknown = sorted({self.default, *self.by_channel.values()} - set(agents))
        if unknown:
            known = ", ".join(sorted(agents))
            raise ValueError(f"Slack routing names unknown agent(s) {unknown}; known: {known}")
