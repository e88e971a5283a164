"""The one-round-trip ingest: what its script writes is what the slower path would have."""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from redis.crc import key_slot
from taskiq.kicker import AsyncKicker

from bot.config import Settings
from bot.keys import Keys, slack_tag
from bot.queue import TASK_NAME, build_broker
from bot.slack import working_job
from bot.testing.anthropic_stub import AnthropicStub
from bot.testing.slack_signing import TEAM_ID
from tests.conftest import SlackDriver
from tests.helpers import wait_for


def _without_id(data: bytes) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(data)
    message.pop("task_id")
    return message


async def test_a_mentions_jobs_are_the_messages_taskiq_would_send(
    slack: SlackDriver,
    anthropic_stub: AnthropicStub,
    slack_settings: Settings,
    redis_client: Redis,
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    event = await slack.mention("hi")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    entries = await redis_client.xrange(slack_settings.queue_name)
    sent = [_without_id(fields[b"data"]) for _, fields in entries]
    broker = build_broker(slack_settings.redis_url or "", slack_settings.queue_name, 2, 2)
    expected = [
        AsyncKicker(TASK_NAME, broker, labels={})._prepare_message(
            thread["id"], attempt=0, not_before=0.0
        ),
        AsyncKicker(working_job.TASK_NAME, broker, labels={})._prepare_message(
            thread["id"], event["channel"], event["ts"]
        ),
    ]
    wanted = [_without_id(broker.formatter.dumps(message).message) for message in expected]
    assert sent[:2] == wanted  # then the worker's own kicks (the delivery's step)
    await broker.connection_pool.disconnect()


async def test_a_slack_threads_claims_link_and_thread_share_one_cluster_slot(
    slack: SlackDriver, anthropic_stub: AnthropicStub, prefix: str, redis_client: Redis
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    event = await slack.mention("hi")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    keys = Keys(prefix)
    tag = slack_tag(TEAM_ID, event["channel"], event["ts"])
    assert thread["id"].startswith(tag + "-")
    written = [key async for key in redis_client.scan_iter(match=f"{prefix}:{{{tag}}}*")]
    names = {key.decode() for key in written}
    assert keys.thread(thread["id"]) in names
    assert keys.events(thread["id"]) in names
    assert keys.slack_thread(TEAM_ID, event["channel"], event["ts"]) in names
    assert any(":seen:slack-message:" in name for name in names)
    assert len({key_slot(key) for key in written}) == 1
