"""An example MCP server: incidents, tickets and pages, for the `oncall` agent.

    python -m hitlbot_agents.oncall.incidents_server                     # stdio (hitlbot runs it)
    python -m hitlbot_agents.oncall.incidents_server --http --port 8765  # streamable HTTP, /mcp

Its tools carry honest annotations, which is all hitlbot needs to decide approvals:
`list_incidents` is read-only (runs at once); `acknowledge_incident` and `page_oncall` write
but destroy nothing; `open_ticket` writes; `resolve_incident` closes an incident for good
(`destructiveHint`). Every writing tool dedupes on the `idempotency_key` in the call's `_meta`:
a call repeated with the same key (a worker that died before recording the result) returns the
first result and does nothing again.

State lives in memory, or in the JSON file given by `--state` (or `INCIDENTS_STATE`), written
atomically after each change, so a restarted server remembers what it did.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
KEY = "idempotency_key"
"""The `_meta` key hitlbot puts its call id in."""

SEED: dict[str, Any] = {
    "incidents": {
        "INC-101": {
            "service": "payments",
            "title": "Card payments failing for EU customers",
            "severity": "SEV1",
            "status": "open",
        },
        "INC-102": {
            "service": "payments",
            "title": "Refund queue delayed by 20 minutes",
            "severity": "SEV3",
            "status": "open",
        },
        "INC-201": {
            "service": "search",
            "title": "Search latency above SLO",
            "severity": "SEV2",
            "status": "open",
        },
    },
    "oncall": {
        "payments": {"name": "Priya", "slack": "U0PRIYA"},
        "search": {"name": "Tomás", "slack": "U0TOMAS"},
        "api": {"name": "Maya", "slack": "U0MAYA"},
    },
    "tickets": {},
    "pages": [],
    "done": {},
}

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)
PAGES = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
DESTROYS = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True)


class Store:
    """The server's state, and the results of keyed calls (for dedupe)."""

    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        if self.path is not None and self.path.exists():
            self.data: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        else:
            self.data = copy.deepcopy(SEED)
        self.data["pid"] = os.getpid()  # so a test can find (and kill) this process
        self.save()

    def save(self) -> None:
        if self.path is None:
            return
        partial = self.path.with_suffix(".tmp")
        partial.write_text(json.dumps(self.data, indent=1), encoding="utf-8")
        partial.replace(self.path)

    def once(self, ctx: Context, tool: str, act: Any) -> Any:
        """`act()`'s result, performed once per idempotency key (none: every time)."""
        meta = ctx.request_context.meta or {}
        key = meta.get(KEY)
        if isinstance(key, str) and f"{tool}:{key}" in self.data["done"]:
            return self.data["done"][f"{tool}:{key}"]
        result = act()
        if isinstance(key, str):
            self.data["done"][f"{tool}:{key}"] = result
        self.save()
        return result

    def incident(self, incident_id: str) -> dict[str, Any]:
        found = self.data["incidents"].get(incident_id.strip().upper())
        if found is None:
            known = ", ".join(sorted(self.data["incidents"]))
            raise ToolError(f"no incident {incident_id!r}; known: {known}")
        assert isinstance(found, dict)
        return found


def build(store: Store, log_level: LogLevel = "WARNING") -> MCPServer:
    """The server and its tools over `store`."""
    server = MCPServer(
        "incidents", instructions="Incidents, tickets and on-call pages.", log_level=log_level
    )
    _incident_tools(server, store)
    _outreach_tools(server, store)
    return server


