"""Edit before approve over the real app: the Slack Edit modal, and `args` on the HTTP API."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

from bot.config import Settings
from bot.core.audit import args_digest
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import Keys
from tests.conftest import APPROVER, APPROVER_2, ASKER, SLACK_SECRET, SlackDriver, app_client
from tests.helpers import snapshot, tool_results, wait_for

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}
EDITED = {"service": "api", "version": "1.4.1", "environment": "production"}


def form(service: str, version: str, environment: str) -> dict[str, Any]:
    """The Edit modal's state as Slack sends it: two text inputs and the select."""
    return {
        "arg:service": {"value": {"type": "plain_text_input", "value": service}},
        "arg:version": {"value": {"type": "plain_text_input", "value": version}},
        "arg:environment": {
            "value": {"type": "static_select", "selected_option": {"value": environment}}
        },
    }


async def submit(slack: SlackDriver, user: str, view: dict[str, Any], values: Any) -> Any:
    reply = await slack.send(
        signing.view_submission(user, view, values=values, signing_secret=SLACK_SECRET)
    )
    assert reply.status_code == 200, reply.text
    return reply.json() if reply.content not in (b"", b"{}") else None


async def test_edit_shows_errors_then_runs_the_edited_call_once(
    slack: SlackDriver,
    anthropic_stub: AnthropicStub,
    redis_client: Redis,
    slack_settings: Settings,
) -> None:
    stub = slack.stub
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    await slack.mention("deploy api 1.4.2 to production", user=APPROVER_2)
    view, card = await slack.pending()
    thread_id = view["id"]

    # The requester may not edit (no self-approval), nor may a stranger; nothing changes.
    before = await snapshot(redis_client, slack_settings)
    refusals = ((APPROVER_2, "You started this thread"), (ASKER, "can decide this"))
    for count, (user, why) in enumerate(refusals, start=1):
        assert (await slack.click(card, "edit", user=user)).status_code == 200
        await stub.wait_for("chat.postEphemeral", count)
        note = stub.ephemerals[-1]
        assert note.user == user and why in note.text
    assert not stub.views and await snapshot(redis_client, slack_settings) == before

    # An approver gets one input per field, prefilled with the proposal.
    assert (await slack.click(card, "edit", user=APPROVER)).status_code == 200
    await stub.wait_for("views.open")
    [modal] = stub.views.values()
    inputs = {b["block_id"]: b["element"] for b in modal["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["arg:service", "arg:version", "arg:environment"]
    assert inputs["arg:version"]["initial_value"] == "1.4.2"
    assert inputs["arg:environment"]["type"] == "static_select"
    assert inputs["arg:environment"]["initial_option"]["value"] == "production"

    # Invalid values: the modal says why per field, and nothing is recorded.
    before = await snapshot(redis_client, slack_settings)
    answer = await submit(slack, APPROVER, modal, form("api", "", "moon"))
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"arg:version", "arg:environment"}
    assert "required" in answer["errors"]["arg:version"].lower()
    assert "production" in answer["errors"]["arg:environment"]
    assert await snapshot(redis_client, slack_settings) == before
    # Someone else submitting the approver's form: it is not theirs.
    answer = await submit(slack, ASKER, modal, form("api", "1.4.1", "production"))
    assert answer["response_action"] == "errors" and "no longer valid" in json.dumps(answer)
    assert await snapshot(redis_client, slack_settings) == before

    # A valid edit approves, and the edited call is what runs, once.
    anthropic_stub.reply_tool("done_for_now", {"message": "1.4.1 is live"})
    assert await submit(slack, APPROVER, modal, form("api", "1.4.1", "production")) is None
    done = await wait_for(slack.api, thread_id, "done")
    again = await submit(slack, APPROVER, modal, form("api", "1.4.0", "production"))
    assert again["response_action"] == "errors"  # the form counted once

    [call] = [
        e for e in done["events"] if e["type"] == "tool_call" and e["name"] == "deploy_service"
    ]
    assert call["args"] == PRODUCTION  # the proposal stays on record
    [result] = tool_results(done, "deploy_service")
    assert result["result"] == {"status": "deployed", **EDITED, "call_id": call["call_id"]}
    deploys = await redis_client.hgetall(
        Keys(slack_settings.redis_prefix).agent("deploy", "deploys")
    )
    assert [json.loads(v)["version"] for v in deploys.values()] == ["1.4.1"]
    [response] = [e for e in done["events"] if e["type"] == "human_response"]
    assert response["edited_args"] == EDITED and response["user"] == APPROVER

    # The model is told the human edited the call.
    context = anthropic_stub.requests[-1].context
    assert "<human_response>\napproved: true\nedited_args:\n  service: api\n  version: 1.4.1" in (
        context
    )

    # The card and the audit show both, and the digest of what was approved.
    await stub.wait_for("chat.update")
    decided = json.dumps((stub.message(card.channel, card.ts) or card).blocks)
    assert f"Approved with edits by <@{APPROVER}>" in decided
    assert "1.4.1 _(was 1.4.2)_" in decided and args_digest(EDITED) in decided
    audit = (await slack.api.get(f"/threads/{thread_id}/audit")).json()["entries"]
    [entry] = [e for e in audit if e["event"] == "human_response"]
    assert entry["args_sha256"] == args_digest(EDITED)
    assert entry["proposed_args_sha256"] == args_digest(PRODUCTION)
    assert entry["edited_args"] == EDITED


async def test_the_api_takes_edited_args_with_the_same_validation(
    settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "live"})
    async with app_client(settings) as api:
        launched = await api.post("/threads", json={"agent": "deploy", "message": "ship"})
        thread_id = launched.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        request_id = view["pending_request"]["request_id"]
        url = f"/threads/{thread_id}/responses"
        before = await snapshot(redis_client, settings)
        for body, why in (
            ({"approved": True, "args": {**PRODUCTION, "environment": "moon"}}, "environment"),
            ({"approved": False, "args": EDITED}, "approved: true"),
        ):
            refused = await api.post(url, json={"request_id": request_id, "user": "ops", **body})
            assert refused.status_code == 422 and why in refused.json()["detail"]
        assert await snapshot(redis_client, settings) == before
        body = {"request_id": request_id, "user": "ops", "approved": True, "args": EDITED}
        assert (await api.post(url, json=body)).status_code == 202
        done = await wait_for(api, thread_id, "done")
    [result] = tool_results(done, "deploy_service")
    assert result["result"]["version"] == "1.4.1"
