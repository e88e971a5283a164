"""Web and worker ride out a Redis restart: they reconnect, they do not exit."""

from __future__ import annotations

import asyncio

import httpx
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.config import Settings
from bot.dev.embedded_redis import free_port, private_redis
from bot.runtime.wiring import redis_client
from bot.standins.anthropic_stub import AnthropicStub
from bot.web.app import create_app
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
                # Every pooled connection is dead now; the first requests reconnect, not fail.
                gone = await asyncio.gather(
                    *(api.get(f"/threads/{first['thread_id']}") for _ in range(8))
                )
                assert [reply.status_code for reply in gone] == [404] * 8  # unpersisted: gone
                assert (await api.get("/healthz")).status_code == 200
                anthropic_stub.reply_tool("done_for_now", {"message": "after"})
                second = (
                    await api.post("/threads", json={"agent": "deploy", "message": "b"})
                ).json()
                view = await wait_for(api, second["thread_id"], "done", timeout=30)
                assert view["events"][-1]["message"] == "after"
    finally:
        server.__exit__(None, None, None)


async def test_the_client_retries_a_dropped_connection(redis_url: str) -> None:
    """The pool's retry policy must be the asyncio one: a sync `Retry` hands back the
    coroutine unawaited, so a connection dropped mid-command fails the request at once."""
    client = redis_client(redis_url, 2)
    conn = await client.connection_pool.get_connection()
    tries = 0

    async def flaky() -> str:
        nonlocal tries
        tries += 1
        if tries < 3:
            raise RedisConnectionError("Connection closed by server.")
        return "ok"

    async def on_failure(error: Exception) -> None:
        pass

    try:
        assert await conn.retry.call_with_retry(flaky, on_failure) == "ok"
        assert tries == 3
    finally:
        await client.connection_pool.release(conn)
        await client.aclose(close_connection_pool=True)
