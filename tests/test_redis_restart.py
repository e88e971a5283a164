"""Web and worker ride out a Redis restart: they reconnect, they do not exit."""

from __future__ import annotations

import asyncio

import httpx

from bot.config import Settings
from bot.devredis import free_port, private_redis
from bot.testing.anthropic_stub import AnthropicStub
from bot.web import create_app
from tests.conftest import serve
from tests.helpers import wait_for


async def test_processes_survive_a_redis_restart(anthropic_stub: AnthropicStub) -> None:
    port = free_port()
    settings = Settings(
        _env_file=None,
        REDIS_URL=f"redis://127.0.0.1:{port}/0",
        HITLBOT_API_TOKEN="t",
        ANTHROPIC_API_KEY="x",
        HITLBOT_STEP_LEASE_S=1,
    )
    server = private_redis(port=port)
    server.__enter__()
    try:
        async with serve(create_app(settings, with_worker=True)) as url:
            async with httpx.AsyncClient(
                base_url=url, headers={"Authorization": "Bearer t"}
            ) as api:
                anthropic_stub.reply_tool("done_for_now", {"message": "before"})
                first = (
                    await api.post("/threads", json={"agent": "deploy", "message": "a"})
                ).json()
                await wait_for(api, first["thread_id"], "done")

                server.__exit__(None, None, None)  # Redis goes away (and, unpersisted, its data)
                health = await api.get("/healthz")
                assert health.status_code == 503 and health.json()["ok"] is False
                await asyncio.sleep(1.5)  # the worker's reads fail meanwhile

                server = private_redis(port=port)
                server.__enter__()
                for _ in range(100):
                    if (await api.get("/healthz")).status_code == 200:
                        break
                    await asyncio.sleep(0.1)
                anthropic_stub.reply_tool("done_for_now", {"message": "after"})
                second = (
                    await api.post("/threads", json={"agent": "deploy", "message": "b"})
                ).json()
                view = await wait_for(api, second["thread_id"], "done", timeout=30)
                assert view["events"][-1]["message"] == "after"
    finally:
        server.__exit__(None, None, None)
