"""How an agent declares an MCP server: where it is, and what hitlbot decides over its tools.

    McpServer(
        "incidents",
        command=(sys.executable, "-m", "hitlbot_agents.oncall.incidents_server"),  # stdio
        url_env="HITLBOT_ONCALL_MCP_URL",   # streamable HTTP instead, when that is set
        approval={"page_oncall": False},    # over the tools' own annotations
    )

Pure data: nothing connects until a worker's first step needs the tools (`bot.mcp.hub`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from bot.core.policy import Rule

IDEMPOTENCY_META = "idempotency_key"
"""The `_meta` key of every tool call: the hitlbot `call_id`, the same for every run of one
call, so a server that dedupes on it performs a repeated call once."""


@dataclass(frozen=True)
class McpServer:
    """One MCP server whose tools an agent may call."""

    name: str
    """Short name, used in logs and errors (`MCP server 'incidents' is unreachable`)."""
    command: tuple[str, ...] = ()
    """stdio transport: the server's command line; the worker starts it, restarts it when it
    dies, and stops it on shutdown."""
    url: str | None = None
    """Streamable HTTP transport: the server's MCP endpoint (`http://host:port/mcp`)."""
    url_env: str | None = None
    """An environment variable that, when set, gives the URL to use instead of `command`
    (read when connecting, so an operator points the agent at their own server)."""
    env: Mapping[str, str] = field(default_factory=dict)
    """Extra environment of a stdio server (the SDK passes only PATH, HOME and the like)."""
    pass_env: tuple[str, ...] = ()
    """Variables of the worker's environment handed on to a stdio server, when set."""
    approval: Mapping[str, bool] = field(default_factory=dict)
    """Per tool: whether its calls need approval, over what its annotations say."""
    rules: Mapping[str, Rule] = field(default_factory=dict)
    """Per tool: its approval rule (approvers, quorum, deadlines); the policy file may
    replace it."""
    only: tuple[str, ...] | None = None
    """If set, only these of the server's tools are offered to the model."""
    timeout_s: float = 30.0
    """Seconds a request to the server (connect, list, call) may take."""

    def transport(self) -> tuple[Literal["stdio", "http"], Any]:
        """`("http", url)` or `("stdio", command)`, as configured now."""
        url = (os.environ.get(self.url_env) if self.url_env else None) or self.url
        if url:
            return "http", url
        if not self.command:
            raise ValueError(f"MCP server {self.name!r} has neither a command nor a URL")
        return "stdio", self.command

    def shown(self) -> str:
        """Where the server is, with nothing that may be a credential: `http host:port` (no
        user, path or query) or `stdio <program>` (no arguments)."""
        try:
            kind, where = self.transport()
        except ValueError:
            return "no command or URL"
        if kind == "http":
            parts = urlsplit(where)
            return f"http {parts.hostname or '?'}{f':{parts.port}' if parts.port else ''}"
        return f"stdio {os.path.basename(where[0])}"

    def secrets(self) -> tuple[str, ...]:
        """What of its configuration may hold a credential, to be kept out of every message
        and log: the URL's user, path and query, the command's arguments, the extra env."""
        found: list[str] = []
        for url in (self.url, os.environ.get(self.url_env) if self.url_env else None):
            if url:
                parts = urlsplit(url)
                found += [url, parts.netloc.rpartition("@")[0], parts.path, parts.query]
                found += parts.path.split("/")
        found += [" ".join(self.command), *self.command[1:], *self.env.values()]
        return tuple(sorted({s for s in found if len(s) >= SECRET_MIN}, key=len, reverse=True))


SECRET_MIN = 6
"""Shorter parts of a configuration (`-m`, `/mcp`) are not hidden: they hold no credential,
and hiding them would garble every message they happen to occur in."""

_URL = re.compile(r"\b([a-zA-Z][a-zA-Z0-9+.-]*://)([^/@\s'\"]*@)?([^/?#\s'\"]*)([^\s'\"]*)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with each of `secrets` replaced by `…`, and any URL cut to its scheme and host
    (`https://mcp.example.com/…`): a user, a path or a query may hold a credential."""
    for secret in secrets:
        text = text.replace(secret, "…")
    return _URL.sub(_cut, text)


def _cut(url: re.Match[str]) -> str:
    scheme, user, host, rest = url.groups()
    if not user and rest.rstrip(".,;:)") in ("", "/"):
        return url.group(0)
    return f"{scheme}{host}/…"


def needs_approval(annotations: Any, override: bool | None) -> bool:
    """Whether a tool's calls pause for approval (pure): the agent's word if it gave one,
    else the annotations, read conservatively as the MCP spec's defaults do — a tool is
    assumed to write (`readOnlyHint` false) and to destroy (`destructiveHint` true) unless
    it says otherwise; only one that says it is read-only and not destructive runs at once."""
    if override is not None:
        return override
    read_only = getattr(annotations, "read_only_hint", None)
    destructive = getattr(annotations, "destructive_hint", None)
    return destructive is True or read_only is not True
