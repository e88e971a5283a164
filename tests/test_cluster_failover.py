"""HITLBOT_REDIS_REPLICAS_ACK on a real cluster: a commit is acknowledged only once a replica
has it, and a primary killed while 50 approvals are decided loses none that was acknowledged.

Its own cluster (a failover changes who is primary), started only when these tests run.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from redis.asyncio import RedisCluster
from redis.crc import key_slot

from bot.config import Settings
from bot.store.keys import Keys
from tests.cluster_support import LocalCluster, can_run, local_cluster
from tests.conftest import app_client
from tests.helpers import tool_results, wait_for

pytestmark = pytest.mark.skipif(can_run() is not None, reason=str(can_run()))

THREADS = 50
PRODUCTION = "deploy api 1.4.2 to production"


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    with local_cluster() as running:
        yield running


@pytest.fixture
async def acked(cluster: LocalCluster, settings: Settings) -> AsyncIterator[Settings]:
    """The test's settings on the cluster, with one replica per answering commit; the offline
    model plays the deploy agent (production: an approval, then done)."""
    yield settings.model_copy(
        update={
            "redis_url": cluster.url,
            "redis_replicas_ack": 1,
            "redis_replicas_timeout_s": 0.5,
            "model": "offline",
            "anthropic_api_key": None,
            "step_lease_s": 1.0,
        }
    )
    client = RedisCluster.from_url(cluster.url)
    for key in [key async for key in client.scan_iter(f"{settings.redis_prefix}*")]:
        await client.delete(key)
    await client.aclose()


async def launch(api: httpx.AsyncClient) -> str:
    reply = await api.post("/threads", json={"agent": "deploy", "message": PRODUCTION})
    assert reply.status_code == 202, reply.text
    thread_id: str = reply.json()["thread_id"]
    return thread_id


def decision(view: dict[str, Any]) -> dict[str, Any]:
    return {"request_id": view["pending_request"]["request_id"], "approved": True, "user": "bob"}


async def test_a_decision_no_replica_confirms_is_not_acknowledged(
    cluster: LocalCluster, acked: Settings
) -> None:
    async with app_client(acked) as api:
        view = await wait_for(api, await launch(api), "waiting_approval")
        slot = key_slot(Keys(acked.redis_prefix).thread(view["id"]).encode())
        replica = cluster.replica_of(cluster.primary_of(slot))
        assert replica.proc is not None
        os.kill(replica.proc.pid, signal.SIGSTOP)  # connected, but confirms nothing
        try:
            refused = await api.post(f"/threads/{view['id']}/responses", json=decision(view))
        finally:
            os.kill(replica.proc.pid, signal.SIGCONT)
        assert refused.status_code == 503, refused.text
        assert "replicas confirmed" in refused.json()["detail"]
        assert refused.headers["retry-after"] == "1"
        # Not acknowledged, made or not: on a Cluster the queued mark goes first, and when it
        # shares the stopped replica's shard nothing was committed (the retry is then 202);
        # else the commit stands (409). Either way it counts once and the thread goes on.
        again = await api.post(f"/threads/{view['id']}/responses", json=decision(view))
        assert again.status_code in (202, 409), again.text
        done = await wait_for(api, view["id"], "done", timeout=20)
        assert len([e for e in done["events"] if e["type"] == "human_response"]) == 1
        assert len(tool_results(done, "deploy_service")) == 1
    cluster.wait_healthy()


class Decider:
    """Decides one thread's approval as a careful client does: until told it counted (202)
    or that it was already answered (409); a 503 or a broken connection is tried again."""

    def __init__(self, api: httpx.AsyncClient) -> None:
        self.api = api
        self.acknowledged: set[str] = set()
        """Threads whose decision was answered 202."""
        self.answers: list[int | str] = []

    async def decide(self, view: dict[str, Any], give_up: float) -> None:
        loop = asyncio.get_running_loop()
        while loop.time() < give_up:
            try:
                reply = await self.api.post(
                    f"/threads/{view['id']}/responses", json=decision(view), timeout=15
                )
            except httpx.HTTPError as exc:
                self.answers.append(type(exc).__name__)
            else:
                self.answers.append(reply.status_code)
                if reply.status_code == 202:
                    self.acknowledged.add(view["id"])
                    return
                if reply.status_code == 409:
                    return
            await asyncio.sleep(0.2)
        raise AssertionError(f"thread {view['id']}: no answer but 503s: {self.answers[-5:]}")


async def statuses(api: httpx.AsyncClient, ids: list[str]) -> dict[str, str]:
    return {i: (await api.get(f"/threads/{i}")).json()["status"] for i in ids}


@pytest.mark.timeout(150)
async def test_a_primary_killed_mid_decisions_loses_no_acknowledged_decision(
    cluster: LocalCluster, acked: Settings
) -> None:
    async with app_client(acked) as api:
        ids = [await launch(api) for _ in range(THREADS)]
        views = [
            await wait_for(api, thread_id, "waiting_approval", timeout=30) for thread_id in ids
        ]
        victim = cluster.primary_of(key_slot(Keys(acked.redis_prefix).thread(ids[0]).encode()))
        decider = Decider(api)
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 40

        async def decide_all() -> None:
            await asyncio.gather(*(decider.decide(view, give_up) for view in views))

        async def fail_over() -> None:
            while len(decider.acknowledged) < THREADS // 5:  # some decided, most in flight
                await asyncio.sleep(0.01)
            cluster.kill(victim)
            # A replica takes the slots over; then the old primary comes back, as its replica
            # (what a managed service does): until then that shard cannot confirm commits.
            await asyncio.to_thread(cluster.wait_healthy, 3, 30)
            await asyncio.to_thread(cluster.start_node, victim)
            await asyncio.to_thread(cluster.wait_healthy, 3, 30)

        await asyncio.gather(decide_all(), fail_over())
        deadline = loop.time() + 40
        while set((now := await statuses(api, ids)).values()) != {"done"}:
            assert loop.time() < deadline, {i: s for i, s in now.items() if s != "done"}
            await asyncio.sleep(0.2)
        finished = [(await api.get(f"/threads/{thread_id}")).json() for thread_id in ids]
    assert len(decider.acknowledged) >= THREADS // 5
    for view in finished:
        [answer] = [e for e in view["events"] if e["type"] == "human_response"]
        assert answer["approved"] is True and answer["user"] == "bob"
        assert len(tool_results(view, "deploy_service")) == 1, view["id"]  # never twice
    # While the slots move: 503 (not replicated, or the store unreachable), never a 500.
    assert set(decider.answers) <= {202, 409, 503, "ReadTimeout"}, decider.answers
