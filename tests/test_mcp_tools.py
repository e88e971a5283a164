"""MCP tool sources: schemas as pydantic models, approvals from annotations, and the example
server run for real over stdio (killed and restarted) and over streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from agents.oncall.agent import AGENT as ONCALL
from agents.oncall.agent import INCIDENTS, URL_ENV
from bot.core.policy import Rule
from bot.core.tools import ToolContext, ToolError
from bot.mcp.client import MAX_TOOL_PAGES, McpConnection, McpUnavailable
from bot.mcp.hub import McpHub
from bot.mcp.schema import SchemaError, args_model
from bot.mcp.source import McpServer, needs_approval, redact
from bot.store.agentstore import AgentStore
from tests.mcp_support import down_url, http_server, state, wait_for_state

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "service": {"type": "string", "minLength": 1},
        "status": {"enum": ["open", "resolved"], "default": "open"},
        "limit": {"type": "integer", "minimum": 1, "maximum": 50},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "class": {"type": "string"},
        "where": {"$ref": "#/$defs/Where"},
    },
    "required": ["service"],
    "$defs": {
        "Where": {
            "type": "object",
            "properties": {"region": {"type": "string"}},
            "required": ["region"],
            "additionalProperties": False,
        }
    },
}


def test_a_schema_becomes_a_model_that_validates_as_the_server_would() -> None:
    model = args_model("list", SCHEMA)
    args = model.model_validate({"service": "payments", "class": "x", "where": {"region": "eu"}})
    # Left-out optional arguments stay out (the server never allowed null for them).
    assert args.model_dump(mode="json") == {
        "service": "payments",
        "status": "open",
        "class": "x",
        "where": {"region": "eu"},
    }
    for bad in (
        {"service": ""},
        {"service": "a", "status": "closed"},
        {"service": "a", "limit": True},
        {"service": "a", "limit": "3"},
        {"service": "a", "limit": 99},
        {"service": "a", "tags": ["x", "y", "z"]},
        {"service": "a", "where": {"region": "eu", "zone": 1}},
        {"status": "open"},
    ):
        with pytest.raises(ValidationError):
            model.model_validate(bad)


@pytest.mark.parametrize(
    ("schema", "said"),
    [
        ({"type": "object", "properties": {"a": {"allOf": [{"type": "string"}]}}}, "allOf"),
        ({"type": "object", "properties": {"a": {"$ref": "http://x/s.json"}}}, "local $refs"),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/Nope"}}}, "points at nothing"),
        ({"type": "object", "patternProperties": {"^x": {}}}, "patternProperties"),
        ({"type": "array"}, "expected an object schema"),
        ({"type": "object", "properties": {"a": {"type": "date"}}}, "unknown type"),
    ],
)
def test_what_the_converter_does_not_support_is_refused_saying_where(
    schema: dict[str, Any], said: str
) -> None:
    with pytest.raises(SchemaError, match=re.escape(said)) as refused:
        args_model("t", schema)
    assert "MCP tool 't'" in str(refused.value)


@pytest.mark.parametrize(
    ("read_only", "destructive", "override", "needed"),
    [
        (True, False, None, False),
        (True, None, None, False),
        (False, False, None, True),
        (None, None, None, True),  # no annotations: the spec's defaults, writes and destroys
        (True, True, None, True),  # contradictory: the cautious reading
        (False, True, False, False),  # the agent's word wins
        (True, False, True, True),
    ],
)
def test_approval_comes_from_the_annotations_unless_the_agent_says(
    read_only: bool | None, destructive: bool | None, override: bool | None, needed: bool
) -> None:
    class Hints:
        read_only_hint = read_only
        destructive_hint = destructive

    assert needs_approval(Hints(), override) is needed


def context(call_id: str) -> ToolContext:
    # The MCP tools use neither the store, HTTP nor the settings: only the call id.
    unused: Any = None
    return ToolContext(
        call_id=call_id, thread_id="th_x", store=unused, http=unused, settings=unused
    )


async def test_stdio_tools_are_hitlbot_tools_and_a_dead_server_is_restarted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "incidents.json"
    monkeypatch.setenv("INCIDENTS_STATE", str(file))
    monkeypatch.delenv(URL_ENV, raising=False)
    hub = McpHub()
    try:
        tools = await hub.all_tools(ONCALL)
        assert list(tools) == [
            "request_choice",
            "list_incidents",
            "acknowledge_incident",
            "resolve_incident",
            "page_oncall",
            "open_ticket",
            "request_more_information",
            "done_for_now",
        ]
        approval = {name: tool.approval for name, tool in tools.items() if tool.run is not None}
        assert approval == {
            "list_incidents": False,  # readOnlyHint
            "acknowledge_incident": False,  # the agent's override
            "page_oncall": False,  # the agent's override
            "open_ticket": True,  # readOnlyHint false
            "resolve_incident": True,  # destructiveHint
        }
        # The model is shown the server's own schema.
        assert tools["open_ticket"].schema()["input_schema"]["required"] == ["title", "service"]

        page = tools["page_oncall"]
        args = page.args.model_validate({"service": "payments", "message": "EU cards fail"})
        first = await page.run(args, context("call_1"))  # type: ignore[misc]
        again = await page.run(args, context("call_1"))  # type: ignore[misc]
        assert first == again and first["paged"] == "Priya"
        assert len(state(file)["pages"]) == 1  # deduped on the idempotency key

        with pytest.raises(ToolError, match="no on-call rota for 'billing'"):
            bad = page.args.model_validate({"service": "billing", "message": "hello"})
            await page.run(bad, context("call_2"))  # type: ignore[misc]

        connection = hub.connection("oncall", INCIDENTS)
        assert connection.connects == 1
        await hub.all_tools(ONCALL)
        assert connection.connects == 1  # the list is cached: no round trip per step
        pid = state(file)["pid"]
        os.kill(pid, signal.SIGKILL)
        # The call id of a call cut off by the death: the restarted server dedupes it too.
        again = await page.run(args, context("call_1"))  # type: ignore[misc]
        assert again == first
        assert connection.connects == 2
        assert state(file)["pid"] != pid
        third = await page.run(args, context("call_3"))  # type: ignore[misc]
        assert third["page"] == "PG-2"
        new_pid = state(file)["pid"]
    finally:
        await hub.aclose()
    await _gone(new_pid)


async def _gone(pid: int) -> None:
    import asyncio

    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the stdio server {pid} still runs after close")


async def test_streamable_http_tools_and_their_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "incidents.json"
    async with http_server(file) as url:
        monkeypatch.setenv(URL_ENV, url)
        hub = McpHub()
        try:
            tools = await hub.all_tools(ONCALL)
            listing = tools["list_incidents"]
            found = await listing.run(  # type: ignore[misc]
                listing.args.model_validate({"service": "payments"}), context("c1")
            )
            assert [incident["id"] for incident in found] == ["INC-102", "INC-101"]
            ack = tools["acknowledge_incident"]
            with pytest.raises(ToolError, match="no incident 'INC-999'"):
                await ack.run(ack.args.model_validate({"incident_id": "INC-999"}), context("c2"))  # type: ignore[misc]
            done = await ack.run(ack.args.model_validate({"incident_id": "INC-101"}), context("c3"))  # type: ignore[misc]
            assert done == {"id": "INC-101", "status": "acknowledged"}
            await wait_for_state(
                file, lambda s: s["incidents"]["INC-101"]["status"] == "acknowledged"
            )
        finally:
            await hub.aclose()


async def test_a_server_that_is_down_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    hub = McpHub()
    server = McpServer("incidents", url=down_url(), timeout_s=5)
    agent = ONCALL.__class__(
        name="oncall", description="", prompt=ONCALL.prompt, tools=(), mcp=(server,)
    )
    with pytest.raises(McpUnavailable, match="MCP server 'incidents' .* is unreachable"):
        await hub.all_tools(agent)
    assert hub.known(agent).keys() == {"request_more_information", "done_for_now"}
    await hub.aclose()


SECRETS = ("tokuser", "S3CRETPW", "tok_SECRET123", "SECRETKEY", "SECRETARG123", "SECRETENV9")


@pytest.mark.parametrize(
    ("server", "shown", "cause"),
    [
        (
            McpServer(
                "hosted",
                url=down_url()
                .replace("http://", "http://tokuser:S3CRETPW@")
                .replace("/mcp", "/v1/tok_SECRET123/mcp?api_key=SECRETKEY"),
                timeout_s=5,
            ),
            "(http 127.0.0.1:",
            "ConnectError: All connection attempts failed",
        ),
        (
            McpServer(
                "local",
                command=("/nonexistent/mcp-server", "--token", "SECRETARG123"),
                env={"API_KEY": "SECRETENV9"},
                timeout_s=5,
            ),
            "(stdio mcp-server)",
            "No such file or directory",
        ),
    ],
)
async def test_an_unreachable_server_is_named_without_its_credentials(
    server: McpServer, shown: str, cause: str
) -> None:
    """Once the whole URL or command line, and "unhandled errors in a TaskGroup"; the message
    becomes an error event: seen by the model, the API, and the thread's people."""
    hub = McpHub()
    agent = ONCALL.__class__(
        name="oncall", description="", prompt=ONCALL.prompt, tools=(), mcp=(server,)
    )
    try:
        with pytest.raises(McpUnavailable) as refused:
            await hub.all_tools(agent)
    finally:
        await hub.aclose()
    said = str(refused.value)
    assert said.startswith(f"MCP server {server.name!r} {shown}"), said
    assert cause in said and "TaskGroup" not in said, said
    assert not [secret for secret in SECRETS if secret in said], said


