"""The `oncall` agent end to end: the real app and worker, real Redis, the Slack stand-in,
and the real example MCP server (stdio, started by the worker; or streamable HTTP)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from hitlbot_agents.oncall.agent import URL_ENV
from tests.conftest import APPROVER, ASKER, SlackDriver, app_client
from tests.helpers import tool_results, types, wait_for
from tests.mcp_support import down_url, http_server, state

ONCALL_CHANNEL = "CONCALL"


async def _until(condition: Callable[[], object], timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def incidents_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stdio server's state file (the worker hands INCIDENTS_STATE on to it)."""
    file = tmp_path / "incidents.json"
    monkeypatch.setenv("INCIDENTS_STATE", str(file))
    monkeypatch.delenv(URL_ENV, raising=False)
    return file


async def test_slack_mention_choice_page_ticket_approval_done(
    slack_settings: Settings, slack_stub: SlackStub, incidents_file: Path
) -> None:
    """Mention in the oncall channel -> list_incidents (MCP) -> choice buttons -> a click ->
    page_oncall (MCP, at once) -> open_ticket's approval card (from its annotations) ->
    Approve -> the ticket opened through MCP -> done; played by the offline model."""
    settings = slack_settings.model_copy(
        update={"model": "offline", "slack_routes": f"{ONCALL_CHANNEL}=oncall"}
    )
    async with app_client(settings) as client:
        slack = SlackDriver(api=client, stub=slack_stub)
        mention = await slack.mention("page the on-call for payments", channel=ONCALL_CHANNEL)
        view, question = await slack.pending()
        assert view["agent"] == "oncall" and view["status"] == "waiting_human"
        assert [e["name"] for e in view["events"] if e["type"] == "tool_call"] == [
            "list_incidents",
            "request_choice",
        ]
        request_id = view["pending_request"]["request_id"]
        buttons = [b for b in question.blocks if b["type"] == "actions"][0]["elements"]
        assert [b["text"]["text"] for b in buttons] == [
            "INC-102: Refund queue delayed by 20 minutes",
            "INC-101: Card payments failing for EU customers",
            "None of these: a new problem",
        ]
        assert {b["value"] for b in buttons} == {request_id}  # an opaque request id only
        assert question.thread_ts == mention["ts"]

        # Someone the choice is not for: told so, and nothing changes.
        await slack.click(question, "choice:1", user="UBYSTANDER")
        await _until(lambda: len(slack_stub.ephemerals) == 1)
        assert "can pick this" in slack_stub.ephemerals[0].text
        assert (await slack.thread(view["id"]))["status"] == "waiting_human"
        # A reply naming no choice is kept, not taken.
        await slack.reply("the big one", mention["ts"], channel=ONCALL_CHANNEL)
        await _until(lambda: len(slack_stub.ephemerals) == 2)
        assert "Pick one of the buttons" in slack_stub.ephemerals[1].text
        assert (await slack.thread(view["id"]))["status"] == "waiting_human"

        # The thread's human picks: the card updates in place, the thread goes on.
        assert (await slack.click(question, "choice:1", user=ASKER)).status_code == 200
        view, card = await slack.pending()
        assert view["status"] == "waiting_approval"
        picked = slack_stub.message(question.channel, question.ts)
        assert picked is not None and picked.edited
        assert not [b for b in picked.blocks if b["type"] == "actions"]
        assert f"<@{ASKER}> picked: INC-101" in json.dumps(picked.blocks)
        [page] = tool_results(view, "page_oncall")
        assert page["result"]["paged"] == "Priya" and page["result"]["incident_id"] == "INC-101"
        assert "Approval needed: open_ticket" in json.dumps(card.blocks)
        assert len(state(incidents_file)["pages"]) == 1
        assert state(incidents_file)["tickets"] == {}  # nothing opened before the approval

        # A second click on the answered choice changes nothing (exactly once).
        await slack.click(question, "choice:0", user=ASKER)
        await _until(lambda: len(slack_stub.ephemerals) == 3)
        assert "Already answered" in slack_stub.ephemerals[2].text

        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        view = await wait_for(client, view["id"], "done")
        [ticket] = tool_results(view, "open_ticket")
        assert ticket["result"]["ticket"] == "TCK-1"
        # `done` is the status once the final answer is committed; its delivery's
        # `request_sent` may be committed a moment later, so find the answer by its type.
        [done] = [e for e in view["events"] if e["type"] == "done"]
        assert "Paged Priya (payments) about INC-101" in done["message"]
        assert "TCK-1" in done["message"]
        saved = state(incidents_file)
        assert saved["tickets"]["TCK-1"]["incident_id"] == "INC-101"
        # Each call reached the server with its call id as the idempotency key.
        assert f"open_ticket:{ticket['call_id']}" in saved["done"]
        assert f"page_oncall:{page['call_id']}" in saved["done"]
        decided = slack_stub.message(card.channel, card.ts)
        assert decided is not None and f"Approved by <@{APPROVER}>" in json.dumps(decided.blocks)


