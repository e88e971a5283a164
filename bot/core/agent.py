"""Small focused agents (factor 10): a prompt template, a handful of tools, a policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.tools import BUILTINS, Tool
from bot.mcp.source import McpServer


@dataclass(frozen=True)
class Prefetch:
    """A call made before the first LLM call, so its result is in context (factor 13)."""

    tool: str
    """Name of one of the agent's tools."""
    args: dict[str, Any] = field(default_factory=dict)
    """Its arguments."""


@dataclass(frozen=True)
class SuggestedPrompt:
    """A prompt offered when a person opens the agent's DM (Slack's suggested prompts)."""

    title: str
    """The short label shown (Slack shows up to about 40 characters)."""
    message: str
    """What is sent as the person's message when they pick it."""


@dataclass(frozen=True)
class Agent:
    """One agent: what it is told, what it can do, what it fetches first."""

    name: str
    """Routing name (`deploy`, `support`)."""
    description: str
    """One line for listings."""
    prompt: Path
    """Its `prompt.md` template, rendered by `bot.core.context`."""
    tools: tuple[Tool[Any], ...]
    """Its own tools; the built-ins are added by `local_tools`."""
    prefetch: tuple[Prefetch, ...] = ()
    """Calls made before the first LLM call."""
    mcp: tuple[McpServer, ...] = ()
    """MCP servers whose tools it may call besides its own (`bot.mcp`); listed by the worker
    on the first step that needs them."""
    suggested_prompts: tuple[SuggestedPrompt, ...] = ()
    """A few prompts offered when a person opens the DM of this agent (at most four shown)."""
    check: Callable[[], object] | None = None
    """Run at start: reads the agent's configuration (its data files) and raises ValueError,
    saying where and why, if it is invalid, so a bad file stops the start, not a thread."""
    external: bool = False
    """The calls of an agent outside hitlbot (`bot.core.external`): no model, no tools; a
    thread ends once its one request is answered, and the caller runs its own function."""

    @property
    def local_tools(self) -> dict[str, Tool[Any]]:
        """Its own tools and the built-in ones, by name: none of its MCP servers' (those are
        added by `McpHub.all_tools`, which lists them)."""
        return {tool.name: tool for tool in (*self.tools, *BUILTINS)}