def test_redact_cuts_urls_to_their_host() -> None:
    said = "Client error '401' for url 'https://u:p@mcp.example.com:8443/s/tok?key=abc'."
    assert redact(said) == "Client error '401' for url 'https://mcp.example.com:8443/…'."
    assert redact("run x --token SECRETARG123 now", ["SECRETARG123"]) == "run x --token … now"


async def test_a_server_that_pages_its_tools_forever_is_refused() -> None:
    server = McpServer(
        "endless", command=(sys.executable, "-m", "tests.endless_tools_server"), timeout_s=20
    )
    connection = McpConnection(server)
    try:
        with pytest.raises(McpUnavailable, match=f"goes on past {MAX_TOOL_PAGES} pages"):
            await connection.list_tools()
    finally:
        await connection.close()


def test_rules_declared_for_an_mcp_tool_are_its_rules() -> None:
    server = McpServer("x", command=("true",), rules={"open_ticket": Rule(quorum=2)})
    assert server.rules["open_ticket"].quorum == 2


_ = AgentStore  # the type of ToolContext.store, unused by MCP tools


def test_the_operator_policy_sets_approval_of_an_mcp_tool(tmp_path: Path) -> None:
    from bot.runtime.discovery import shipped

    AGENTS = shipped()
    from bot.policyfile import PolicyError, load_policy

    file = tmp_path / "policy.toml"
    file.write_text(
        "[oncall.open_ticket]\napproval = false\n\n[oncall.page_oncall]\napproval = true\n"
    )
    policy = load_policy(str(file), AGENTS)
    assert policy.rule("oncall", "open_ticket", Rule()).approval is False
    assert policy.rule("oncall", "page_oncall", Rule()).approval is True
    assert policy.rule("oncall", "list_incidents", Rule()).approval is None  # the tool's own
    file.write_text("[deploy.open_ticket]\napproval = false\n")  # deploy has no MCP servers
    with pytest.raises(PolicyError, match="has no tool 'open_ticket'"):
        load_policy(str(file), AGENTS)
    file.write_text('[oncall.open_ticket]\napproval = "maybe"\n')
    with pytest.raises(PolicyError, match="approval"):
        load_policy(str(file), AGENTS)


