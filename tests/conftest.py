"""Shared fixtures: a real Redis, the Anthropic stand-in, and the app on a real socket.

No test may reach the real Anthropic or Slack hosts: name resolution of those hosts fails
for the whole session, and the SDKs' base URLs point at a closed local port by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis
import uvicorn
from redis.asyncio import Redis

from bot.config import Settings
from bot.devredis import free_port, private_redis
from bot.logs import configure
from bot.testing.anthropic_stub import AnthropicStub
from bot.web import create_app

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


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """HITLBOT_TEST_REDIS_URL, else the Redis on 127.0.0.1:6379, else a private one."""
    url = os.environ.get("HITLBOT_TEST_REDIS_URL")
    if url:
        yield url
        return
    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        with private_redis() as private:
            yield private
        return
    yield "redis://127.0.0.1:6379/0"


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
    )


@contextlib.asynccontextmanager
async def serve(app: Any) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]  # keep Ctrl-C
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def api(
    settings: Settings, anthropic_stub: AnthropicStub
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app (web and an in-process worker) over a real socket."""
    async with serve(create_app(settings, with_worker=True)) as url:
        headers = {"Authorization": "Bearer test-token"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as client:
            yield client
