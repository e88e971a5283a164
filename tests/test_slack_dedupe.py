"""Slack delivers at least once: retried events, twin events and racing clicks count once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_workspace import Ephemeral
from bot.store.intake import Intake
from bot.store.keys import Keys
from tests.conftest import APPROVER, APPROVER_2, SLACK_SECRET, SlackDriver
from tests.helpers import tool_results, wait_for


async def test_retries_of_an_event_start_one_thread(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello", "reason": "greeting"})
    event = signing.app_mention_event("UASKER", "<@U0BOT> hi", "CDEPLOY")
    first = signing.event_callback(event, event_id="EvRETRY1", signing_secret=SLACK_SECRET)
    retries = [
        signing.event_callback(event, event_id="EvRETRY1", retry_num=n, signing_secret=SLACK_SECRET)
        for n in (1, 2, 3)
    ]
    replies = await asyncio.gather(slack.send(first), *(slack.send(r) for r in retries[:2]))
    assert [r.status_code for r in replies] == [200, 200, 200]
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    assert (await slack.send(retries[2])).status_code == 200  # a late retry, after the work
    await asyncio.sleep(0.2)
    assert len(await slack.threads()) == 1
    assert len(anthropic_stub.requests) == 1
    assert len([m for m in slack.stub.messages if m.bot_id]) == 1


async def test_a_retry_whose_first_delivery_never_arrived_counts(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    event = signing.app_mention_event("UASKER", "<@U0BOT> hi", "CDEPLOY")
    retry = signing.event_callback(event, retry_num=1, signing_secret=SLACK_SECRET)
    assert (await slack.send(retry)).status_code == 200
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")


async def test_a_mention_seen_as_two_events_starts_one_thread(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    # With message.channels subscribed, a mention arrives as `app_mention` and as `message`.
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    mention = signing.app_mention_event("UASKER", "<@U0BOT> hi", "CDEPLOY")
    message = signing.message_event("UASKER", mention["text"], "CDEPLOY", ts=mention["ts"])
    replies = await asyncio.gather(slack.event(message), slack.event(mention))
    assert [r.status_code for r in replies] == [200, 200]
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    assert len(anthropic_stub.requests) == 1


async def test_two_approvers_at_once_make_one_decision(
    slack: SlackDriver, anthropic_stub: AnthropicStub, settings: Settings, redis_client: Redis
) -> None:
    production = {"service": "api", "version": "1.4.2", "environment": "production"}
    anthropic_stub.reply_tool("deploy_service", production)
    await slack.mention("deploy api 1.4.2 to production")
    view, card = await slack.pending()
    anthropic_stub.reply_tool("done_for_now", {"message": "deployed"})

    replies = await asyncio.gather(
        slack.click(card, "approve", user=APPROVER),
        slack.click(card, "approve", user=APPROVER_2),
        slack.click(card, "approve", user=APPROVER),
    )
    assert [r.status_code for r in replies] == [200, 200, 200]
    done = await wait_for(slack.api, view["id"], "done")
    [decision] = [e for e in done["events"] if e["type"] == "human_response"]
    notes = await _ephemerals(slack, 2)
    assert {n.text for n in notes} == {f"Already approved by <@{decision['user']}>."}
    assert len(tool_results(done, "deploy_service")) == 1
    deploys = await redis_client.hgetall(Keys(settings.redis_prefix).agent("deploy", "deploys"))
    assert len(deploys) == 1
    updated = slack.stub.message(card.channel, card.ts)
    assert updated is not None
    assert f"Approved by <@{decision['user']}>" in json.dumps(updated.blocks)


async def _ephemerals(slack: SlackDriver, count: int) -> list[Ephemeral]:
    await slack.stub.wait_for("chat.postEphemeral", count)
    await asyncio.sleep(0.05)
    return slack.stub.ephemerals


async def test_an_event_that_failed_is_taken_again_on_slacks_retry(
    slack: SlackDriver, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fault injection: the first attempt fails inside the listener (as when Redis drops), at
    # its one round trip (the intake script: claims, link, thread and job).
    take = Intake.start
    failures = iter([ConnectionError("Redis went away")])

    async def flaky(self: Intake, *args: Any, **kwargs: Any) -> Any:
        for error in failures:
            raise error
        return await take(self, *args, **kwargs)

    monkeypatch.setattr(Intake, "start", flaky)
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    event = signing.app_mention_event("UASKER", "<@U0BOT> hi", "CDEPLOY")
    first = signing.event_callback(event, event_id="EvFLAKY", signing_secret=SLACK_SECRET)
    assert (await slack.send(first)).status_code == 500  # Slack will retry
    assert await slack.threads() == []
    retry = signing.event_callback(
        event, event_id="EvFLAKY", retry_num=1, signing_secret=SLACK_SECRET
    )
    assert (await slack.send(retry)).status_code == 200
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")


async def test_a_reply_that_failed_after_its_claims_is_taken_again_on_slacks_retry(
    slack: SlackDriver, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reply's link and thread are found; its append (claims with it) fails once.
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    started = await slack.mention("hi")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    append = Intake.append
    failures = iter([ConnectionError("Redis went away")])

    async def flaky(self: Intake, *args: Any, **kwargs: Any) -> Any:
        for error in failures:
            raise error
        return await append(self, *args, **kwargs)

    monkeypatch.setattr(Intake, "append", flaky)
    anthropic_stub.reply_tool("done_for_now", {"message": "again"})
    event = signing.message_event("UASKER", "once more", "CDEPLOY", thread_ts=started["ts"])
    first = signing.event_callback(event, event_id="EvREPLY", signing_secret=SLACK_SECRET)
    assert (await slack.send(first)).status_code == 500  # Slack will retry
    retry = signing.event_callback(
        event, event_id="EvREPLY", retry_num=1, signing_secret=SLACK_SECRET
    )
    assert (await slack.send(retry)).status_code == 200
    view = await wait_for(slack.api, thread["id"], "done")
    texts = [e["text"] for e in view["events"] if e["type"] == "user_message"]
    assert texts == ["hi", "once more"]
