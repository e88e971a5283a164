"""A live connection to one MCP server, through the official SDK's `ClientSession`.

One task owns each connection (the SDK's transports are anyio context managers that must be
entered and left in one task): it starts the stdio process or opens the HTTP session, lists
the tools once, and holds the session until it is closed. The tool list is cached with the
connection, so a step costs no round trip to the server; it is listed again on reconnect.

A call that finds the connection broken (the stdio process died, the HTTP server dropped the
session) reconnects and tries once more with the same idempotency key in `_meta`; the server
dedupes on it, so a call cut off mid-way is performed once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from typing import Any, TextIO, cast

import anyio
import httpx2
import mcp_types as types
import structlog
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from bot.mcp.source import IDEMPOTENCY_META, McpServer, redact

log = structlog.get_logger(__name__)

_BROKEN = (
    anyio.ClosedResourceError,
    anyio.BrokenResourceError,
    anyio.EndOfStream,
    httpx2.TransportError,
    ConnectionError,
    EOFError,
)


MAX_TOOL_PAGES = 100
"""Pages of a tool list followed at most: a server whose `nextCursor` never ends is refused."""


class McpUnavailable(Exception):
    """The server cannot be reached (not started, down, dead) or cannot be used; the message
    names it and says why, with nothing of its URL or command that may be a credential."""


class McpConnection:
    """The session with one server, opened on first use and again after it breaks."""

    def __init__(self, server: McpServer) -> None:
        self.server = server
        self.tools: list[types.Tool] | None = None
        """The server's tools as last listed (kept while it is down, for the model's sake)."""
        self.connects = 0
        """How many times a session was opened (a restart counts one more)."""
        self._session: ClientSession | None = None
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    async def list_tools(self) -> list[types.Tool]:
        """The server's tools: cached, listed by the server only when (re)connecting."""
        if self.tools is not None and self._alive():
            return self.tools
        await self._session_now()
        assert self.tools is not None
        return self.tools

    async def call(
        self, name: str, arguments: dict[str, Any], call_id: str
    ) -> types.CallToolResult:
        """Call a tool with `call_id` as the idempotency key; reconnects once if broken."""
        for attempt in (1, 2):
            session = await self._session_now()
            try:
                return await session.call_tool(
                    name,
                    arguments,
                    read_timeout_seconds=self.server.timeout_s,
                    meta=cast(types.RequestParamsMeta, {IDEMPOTENCY_META: call_id}),
                )
            except MCPError as exc:
                if exc.error.code != types.CONNECTION_CLOSED or attempt == 2:
                    raise
            except _BROKEN as exc:
                if attempt == 2:
                    raise McpUnavailable(self._why(exc)) from None
            log.warning("MCP connection broken; reconnecting", server=self.server.name, tool=name)
            await self.close()
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """End the session (and stop a stdio server's process)."""
        owner, self._owner, self._session = self._owner, None, None
        if owner is None:
            return
        self._stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(owner), self.server.timeout_s)
        if not owner.done():
            owner.cancel()
            with contextlib.suppress(BaseException):
                await owner

    def _alive(self) -> bool:
        return self._session is not None and self._owner is not None and not self._owner.done()

    async def _session_now(self) -> ClientSession:
        async with self._lock:
            if not self._alive():
                await self.close()
                await self._open()
            assert self._session is not None
            return self._session

    async def _open(self) -> None:
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._owner = asyncio.create_task(self._own(ready, self._stop))
        try:
            self._session = await asyncio.wait_for(asyncio.shield(ready), self.server.timeout_s)
        except TimeoutError:
            await self.close()
            raise McpUnavailable(
                f"MCP server {self.server.name!r} did not answer in time"
            ) from None
        except Exception as exc:
            await self.close()
            refused = next((e for e in _leaves(exc) if isinstance(e, McpUnavailable)), None)
            raise refused or McpUnavailable(self._why(exc)) from None
        self.connects += 1

    async def _own(self, ready: asyncio.Future[ClientSession], stop: asyncio.Event) -> None:
        try:
            async with self._transport() as (read, write):
                async with ClientSession(
                    read, write, read_timeout_seconds=self.server.timeout_s
                ) as session:
                    await session.initialize()
                    self.tools = await _all_tools(session, self.server)
                    ready.set_result(session)
                    await stop.wait()
        except BaseException as exc:  # the owner's end is the connection's end, however it came
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else McpUnavailable("closed"))
            elif not stop.is_set():
                log.warning("MCP session ended", server=self.server.name, error=self._cause(exc))
            if isinstance(exc, asyncio.CancelledError):
                raise

    @contextlib.asynccontextmanager
    async def _transport(self) -> AsyncIterator[tuple[Any, Any]]:
        kind, where = self.server.transport()
        if kind == "http":
            async with streamable_http_client(where) as streams:
                yield streams[0], streams[1]
            return
        command, *args = where
        env = {name: os.environ[name] for name in self.server.pass_env if name in os.environ}
        params = StdioServerParameters(command=command, args=args, env={**env, **self.server.env})
        async with stdio_client(params, errlog=_errlog()) as streams:
            yield streams[0], streams[1]

    def _why(self, exc: BaseException) -> str:
        shown = self.server.shown()
        return f"MCP server {self.server.name!r} ({shown}) is unreachable: {self._cause(exc)}"

    def _cause(self, exc: BaseException) -> str:
        """What went wrong, from the innermost errors of any exception groups (anyio's task
        groups wrap the real one), with the server's credentials taken out."""
        causes = dict.fromkeys(
            f"{type(leaf).__name__}: {leaf}" if str(leaf) else type(leaf).__name__
            for leaf in _leaves(exc)
        )
        return redact("; ".join(causes), self.server.secrets())


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)]
    return [exc]


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: ours, or the process's own when ours is a capture
    with no file behind it (a CLI run under a test runner), which a child cannot write to."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr
    return sys.stderr


async def _all_tools(session: ClientSession, server: McpServer) -> list[types.Tool]:
    """Every tool, following the list's pages (at most MAX_TOOL_PAGES of them)."""
    tools: list[types.Tool] = []
    cursor: str | None = None
    for _ in range(MAX_TOOL_PAGES):
        params = types.PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await session.list_tools(params=params)
        tools += page.tools
        cursor = page.next_cursor
        if not cursor:
            return tools
    raise McpUnavailable(
        f"MCP server {server.name!r} ({server.shown()}) cannot be used: its tool list goes on "
        f"past {MAX_TOOL_PAGES} pages ({len(tools)} tools so far)"
    )
