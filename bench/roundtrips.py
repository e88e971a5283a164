"""Counts the Redis commands of one resume cycle (approve -> tool -> model -> done).

Runs the real app with an in-process worker against a private redis-server and the
Anthropic stand-in, and diffs Redis's own INFO commandstats around the cycle.
Usage: .venv/bin/python bench/roundtrips.py
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import httpx
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.config import Settings  # noqa: E402
from bot.dev.embedded_redis import private_redis  # noqa: E402
from bot.standins.anthropic_stub import AnthropicStub  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from tests.conftest import serve  # noqa: E402
from tests.helpers import wait_for  # noqa: E402


async def commandstats(redis: Redis) -> dict[str, int]:
    info = await redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in info.items()}


async def main(url: str) -> None:
    async with AnthropicStub() as stub:
        os.environ.update(ANTHROPIC_BASE_URL=stub.base_url, ANTHROPIC_API_KEY="x")
        settings = Settings(
            _env_file=None,
            REDIS_URL=url,
            HITLBOT_API_TOKEN="t",
            HITLBOT_STEP_LEASE_S=60,
            HITLBOT_API_TRUSTED_DECISIONS=True,  # "bob" decides for the token, as in the tests
        )
        redis = Redis.from_url(url)
        async with serve(create_app(settings, with_worker=True)) as base:
            async with httpx.AsyncClient(
                base_url=base, headers={"Authorization": "Bearer t"}
            ) as client:
                stub.reply_tool(
                    "deploy_service",
                    {"service": "api", "version": "1.4.2", "environment": "production"},
                )
                reply = await client.post("/threads", json={"agent": "deploy", "message": "ship"})
                thread_id = reply.json()["thread_id"]
                await wait_for(client, thread_id, "waiting_approval")
                request_id = (await client.get(f"/threads/{thread_id}")).json()["pending_request"][
                    "request_id"
                ]
                await asyncio.sleep(0.5)
                before = await commandstats(redis)
                stub.reply_tool("done_for_now", {"message": "done"})
                body = {"request_id": request_id, "user": "bob", "approved": True}
                await client.post(f"/threads/{thread_id}/responses", json=body)
                await wait_for(client, thread_id, "done")  # polling costs HMGETs: subtracted below
                polls_before = await commandstats(redis)
                await asyncio.sleep(0.5)
                after = await commandstats(redis)
        await redis.aclose()
    diff = {
        k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)
    }
    idle = {
        k: after.get(k, 0) - polls_before.get(k, 0)
        for k in after
        if after.get(k, 0) != polls_before.get(k, 0)
    }
    print("| command | calls in the cycle (incl. client polling and idle reads) |")
    print("|---|---|")
    for name, calls in sorted(diff.items()):
        print(f"| {name} | {calls} |")
    print(f"\nidle half-second afterwards: {idle}")


if __name__ == "__main__":
    with private_redis() as url:
        asyncio.run(main(url))