def test_a_policy_rule_for_a_tool_the_server_does_not_list_refuses_the_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once such a rule (a typo: `open_tiket`) loaded and was never checked: the call it meant
    ran under the tool's own rule. Now the agent's threads are refused, in the worker (the
    step fails, saying why) and on `hitlbot dev`'s banner."""
    from bot.runtime.discovery import shipped

    AGENTS = shipped()
    from bot.config import NotConfigured, Settings
    from bot.dev.server import policy_notes
    from bot.policyfile import load_policy

    monkeypatch.setenv("INCIDENTS_STATE", str(tmp_path / "incidents.json"))
    monkeypatch.delenv(URL_ENV, raising=False)
    file = tmp_path / "policy.toml"
    file.write_text("[oncall.open_tiket]\napproval = false\n\n[oncall.open_ticket]\nquorum = 2\n")
    policy = load_policy(str(file), AGENTS)  # the names are known only once listed

    async def listed() -> None:
        hub = McpHub(policy)
        try:
            with pytest.raises(NotConfigured, match="rules for 'open_tiket' of agent 'oncall'"):
                await hub.all_tools(ONCALL)
            with pytest.raises(NotConfigured, match="its threads are refused"):
                await hub.all_tools(ONCALL)  # every step of its threads, not only the first
            assert hub.connection("oncall", INCIDENTS).connects == 1
        finally:
            await hub.aclose()

    asyncio.run(listed())
    [note] = policy_notes(Settings(_env_file=None, HITLBOT_POLICY=str(file)))
    assert note.startswith("Policy: REFUSED agent 'oncall': HITLBOT_POLICY has rules for")
    file.write_text("[oncall.open_ticket]\nquorum = 2\n")  # the names it lists: nothing said
    assert policy_notes(Settings(_env_file=None, HITLBOT_POLICY=str(file))) == []

    async def fixed() -> None:
        hub = McpHub(load_policy(str(file), AGENTS))
        try:
            assert "open_ticket" in await hub.all_tools(ONCALL)
        finally:
            await hub.aclose()

    asyncio.run(fixed())
