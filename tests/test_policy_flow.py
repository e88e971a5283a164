"""The approval policy over the real app: Slack quorum, self-approval, API decisions."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.slack.groups import GroupMembers
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from tests.conftest import APPROVER, APPROVER_2, ASKER, SlackDriver, app_client
from tests.email_support import wait_delivered
from tests.helpers import snapshot, tool_results, types, wait_for

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}
THIRD = "UAPPROVER3"


def text_of(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks)


@pytest.fixture
def quorum_settings(slack_settings: Settings, tmp_path: Path) -> Settings:
    policy = tmp_path / "policy.toml"
    policy.write_text(
        f'[deploy.deploy_service]\napprovers = ["{APPROVER}", "{APPROVER_2}", "{THIRD}"]\n'
        "quorum = 2\n"
    )
    return slack_settings.model_copy(
        update={
            "policy_file": str(policy),
            "slack_approvers": f"{APPROVER},{APPROVER_2},{THIRD}",
        }
    )


async def test_two_of_three_with_concurrent_clicks(
    quorum_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(quorum_settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        await slack.mention("deploy api 1.4.2 to production")
        view, card = await slack.pending()
        assert "Needs 2 approvals." in text_of(card.blocks)
        assert '"action_id": "edit"' not in text_of(card.blocks)  # edits are for quorum 1
        edit = {
            "request_id": view["pending_request"]["request_id"],
            "user": APPROVER,
            "approved": True,
            "args": {**PRODUCTION, "version": "1.4.1"},
        }
        refused = await api.post(f"/threads/{view['id']}/responses", json=edit)
        assert refused.status_code == 422 and "needs 2 approvals" in refused.json()["detail"]
        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        await slack_stub.wait_for("chat.update", 1)
        card = slack_stub.message(card.channel, card.ts) or card
        assert f"1 of 2 approvals: <@{APPROVER}>" in text_of(card.blocks)
        assert any(
            e.get("action_id") == "approve" for b in card.blocks for e in b.get("elements", [])
        )
        assert (await slack.thread(view["id"]))["status"] == "waiting_approval"
        await slack.click(card, "approve", user=APPROVER)  # again: counted once
        # The two others click at once: exactly one of them completes the quorum.
        await asyncio.gather(
            slack.click(card, "approve", user=APPROVER_2), slack.click(card, "approve", user=THIRD)
        )
        view = await wait_for(api, view["id"], "done")
        audit = (await api.get(f"/threads/{view['id']}/audit")).json()["entries"]
    assert types(view).count("approval_vote") == 1 and types(view).count("human_response") == 1
    assert len(tool_results(view, "deploy_service")) == 1
    notes = [n.text for n in slack_stub.ephemerals]
    assert any("has approved already (1 of 2 approvals)" in n for n in notes)
    assert any(n.startswith("Already approved by") for n in notes)
    final = slack_stub.message(card.channel, card.ts)
    assert final is not None and f"Approved by <@{APPROVER}>, <@" in text_of(final.blocks)
    decisions = [e for e in audit if e["event"] in ("approval_vote", "human_response")]
    assert [e["user"] for e in decisions][0] == APPROVER
    assert all(e["tool"] == "deploy_service" and len(e["args_sha256"]) == 64 for e in decisions)


async def test_the_requester_cannot_approve_their_own_deploy(
    slack: SlackDriver, anthropic_stub: AnthropicStub, redis_client: Redis, slack_settings: Settings
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    await slack.mention("deploy api 1.4.2 to production", user=APPROVER)
    view, card = await slack.pending()
    before = await snapshot(redis_client, slack_settings)
    assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
    await slack.stub.wait_for("chat.postEphemeral", 1)
    [note] = slack.stub.ephemerals
    assert note.user == APPROVER and "You started this thread" in note.text
    assert await snapshot(redis_client, slack_settings) == before
    await slack.click(card, "approve", user=APPROVER_2)  # someone else may
    await wait_for(slack.api, view["id"], "running", "done")


KEYS = {
    ASKER: "key-asker-0000000001",
    APPROVER: "key-approver-000001",
    APPROVER_2: "key-approver-000002",
}
"""Each person's own API key (`HITLBOT_API_KEYS`)."""


def keyed(settings: Settings, **more: Any) -> Settings:
    """`settings` with a key per person and one for a service, decisions not trusted."""
    spec = (
        ",".join(f"{key}={user}" for user, key in KEYS.items()) + ",key-ci-service-00001=service:ci"
    )
    update = {"api_keys": spec, "api_trusted_decisions": False, **more}
    return Settings.model_validate(settings.model_dump(by_alias=False) | update)


def as_(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[user]}"}


