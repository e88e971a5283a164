"""The `oncall` agent: incidents, pages and tickets through an MCP server; Slack-first.

Its incident tools are not written here: they are the tools of an MCP server, declared in a
few lines below. By default the worker runs the bundled example server
(`agents/oncall/incidents_server.py`) over stdio; `HITLBOT_ONCALL_MCP_URL` points it at a
server over streamable HTTP instead. Approvals come from the tools' annotations (the ticket
and the resolution wait for a human), except where this agent says otherwise: paging and
acknowledging are what the on-call asked for, so they run at once.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.core.agent import Agent, SuggestedPrompt
from bot.core.tools import REQUEST_CHOICE
from bot.mcp.source import McpServer

HERE = Path(__file__).parent
URL_ENV = "HITLBOT_ONCALL_MCP_URL"
"""The MCP server over streamable HTTP, instead of the bundled one over stdio."""

INCIDENTS = McpServer(
    "incidents",
    command=(sys.executable, "-m", "hitlbot_agents.oncall.incidents_server"),
    url_env=URL_ENV,
    pass_env=("INCIDENTS_STATE",),
    approval={"page_oncall": False, "acknowledge_incident": False},
)
"""The incidents server: list_incidents, acknowledge_incident, page_oncall, open_ticket,
resolve_incident."""

AGENT = Agent(
    name="oncall",
    description="Pages the on-call, acknowledges incidents and opens tickets, via MCP.",
    prompt=HERE / "prompt.md",
    tools=(REQUEST_CHOICE,),
    mcp=(INCIDENTS,),
    suggested_prompts=(
        SuggestedPrompt("Open incidents", "Which incidents are open?"),
        SuggestedPrompt("Page the on-call", "Page the on-call about the checkout errors."),
    ),
)