def _incident_tools(server: MCPServer, store: Store) -> None:
    """Listing, acknowledging and resolving incidents."""

    @server.tool(annotations=READ_ONLY)
    def list_incidents(
        service: Annotated[str | None, Field(description="Only this service's.")] = None,
        status: Literal["open", "acknowledged", "resolved", "any"] = "open",
    ) -> list[dict[str, Any]]:
        """List incidents, newest first, by service and status."""
        return [
            {"id": incident_id, **incident}
            for incident_id, incident in sorted(store.data["incidents"].items(), reverse=True)
            if (service is None or incident["service"] == service)
            and (status == "any" or incident["status"] == status)
        ]

    @server.tool(annotations=WRITES)
    def acknowledge_incident(
        incident_id: Annotated[str, Field(description="e.g. INC-101")],
        ctx: Context,
        note: Annotated[str, Field(max_length=500)] = "",
    ) -> dict[str, Any]:
        """Acknowledge an open incident: someone is on it."""
        incident = store.incident(incident_id)

        def act() -> dict[str, Any]:
            if incident["status"] == "resolved":
                raise ToolError(f"{incident_id} is resolved already")
            incident["status"] = "acknowledged"
            incident["note"] = note
            return {"id": incident_id.upper(), "status": "acknowledged"}

        result: dict[str, Any] = store.once(ctx, "acknowledge_incident", act)
        return result

    @server.tool(annotations=DESTROYS)
    def resolve_incident(incident_id: str, resolution: str, ctx: Context) -> dict[str, Any]:
        """Resolve an incident: it is closed, and its pages stop."""
        incident = store.incident(incident_id)

        def act() -> dict[str, Any]:
            incident["status"] = "resolved"
            incident["resolution"] = resolution
            return {"id": incident_id.upper(), "status": "resolved"}

        result: dict[str, Any] = store.once(ctx, "resolve_incident", act)
        return result


def _outreach_tools(server: MCPServer, store: Store) -> None:
    """Paging the on-call and opening tickets."""

    @server.tool(annotations=PAGES)
    def page_oncall(
        service: Annotated[str, Field(description="Whose on-call to page, e.g. payments")],
        message: Annotated[str, Field(min_length=3, max_length=500)],
        ctx: Context,
        incident_id: str | None = None,
    ) -> dict[str, Any]:
        """Page the service's on-call engineer with a message."""
        person = store.data["oncall"].get(service)
        if person is None:
            known = ", ".join(sorted(store.data["oncall"]))
            raise ToolError(f"no on-call rota for {service!r}; known: {known}")
        if incident_id is not None:
            store.incident(incident_id)

        def act() -> dict[str, Any]:
            page = {
                "page": f"PG-{len(store.data['pages']) + 1}",
                "service": service,
                "paged": person["name"],
                "slack": person["slack"],
                "incident_id": incident_id,
                "message": message,
            }
            store.data["pages"].append(page)
            return page

        result: dict[str, Any] = store.once(ctx, "page_oncall", act)
        return result

    @server.tool(annotations=WRITES)
    def open_ticket(
        title: Annotated[str, Field(min_length=3, max_length=200)],
        service: str,
        ctx: Context,
        priority: Literal["P1", "P2", "P3", "P4"] = "P3",
        incident_id: str | None = None,
    ) -> dict[str, Any]:
        """Open a ticket in the team's tracker (e.g. for the follow-up of an incident)."""
        if incident_id is not None:
            store.incident(incident_id)

        def act() -> dict[str, Any]:
            ticket_id = f"TCK-{len(store.data['tickets']) + 1}"
            ticket = {"title": title, "service": service, "priority": priority}
            store.data["tickets"][ticket_id] = {**ticket, "incident_id": incident_id}
            return {"ticket": ticket_id, **ticket}

        result: dict[str, Any] = store.once(ctx, "open_ticket", act)
        return result


def main(argv: list[str] | None = None) -> None:
    """Run the server over stdio, or over streamable HTTP with `--http`."""
    parser = argparse.ArgumentParser(description="The example incidents MCP server.")
    parser.add_argument("--http", action="store_true", help="streamable HTTP instead of stdio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--state", default=os.environ.get("INCIDENTS_STATE"))
    args = parser.parse_args(argv)
    server = build(Store(args.state))
    if args.http:
        server.run("streamable-http", host=args.host, port=args.port)
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
