"""External calls' lifecycle around the SDK: restarts, deadlines, long-polls, the response
webhook and the audit, against the real app, worker, Redis and the Slack stand-in."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from humanlayer import FunctionCallSpec, HumanContactSpec
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.config import Settings
from bot.humanlayer.webhook import SIGNATURE_HEADER, verify
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from tests.conftest import APPROVER, APPROVER_2, SlackDriver, app_client, serve
from tests.humanlayer_support import pending, sdk, until


async def test_a_call_survives_a_restart_of_every_process(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    async with app_client(slack_settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        hl = sdk(slack)
        spec = FunctionCallSpec(fn="migrate", kwargs={"db": "orders"}, state={"step": 3})
        await asyncio.to_thread(hl.create_function_call, spec, "call-restart")
        _, card = await pending(slack)
    async with app_client(slack_settings) as api:  # web and worker, new processes' state
        slack = SlackDriver(api=api, stub=slack_stub)
        hl = sdk(slack)
        assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
        call = await asyncio.to_thread(hl.get_function_call, "call-restart")
        assert call.status is not None and call.status.approved is True
        assert call.spec.state == {"step": 3}
        [thread] = await slack.threads()
        await until(lambda: slack_stub.message(card.channel, card.ts).edited)  # type: ignore[union-attr]
        audit = (await api.get(f"/threads/{thread['id']}/audit")).json()["entries"]
        assert [e["event"] for e in audit] == ["human_request", "human_response", "done"]
        decision = audit[1]
        assert (decision["user"], decision["approved"], decision["tool"]) == (
            APPROVER,
            True,
            "migrate",
        )
        assert decision["args_sha256"]


async def test_an_expired_call_is_denied_with_a_comment(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("external:\n  purge:\n    expire_after: 0.3s\n")
    # Deadlines are swept about every step lease.
    settings = slack_settings.model_copy(update={"policy_file": str(policy), "step_lease_s": 0.5})
    async with app_client(settings) as api:
        hl = sdk(SlackDriver(api=api, stub=slack_stub))

        @hl.require_approval()
        def purge(bucket: str) -> str:
            raise AssertionError("expired: must not run")

        said = await asyncio.wait_for(asyncio.to_thread(purge, bucket="logs"), 15)
        assert said.startswith("User denied purge with message: expired: no decision by")


async def test_long_poll_answers_once_decided(slack: SlackDriver) -> None:
    hl = sdk(slack)
    await asyncio.to_thread(
        hl.create_function_call, FunctionCallSpec(fn="scale", kwargs={}), "call-poll"
    )
    _, card = await pending(slack)
    quick = await slack.api.get("/humanlayer/v1/function_calls/call-poll", params={"wait": 0.1})
    assert quick.json()["status"]["approved"] is None  # still pending: answered at the end
    started = time.monotonic()
    poll = asyncio.create_task(
        slack.api.get("/humanlayer/v1/function_calls/call-poll", params={"wait": 20})
    )
    await slack.click(card, "approve", user=APPROVER)
    reply = await poll
    assert reply.status_code == 200 and reply.json()["status"]["approved"] is True
    assert time.monotonic() - started < 15


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A webhook receiver that fails its first delivery (503), then takes them."""
    got: list[tuple[dict[str, str], bytes]] = []

    async def hook(request: Request) -> JSONResponse:
        got.append((dict(request.headers), await request.body()))
        return JSONResponse({}, status_code=503 if len(got) == 1 else 200)

    async with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield f"{url}/hook", got


async def test_the_response_webhook_is_signed_retried_and_carries_the_state(
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = receiver
    settings = slack_settings.model_copy(
        update={
            "response_webhook_url": url,
            "response_webhook_secret": "hook-secret",
            "delivery_retry_schedule": "0.05,0.05,0.05",
        }
    )
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        hl = sdk(slack)
        spec = HumanContactSpec(msg="Which region?", state={"ticket": "T-9"})
        await asyncio.to_thread(hl.create_human_contact, spec, "call-hook")
        _, question = await pending(slack)
        await slack.reply("eu-west-1", question.ts, user="USOMEONE", channel=question.channel)
        await until(lambda: len(got) == 2)
    headers, body = got[-1]
    assert got[0][1] == body  # the retry is the same delivery
    assert verify("hook-secret", body, headers[SIGNATURE_HEADER.lower()], time.time())
    assert not verify("other-secret", body, headers[SIGNATURE_HEADER.lower()], time.time())
    assert headers["idempotency-key"] == "human_contact:call-hook"
    sent: dict[str, Any] = json.loads(body)
    assert sent["type"] == "human_contact"
    assert sent["call"]["spec"]["state"] == {"ticket": "T-9"}
    assert sent["call"]["status"]["response"] == "eu-west-1"


async def test_a_cancelled_call_is_pushed_as_denied(
    slack_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    receiver: tuple[str, list[tuple[dict[str, str], bytes]]],
) -> None:
    url, got = receiver
    settings = slack_settings.model_copy(
        update={"response_webhook_url": url, "delivery_retry_schedule": "0.05,0.05,0.05"}
    )
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        spec = FunctionCallSpec(fn="restart", kwargs={"service": "api"}, state={"run": 7})
        await asyncio.to_thread(sdk(slack).create_function_call, spec, "call-stop")
        view, _ = await pending(slack)
        assert (await api.post(f"/threads/{view['id']}/cancel", json={})).status_code == 202
        await until(lambda: len(got) == 2)
    sent: dict[str, Any] = json.loads(got[-1][1])
    assert sent["type"] == "function_call" and sent["call"]["spec"]["state"] == {"run": 7}
    assert sent["call"]["status"]["approved"] is False
    assert sent["call"]["status"]["comment"] == "Cancelled by operator"


async def test_the_policy_by_function_name_sets_approvers_and_quorum(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub, tmp_path: Path
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        f"external:\n  transfer:\n    quorum: 2\n    approvers: [{APPROVER}, {APPROVER_2}]\n"
    )
    settings = slack_settings.model_copy(update={"policy_file": str(policy)})
    async with app_client(settings) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        hl = sdk(slack)

        @hl.require_approval()
        def transfer(amount: int) -> str:
            return f"sent {amount}"

        result = asyncio.create_task(asyncio.to_thread(transfer, amount=100))
        _, card = await pending(slack)
        assert "Needs 2 approvals" in json.dumps(card.blocks)
        await slack.click(card, "approve", user=APPROVER)
        await until(lambda: len(slack_stub.ephemerals) == 1)  # "1 of 2 approvals"
        assert not result.done()
        await slack.click(card, "approve", user=APPROVER_2)
        assert await asyncio.wait_for(result, 10) == "sent 100"