async def test_a_server_that_is_down_gives_errors_then_asks_a_human(
    settings: Settings, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, down_url())
    async with app_client(settings) as api:
        launched = await api.post("/threads", json={"agent": "oncall", "message": "page payments"})
        view = await wait_for(api, launched.json()["thread_id"], "waiting_human")
    errors = [e for e in view["events"] if e["type"] == "error"]
    assert len(errors) == 3
    assert all("MCP server 'incidents'" in e["message"] for e in errors)
    assert "unreachable" in errors[0]["message"]
    assert "I keep failing" in view["pending_request"]["message"]
    assert anthropic_stub.requests == []  # no model call without the tools it would be shown


async def test_over_http_a_listed_tool_runs_and_open_ticket_waits_for_approval(
    settings: Settings,
    anthropic_stub: AnthropicStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    file = tmp_path / "incidents.json"
    async with http_server(file) as url:
        monkeypatch.setenv(URL_ENV, url)
        async with app_client(settings) as api:
            anthropic_stub.reply_tool("list_incidents", {"service": "search"})
            ticket = {"title": "Search latency follow-up", "service": "search", "priority": "P2"}
            anthropic_stub.reply_tool("open_ticket", ticket | {"reason": "follow-up"})
            launched = await api.post(
                "/threads", json={"agent": "oncall", "message": "ticket for search"}
            )
            thread_id = launched.json()["thread_id"]
            view = await wait_for(api, thread_id, "waiting_approval")
            assert [r["result"][0]["id"] for r in tool_results(view, "list_incidents")] == [
                "INC-201"
            ]
            tools = [t["name"] for t in anthropic_stub.requests[0].body["tools"]]
            assert "open_ticket" in tools and "request_choice" in tools
            assert state(file)["tickets"] == {}
            anthropic_stub.reply_tool("done_for_now", {"message": "Opened TCK-1."})
            request_id = view["pending_request"]["request_id"]
            answer = {"request_id": request_id, "approved": True, "user": APPROVER}
            reply = await api.post(f"/threads/{thread_id}/responses", json=answer)
            assert reply.status_code == 202, reply.text
            view = await wait_for(api, thread_id, "done")
    [result] = tool_results(view, "open_ticket")
    assert result["result"] == {"ticket": "TCK-1", **ticket}
    assert types(view).count("error") == 0


async def test_api_and_email_fallback_the_answer_must_name_a_choice(
    settings: Settings, anthropic_stub: AnthropicStub, incidents_file: Path
) -> None:
    async with app_client(settings) as api:
        choices = ["INC-101", "INC-102"]
        anthropic_stub.reply_tool("request_choice", {"message": "Which?", "choices": choices})
        launched = await api.post(
            "/threads", json={"agent": "oncall", "message": "page payments", "user": "ana"}
        )
        thread_id = launched.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_human")
        request_id = view["pending_request"]["request_id"]
        post = _poster(api, thread_id, request_id)
        refused = await post("the other one")
        assert refused.status_code == 422 and "pick one of: INC-101; INC-102" in refused.text
        anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
        assert (await post(" inc-102 ")).status_code == 202
        view = await wait_for(api, thread_id, "done")
    [answer] = [e for e in view["events"] if e["type"] == "human_response"]
    assert answer["answer"] == "INC-102"  # stored as the choice itself


def _poster(api: httpx.AsyncClient, thread_id: str, request_id: str) -> Callable[[str], object]:
    async def post(text: str) -> httpx.Response:
        body = {"request_id": request_id, "answer": text, "user": "ana"}
        return await api.post(f"/threads/{thread_id}/responses", json=body)

    return post  # type: ignore[return-value]


async def test_the_operator_policy_overrides_the_annotations(
    settings: Settings, anthropic_stub: AnthropicStub, incidents_file: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text("[oncall.open_ticket]\napproval = false\n")
    settings = settings.model_copy(update={"policy_file": str(policy)})
    ticket = {"title": "Search latency follow-up", "service": "search"}
    anthropic_stub.reply_tool("open_ticket", ticket)
    anthropic_stub.reply_tool("done_for_now", {"message": "Opened."})
    async with app_client(settings) as api:
        launched = await api.post("/threads", json={"agent": "oncall", "message": "ticket"})
        view = await wait_for(api, launched.json()["thread_id"], "done")
    assert "human_request" not in types(view)  # no approval: the operator said so
    [result] = tool_results(view, "open_ticket")
    assert result["result"]["ticket"] == "TCK-1"
    assert state(incidents_file)["tickets"]["TCK-1"]["title"] == ticket["title"]


async def test_a_policy_naming_a_tool_the_server_does_not_list_fails_the_agents_threads(
    settings: Settings, anthropic_stub: AnthropicStub, incidents_file: Path, tmp_path: Path
) -> None:
    """A typo in the policy (`open_tiket`) once left `open_ticket` under its own rule, no
    approval asked for what the operator meant to guard; now the thread fails, saying why."""
    policy = tmp_path / "policy.toml"
    policy.write_text("[oncall.open_tiket]\napproval = true\n")
    settings = settings.model_copy(update={"policy_file": str(policy)})
    anthropic_stub.reply_tool("open_ticket", {"title": "x", "service": "search"})
    async with app_client(settings) as api:
        launched = await api.post("/threads", json={"agent": "oncall", "message": "ticket"})
        view = await wait_for(api, launched.json()["thread_id"], "failed")
    assert "rules for 'open_tiket' of agent 'oncall'" in view["error"]
    assert anthropic_stub.requests == []  # refused before any model call
    assert "tickets" not in state(incidents_file) or not state(incidents_file)["tickets"]
