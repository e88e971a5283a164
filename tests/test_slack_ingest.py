"""The one-round-trip ingest: what its script writes is what the slower path would have."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from uuid import RFC_4122, UUID

from redis.asyncio import Redis
from redis.crc import key_slot
from taskiq.kicker import AsyncKicker
from taskiq.serializers import JSONSerializer

from bot.config import Settings
from bot.core.events import UserMessage
from bot.core.thread import SlackOrigin, Thread
from bot.slack import working_job
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_signing import TEAM_ID
from bot.store.keys import Keys, slack_tag
from bot.store.queue import TASK_NAME, JobTemplate, build_broker, job_data
from bot.store.threads import ThreadStore
from tests.conftest import ASKER, SLACK_SECRET, SlackDriver
from tests.helpers import T0, wait_for


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
            thread["id"], event["channel"], event["ts"], event["ts"]
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


def test_a_job_template_writes_what_job_data_writes(slack_settings: Settings) -> None:
    broker = build_broker(slack_settings.redis_url or "", slack_settings.queue_name, 2, 2)
    step: AsyncKicker[Any, Any] = AsyncKicker(TASK_NAME, broker, labels={})
    working: AsyncKicker[Any, Any] = AsyncKicker(working_job.TASK_NAME, broker, labels={})
    pairs = [
        (
            JobTemplate(step, attempt=0, not_before=0.0)("th_a-b"),
            job_data(step, "th_a-b", attempt=0, not_before=0.0),
        ),
        (
            JobTemplate(working)("th_a-b", "C1", "1.000002"),
            job_data(working, "th_a-b", "C1", "1.000002"),
        ),
        (  # what JSON escapes, escaped as the serializer escapes it
            JobTemplate(working)("th_a-b", 'C"1\\é\n', "1.000002", "🚀"),
            job_data(working, "th_a-b", 'C"1\\é\n', "1.000002", "🚀"),
        ),
    ]
    assert JobTemplate(step)._cut is not None  # the dumped message cut once, spliced per job
    unicode = build_broker(slack_settings.redis_url or "", "q2", 2, 2)
    unicode.with_serializer(JSONSerializer(ensure_ascii=False))
    raw: AsyncKicker[Any, Any] = AsyncKicker(working_job.TASK_NAME, unicode, labels={})
    assert JobTemplate(raw)._cut is None  # another serializer's options: dumped whole
    pairs.append((JobTemplate(raw)("th_a-b", "é"), job_data(raw, "th_a-b", "é")))
    for built, reference in pairs:
        ours, theirs = json.loads(built)["task_id"], json.loads(reference)["task_id"]
        assert ours != theirs  # a fresh task id per job
        assert ours == UUID(ours).hex and UUID(ours).version == 4  # as taskiq's own: uuid4().hex
        assert UUID(ours).variant == RFC_4122 and UUID(theirs).version == 4
        assert built.replace(ours.encode(), theirs.encode()) == reference  # else byte for byte


def test_a_creation_writes_what_a_commit_onto_an_empty_thread_writes(
    slack_settings: Settings,
) -> None:
    store = ThreadStore(Redis(), Keys(), 3600)
    origin = SlackOrigin(team="T1", channel="C1", thread_ts="1.000001", user="U1")
    thread = Thread(
        id="th_t-1",
        agent="deploy",
        origin=origin,
        events=[UserMessage(text="deploy api", user="U1", at=T0)],
        created_at=datetime.now(UTC),
    )
    empty = thread.model_copy(update={"events": [], "version": 0})
    keys, reference = store.commit_parts(empty, thread.events)
    creation = store.creation(thread)
    assert creation.commit_keys == keys
    # All but the commit id (random) and the update time (now) are the same.
    varying = {1, 6}
    assert len(creation.commit_args) == len(reference)
    for i, (ours, theirs) in enumerate(zip(creation.commit_args, reference, strict=True)):
        assert i in varying or ours == theirs, i


async def test_a_chunked_mention_is_taken_like_any_other(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    event = signing.app_mention_event(ASKER, "<@U0BOT> hi", "CDEPLOY")
    body, headers = signing.event_callback(event, signing_secret=SLACK_SECRET)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the body comes in parts
        yield body[:10]
        yield body[10:]

    reply = await slack.api.post("/slack/events", content=chunks(), headers=headers)
    assert reply.status_code == 200, reply.text
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
