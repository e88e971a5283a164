"""The core flows on a real Redis Cluster (3 primaries, 3 replicas; `tests.cluster_support`).

The cluster is started once for this module, only when these tests run; each test keeps to
its own key prefix and queue, like the single-Redis suite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from redis.asyncio import RedisCluster

from bot.config import Settings
from bot.store.connect import connect
from bot.testing.anthropic_stub import AnthropicStub
from tests.cluster_support import LocalCluster, can_run, local_cluster
from tests.conftest import app_client
from tests.helpers import tool_results, wait_for

pytestmark = pytest.mark.skipif(can_run() is not None, reason=str(can_run()))


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
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


async def test_cluster_mode_is_detected(cluster_settings: Settings, settings: Settings) -> None:
    connection = await connect(cluster_settings)
    try:
        assert connection.cluster and isinstance(connection.redis, RedisCluster)
    finally:
        await connection.aclose()
    single = await connect(settings)
    try:
        assert not single.cluster
    finally:
        await single.aclose()


async def test_launch_approval_done(
    cluster_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    stub = anthropic_stub
    stub.reply_tool(
        "deploy_service",
        {"service": "api", "version": "1.4.2", "environment": "production", "reason": "asked"},
    )
    async with app_client(cluster_settings) as api:
        reply = await api.post(
            "/threads", json={"agent": "deploy", "message": "deploy api 1.4.2 to production"}
        )
        assert reply.status_code == 202, reply.text
        thread_id = reply.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_approval")
        stub.reply_tool("done_for_now", {"message": "live"})
        reply = await api.post(
            f"/threads/{thread_id}/responses",
            json={
                "request_id": view["pending_request"]["request_id"],
                "approved": True,
                "user": "bob",
            },
        )
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, thread_id, "done")
        assert len(tool_results(view, "deploy_service")) == 1
        listed = (await api.get("/threads")).json()["threads"]
        assert [t["id"] for t in listed] == [thread_id]
        assert isinstance(api, httpx.AsyncClient)