async def test_api_decisions_are_the_credentials_identity(
    slack_settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    strict = keyed(slack_settings)
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(strict) as api:
        launched = await api.post(
            "/threads", json={"agent": "deploy", "message": "ship"}, headers=as_(APPROVER)
        )
        thread_id = launched.json()["thread_id"]
        # Its card posted and recorded: nothing else writes while the refusals are checked.
        view = await wait_delivered(api, thread_id, "waiting_approval")
        request_id = view["pending_request"]["request_id"]
        assert view["pending_request"]["excluded"] == [APPROVER]  # the key's identity asked
        before = await snapshot(redis_client, strict)
        body = {"request_id": request_id, "approved": True}
        refusals = (
            ({}, "operator may not decide this: they are not one of its approvers"),
            (as_(ASKER), "not one of its approvers"),
            (as_(APPROVER), "started this thread"),
            ({"Authorization": "Bearer key-ci-service-00001"}, "a service identity"),
            # A key decides as its identity, whoever the body names.
            (as_(ASKER) | {"x": "1"}, f"acts as {ASKER}"),
        )
        for headers, why in refusals:
            named = body | ({"user": APPROVER_2} if "x" in headers else {})
            refused = await api.post(f"/threads/{thread_id}/responses", json=named, headers=headers)
            assert refused.status_code == 403 and why in refused.json()["detail"], refused.text
        assert await snapshot(redis_client, strict) == before
        decided = await api.post(
            f"/threads/{thread_id}/responses", json=body, headers=as_(APPROVER_2)
        )
        assert decided.status_code == 202
        assert decided.json()["approvals"] == {"count": 1, "needed": 1}
        await wait_for(api, thread_id, "done")
        audit = (await api.get(f"/threads/{thread_id}/audit")).json()["entries"]
    [decision] = [e for e in audit if e["event"] == "human_response"]
    assert decision["user"] == APPROVER_2 and decision["client"].startswith(f"{APPROVER_2}#")
    [launch] = [e for e in audit if e["event"] == "user_message"]
    assert launch["user"] == APPROVER and launch["client"].startswith(f"{APPROVER}#")
    assert KEYS[APPROVER_2] not in json.dumps(audit)


async def test_one_key_cannot_meet_a_quorum_of_two(
    quorum_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    async with app_client(keyed(quorum_settings)) as api:
        launched = await api.post(
            "/threads", json={"agent": "deploy", "message": "ship"}, headers=as_(ASKER)
        )
        thread_id = launched.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        url = f"/threads/{thread_id}/responses"
        body = {"request_id": view["pending_request"]["request_id"], "approved": True}
        first = await api.post(url, json=body | {"user": APPROVER}, headers=as_(APPROVER))
        assert first.json()["approvals"] == {"count": 1, "needed": 2}
        # The same key again, and naming the other approver: neither is a second approval.
        again = await api.post(url, json=body, headers=as_(APPROVER))
        assert again.status_code == 409 and "approved already" in again.json()["detail"]
        other = await api.post(url, json=body | {"user": APPROVER_2}, headers=as_(APPROVER))
        assert other.status_code == 403
        assert (await api.get(f"/threads/{thread_id}")).json()["status"] == "waiting_approval"


async def test_a_custom_catalog_and_refusals_at_start(
    settings: Settings,
    anthropic_stub: AnthropicStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    catalog = tmp_path / "catalog.json"
    catalog.write_text('{"search": ["3.0.0"]}')
    monkeypatch.setenv("HITLBOT_DEPLOY_CATALOG", str(catalog))
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    async with app_client(settings) as api:
        launched = await api.post("/threads", json={"agent": "deploy", "message": "what is there?"})
        view = await wait_for(api, launched.json()["thread_id"], "done")
    assert tool_results(view, "list_services")[0]["result"] == ["search"]
    # The processes refuse to start on a bad file, saying which, where and why.
    catalog.write_text('{"search": [\n  3.0\n]}')
    refused = hitlbot("worker", REDIS_URL=settings.redis_url or "")
    assert refused.returncode == 2 and "agent deploy" in refused.stderr
    assert f"{catalog}:1: expected" in refused.stderr
    catalog.write_text('{"search": ["3.0.0"]}')
    policy = tmp_path / "policy.toml"
    policy.write_text("[deploy.deploy_service]\nquorum = -1\n")
    refused = hitlbot("web", "--port", "9", HITLBOT_POLICY=str(policy))
    assert refused.returncode == 2
    assert f"{policy}:2: deploy.deploy_service.quorum" in refused.stderr


def hitlbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real command in its own process (it configures logging for the process)."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_a_slack_user_group_approves(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[deploy.deploy_service]\ngroups = ["S0SRE"]\n')
    settings = slack_settings.model_copy(
        update={"policy_file": str(policy), "slack_approvers": ""}  # the group stands alone
    )
    slack_stub.set_usergroup("S0SRE", [THIRD])
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        await slack.mention("deploy api 1.4.2 to production")
        view, card = await slack.pending()
        await slack.click(card, "approve", user=APPROVER)  # not in the group
        await slack_stub.wait_for("chat.postEphemeral", 1)
        assert f"Only <@{THIRD}> can decide this" in slack_stub.ephemerals[0].text
        await slack.click(card, "approve", user=THIRD)
        await wait_for(api, view["id"], "done")
    assert len(slack_stub.calls_to("usergroups.users.list")) == 1  # read once, then cached


async def test_group_members_are_cached_briefly_and_fail_closed(slack_stub: SlackStub) -> None:
    now = [0.0]
    client = AsyncWebClient(token="xoxb-test", base_url=slack_stub.api_url)
    groups = GroupMembers(client, ttl_s=60, clock=lambda: now[0])
    slack_stub.set_usergroup("S0A", ["U1", "U2"])
    assert await groups.members(["S0A"]) == {"U1", "U2"}
    slack_stub.set_usergroup("S0A", ["U3"])
    assert await groups.members(["S0A"]) == {"U1", "U2"}  # within the TTL
    now[0] = 61
    assert await groups.members(["S0A", "S0MISSING"]) == {"U3"}  # an unknown group: nobody
    assert await GroupMembers(None).members(["S0A"]) == frozenset()
