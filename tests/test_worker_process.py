"""Separate worker processes: one picks up queued work; a killed one's job finishes elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from redis.asyncio import Redis

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import Keys
from bot.web.app import create_app
from tests.conftest import serve
from tests.helpers import tool_results, wait_for


class Webhook:
    """The deploy receiver: records POSTs; can be told to hang on the next one."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.hang_next = False
        self.received = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append(await request.json())
        self.received.set()
        if self.hang_next:
            self.hang_next = False
            await asyncio.sleep(3600)  # the worker is killed while it waits here
        return web.json_response({"ok": True})


@pytest.fixture
async def webhook() -> AsyncIterator[tuple[Webhook, str]]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/deploys", hook.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield hook, f"http://127.0.0.1:{port}/deploys"
    await runner.cleanup()


@pytest.fixture
def worker_env(
    settings: Settings, anthropic_stub: AnthropicStub, webhook: tuple[Webhook, str]
) -> dict[str, str]:
    return {
        **os.environ,
        "REDIS_URL": settings.redis_url or "",
        "HITLBOT_REDIS_PREFIX": settings.redis_prefix,
        "HITLBOT_QUEUE": settings.queue_name,
        "HITLBOT_STEP_LEASE_S": "1",
        "HITLBOT_LLM_SDK_RETRIES": "0",
        "ANTHROPIC_API_KEY": "sk-test",
        "ANTHROPIC_BASE_URL": anthropic_stub.base_url,
        "HITLBOT_MODEL": "claude-test",
        "DEPLOY_WEBHOOK_URL": webhook[1],
    }


@contextlib.contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `hitlbot worker` process; killed at the end if still alive."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "worker"],
            env=env,
            stdout=out,
            stderr=out,
            cwd=Path(__file__).parents[1],
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


@pytest.fixture
async def web_only(
    settings: Settings, anthropic_stub: AnthropicStub, webhook: tuple[Webhook, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """The web process alone: nothing in it runs steps."""
    app_settings = settings.model_copy(
        update={"deploy_webhook_url": webhook[1], "step_lease_s": 1.0}
    )
    async with serve(create_app(app_settings)) as url:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": "Bearer test-token"}
        ) as client:
            yield client


async def test_worker_process_picks_up_queued_work(
    web_only: httpx.AsyncClient,
    anthropic_stub: AnthropicStub,
    worker_env: dict[str, str],
    tmp_path: Path,
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ready"})
    reply = await web_only.post("/threads", json={"agent": "deploy", "message": "hello"})
    thread_id = reply.json()["thread_id"]
    await asyncio.sleep(0.3)
    assert (await web_only.get(f"/threads/{thread_id}")).json()[
        "status"
    ] == "running"  # queued, not run
    assert not anthropic_stub.requests
    with worker(worker_env, tmp_path / "worker.log"):
        view = await wait_for(web_only, thread_id, "done", timeout=30)
    assert view["events"][-1]["message"] == "ready"


async def test_killed_mid_tool_the_call_repeats_with_its_id_and_records_once(
    web_only: httpx.AsyncClient,
    anthropic_stub: AnthropicStub,
    worker_env: dict[str, str],
    webhook: tuple[Webhook, str],
    redis_client: Redis,
    settings: Settings,
    tmp_path: Path,
) -> None:
    hook, _ = webhook
    hook.hang_next = True
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "web", "version": "2.1.0", "environment": "staging"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "shipped"})
    thread_id = (
        await web_only.post("/threads", json={"agent": "deploy", "message": "web to staging"})
    ).json()["thread_id"]
    with worker(worker_env, tmp_path / "a.log") as first:
        await asyncio.wait_for(hook.received.wait(), 30)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with worker(worker_env, tmp_path / "b.log"):
        view = await wait_for(web_only, thread_id, "done", timeout=30)
    [result] = tool_results(view, "deploy_service")
    assert [post["call_id"] for post in hook.posts] == [result["call_id"]] * 2
    deploys = await redis_client.hgetall(Keys(settings.redis_prefix).agent("deploy", "deploys"))
    assert list(deploys) == [result["call_id"].encode()]


async def test_killed_after_a_tool_finished_it_never_runs_again(
    web_only: httpx.AsyncClient,
    anthropic_stub: AnthropicStub,
    worker_env: dict[str, str],
    webhook: tuple[Webhook, str],
    tmp_path: Path,
) -> None:
    hook, _ = webhook
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "web", "version": "2.1.0", "environment": "staging"}
    )
    anthropic_stub.reply_tool(
        "done_for_now", {"message": "late"}, delay=3600
    )  # in flight at the kill
    anthropic_stub.reply_tool("done_for_now", {"message": "shipped"})
    thread_id = (
        await web_only.post("/threads", json={"agent": "deploy", "message": "web to staging"})
    ).json()["thread_id"]
    with worker(worker_env, tmp_path / "a.log") as first:
        while len(anthropic_stub.requests) < 2:  # the tool ran and the next model call started
            await asyncio.sleep(0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    with worker(worker_env, tmp_path / "b.log"):
        view = await wait_for(web_only, thread_id, "done", timeout=30)
    assert view["events"][-1]["message"] == "shipped"
    assert len(hook.posts) == 1 and len(tool_results(view, "deploy_service")) == 1
