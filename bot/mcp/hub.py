"""The MCP servers of a process's agents, and their tools as ordinary hitlbot tools.

Each listed MCP tool becomes a `Tool`: its input schema a pydantic model (`bot.mcp.schema`),
its approval from its annotations unless the agent says otherwise, its run a `tools/call`
with the call id as idempotency key. Tool errors (`isError` results, protocol errors, a server
that is down) raise `ToolError`, so the loop records them as `error` events like any tool's.

Connections open on the first step that needs them, in the worker (the web process never runs
a step, so it starts no server), and close with the process (`Deps` → `runtime`).

The policy file may name an MCP tool, which is only known once its server is listed: a rule
for a name the agent's servers do not list would never be checked, so the agent's threads are
refused (they fail, saying why, and the worker logs it) until the policy is fixed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mcp_types as types
import structlog
from mcp.shared.exceptions import MCPError
from pydantic import BaseModel

from bot.config import NotConfigured
from bot.core.policy import Policy
from bot.core.tools import BUILTINS, Tool, ToolContext, ToolError
from bot.mcp.client import McpConnection, McpUnavailable
from bot.mcp.schema import SchemaError, args_model
from bot.mcp.source import McpServer, needs_approval, redact

if TYPE_CHECKING:
    from bot.core.agent import Agent

log = structlog.get_logger(__name__)

_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
"""What the Messages API accepts as a tool name."""


class McpHub:
    """One connection per (agent, server) in this process, and the tools they offer."""

    def __init__(self, policy: Policy | None = None) -> None:
        self._policy = policy or Policy()
        self._connections: dict[tuple[str, str], McpConnection] = {}
        self._converted: dict[tuple[str, str], tuple[int, dict[str, Tool[Any]]]] = {}
        self._refusals: dict[str, tuple[tuple[int, ...], str | None]] = {}

    def connection(self, agent: str, server: McpServer) -> McpConnection:
        """The (lazily opened) connection of `agent` to `server`."""
        key = (agent, server.name)
        found = self._connections.get(key)
        if found is None:
            found = self._connections[key] = McpConnection(server)
        return found

    async def all_tools(self, agent: Agent) -> dict[str, Tool[Any]]:
        """The agent's own tools, its MCP servers' tools, then the built-ins, by name.

        No round trip once a server's tools are listed. McpUnavailable if a server has never
        been listed and cannot be now (a server that was listed and died keeps its tools: the
        call reconnects, or fails as that tool's error).
        """
        if not agent.mcp:
            return agent.local_tools
        for server in agent.mcp:
            connection = self.connection(agent.name, server)
            if connection.tools is None:
                await connection.list_tools()
        known = self.known(agent)
        refusal = self._refusal(agent, known)
        if refusal is not None:
            raise NotConfigured(refusal)
        return known

    def unlisted(self, agent: Agent, known: Mapping[str, Tool[Any]]) -> list[str]:
        """Tools the policy has rules for that `agent` does not have, its servers listed."""
        return sorted(
            tool for name, tool in self._policy.rules if name == agent.name and tool not in known
        )

    def _refusal(self, agent: Agent, known: Mapping[str, Tool[Any]]) -> str | None:
        """Why the agent's threads are refused, worked out (and logged) once per listing."""
        listings = tuple(id(self.connection(agent.name, s).tools) for s in agent.mcp)
        cached = self._refusals.get(agent.name)
        if cached is not None and cached[0] == listings:
            return cached[1]
        unlisted = self.unlisted(agent, known)
        refusal = None
        if unlisted:
            servers = ", ".join(repr(server.name) for server in agent.mcp)
            refusal = (
                f"HITLBOT_POLICY has rules for {', '.join(map(repr, unlisted))} of agent "
                f"{agent.name!r}, which its MCP servers ({servers}) do not list: they would "
                "never be checked, so its threads are refused until the policy names tools "
                "the servers list"
            )
            log.error(
                "agent refused: policy names unlisted MCP tools", agent=agent.name, tools=unlisted
            )
        self._refusals[agent.name] = (listings, refusal)
        return refusal

    def known(self, agent: Agent) -> dict[str, Tool[Any]]:
        """As `all_tools`, from what is listed already (no IO): for the web process and
        renderings, which never connect."""
        tools: dict[str, Tool[Any]] = {tool.name: tool for tool in agent.tools}
        for server in agent.mcp:
            for name, tool in self._tools_of(agent, server).items():
                if name in tools or name in {b.name for b in BUILTINS}:
                    log.warning("MCP tool shadowed; skipped", server=server.name, tool=name)
                    continue
                tools[name] = tool
        return {**tools, **{tool.name: tool for tool in BUILTINS}}

    def _tools_of(self, agent: Agent, server: McpServer) -> dict[str, Tool[Any]]:
        connection = self._connections.get((agent.name, server.name))
        if connection is None or connection.tools is None:
            return {}
        key = (agent.name, server.name)
        cached = self._converted.get(key)
        if cached is not None and cached[0] == id(connection.tools):
            return cached[1]
        converted: dict[str, Tool[Any]] = {}
        for listed in connection.tools:
            if server.only is not None and listed.name not in server.only:
                continue
            tool = self._convert(agent.name, server, listed)
            if tool is not None:
                converted[tool.name] = tool
        self._converted[key] = (id(connection.tools), converted)
        return converted

    def _convert(self, agent: str, server: McpServer, listed: types.Tool) -> Tool[Any] | None:
        if not _TOOL_NAME.fullmatch(listed.name):
            log.error("MCP tool name not usable; skipped", server=server.name, tool=listed.name)
            return None
        try:
            model = args_model(listed.name, listed.input_schema)
        except SchemaError as exc:
            log.error("MCP tool schema not supported; skipped", server=server.name, error=str(exc))
            return None
        return Tool(
            name=listed.name,
            description=listed.description or listed.title or listed.name,
            args=model,
            run=_runner(self, agent, server, listed.name),
            approval=needs_approval(listed.annotations, server.approval.get(listed.name)),
            rule=server.rules.get(listed.name),
            input_schema=listed.input_schema,
        )

    async def check_policy(self, agents: Mapping[str, Agent]) -> list[str]:
        """For `hitlbot dev`'s banner: each agent refused for policy rules its MCP servers do
        not list, and why; servers are listed only where the policy names a tool the agent's
        own code does not have (with no such rule, nothing is started)."""
        problems: list[str] = []
        for agent in agents.values():
            if not agent.mcp or not self.unlisted(agent, agent.local_tools):
                continue
            try:
                await self.all_tools(agent)
            except NotConfigured as exc:
                problems.append(f"REFUSED agent {agent.name!r}: {exc}")
            except McpUnavailable as exc:
                problems.append(f"could not check the MCP tools named for {agent.name!r}: {exc}")
        return problems

    async def aclose(self) -> None:
        """Close every connection (stdio servers are stopped)."""
        for connection in list(self._connections.values()):
            await connection.close()


def _runner(hub: McpHub, agent: str, server: McpServer, name: str) -> Any:
    async def run(args: BaseModel, ctx: ToolContext) -> Any:
        connection = hub.connection(agent, server)
        try:
            result = await connection.call(name, args.model_dump(mode="json"), ctx.call_id)
        except McpUnavailable as exc:
            raise ToolError(str(exc)) from None
        except MCPError as exc:
            refusal = redact(str(exc), server.secrets())
            raise ToolError(f"MCP server {server.name!r} refused the call: {refusal}") from None
        if result.is_error:
            why = redact(_text(result), server.secrets())
            raise ToolError(why or f"{name} failed (the server gave no reason)")
        return tool_output(result)

    return run


def tool_output(result: types.CallToolResult) -> Any:
    """What the thread records of a result: its structured content if it has any, else its
    text (read as JSON when it is JSON), else a note of what else it sent."""
    structured = result.structured_content
    if structured is not None:
        if isinstance(structured, Mapping) and set(structured) == {"result"}:
            return structured["result"]  # the SDK wraps a plain return value so
        return structured
    text = _text(result)
    if text:
        try:
            return json.loads(text)
        except ValueError:
            return text
    kinds = sorted({block.type for block in result.content})
    return {"content": kinds} if kinds else None


def _text(result: types.CallToolResult) -> str:
    return "\n".join(
        block.text for block in result.content if isinstance(block, types.TextContent)
    ).strip()
