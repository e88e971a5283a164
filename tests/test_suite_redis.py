"""The suite runs on a Redis of its own, never on whatever listens on 6379 of the machine."""

from __future__ import annotations

import os

import pytest
from redis.asyncio import Redis


async def test_the_suite_redis_is_a_private_server(redis_url: str, redis_client: Redis) -> None:
    if os.environ.get("HITLBOT_TEST_REDIS_URL"):
        pytest.skip("HITLBOT_TEST_REDIS_URL names the Redis to use")
    # private_redis() runs its server in a fresh temporary directory named after us.
    workdir = (await redis_client.config_get("dir"))["dir"]
    assert os.path.basename(workdir).startswith("hitlbot-redis-"), (redis_url, workdir)
    assert not redis_url.startswith("redis://127.0.0.1:6379"), redis_url
