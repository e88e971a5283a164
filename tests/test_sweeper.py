"""A thread committed with work but never queued (its web process died) is found and run."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from bot.config import Settings
from bot.core.events import UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.runtime import sweeper
from bot.runtime.sweeper import sweep, trim_index
from bot.runtime.wiring import runtime
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import T0, api_thread, wait_for


async def test_a_lost_enqueue_is_swept_up(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    quick = settings.model_copy(update={"step_lease_s": 0.5})
    anthropic_stub.reply_tool("done_for_now", {"message": "found you"})
    async with app_client(quick) as api, runtime(quick) as (deps, _):
        # What a web process does before it dies: the commit (with its mark), no enqueue.
        orphan = api_thread("th_orphan")
        await deps.store.create(orphan)
        view = await wait_for(api, "th_orphan", "done", timeout=20)
    assert view["events"][-1]["message"] == "found you"
    assert len(anthropic_stub.requests) == 1


async def test_marks_of_threads_that_moved_on_are_dropped(
    settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    async with app_client(settings) as api, runtime(settings) as (deps, _):
        reply = await api.post("/threads", json={"agent": "deploy", "message": "hi"})
        thread_id = reply.json()["thread_id"]
        await wait_for(api, thread_id, "done")
        assert await redis_client.zscore(deps.keys.queued, thread_id) is not None
        # Long after: the thread is done, so its mark goes and nothing is queued again.
        assert await sweep(deps, time.time() + 3600) == 0
        assert await redis_client.zscore(deps.keys.queued, thread_id) is None
        # A running thread that a worker holds is left alone too.
        await deps.store.create(
            Thread(
                id="th_busy",
                agent="deploy",
                origin=ApiOrigin(),
                events=[UserMessage(text="x", at=T0)],
                created_at=T0,
            )
        )
        await redis_client.set(deps.keys.lease("th_busy"), "someone", px=60_000)
        assert await sweep(deps, time.time() + 3600) == 0
        assert await redis_client.zscore(deps.keys.queued, "th_busy") is not None


async def test_a_thread_waiting_out_its_retry_backoff_is_not_swept(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    # Each retry waits 1.5 s, longer than the sweeper's cutoff (two 0.5 s leases): a sweep
    # runs during every wait. The model is down throughout; it must be called exactly as
    # often as the schedule says (the first try and two retries), not once more per sweep.
    quick = settings.model_copy(
        update={"step_lease_s": 0.5, "llm_retry_schedule": "1.5,1.5", "llm_sdk_retries": 0}
    )
    anthropic_stub.fail(529, times=20, message="Overloaded")
    async with app_client(quick) as api:
        reply = await api.post("/threads", json={"agent": "deploy", "message": "ship it"})
        view = await wait_for(api, reply.json()["thread_id"], "failed", timeout=20)
        await asyncio.sleep(1.5)  # a sweep or two more after the end: nothing new is started
    assert "unavailable after retries" in view["error"]
    assert len(anthropic_stub.requests) == 3


def _jobs(outcome: str) -> float:
    return REGISTRY.get_sample_value("hitlbot_jobs_total", {"outcome": outcome}) or 0.0


async def test_a_retry_job_delivered_twice_asks_the_model_once(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    """The queue delivers at least once: a retry's job reclaimed from a worker that was slow
    to keep it claimed runs twice. Both copies wake at its due time; only the one that finds
    the mark still at that time runs (CI saw four model calls for a schedule of three)."""
    slow_retries = settings.model_copy(update={"llm_retry_schedule": "0.3,60"})
    anthropic_stub.fail(529, times=5, message="Overloaded")
    overtaken = _jobs("overtaken")
    before = _jobs("ok") + overtaken
    async with app_client(slow_retries), runtime(slow_retries) as (deps, _):
        await deps.store.create(api_thread("th_twice"))
        due = time.time() + 0.5
        await deps.sweeps.mark_queued("th_twice", due)  # as the first try's retry left it
        for _ in range(2):
            await deps.enqueue("th_twice", attempt=1, not_before=due)
        while _jobs("ok") + _jobs("overtaken") < before + 2:  # both copies are done
            await asyncio.sleep(0.05)
    assert len(anthropic_stub.requests) == 1  # the next try is a minute away
    assert _jobs("overtaken") == overtaken + 1


async def test_the_thread_index_is_trimmed_as_threads_expire(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, redis_client: Redis
) -> None:
    """Once `hitlbot:threads` kept every thread ever made (no TTL; an expired one was
    removed only when a listing reached it)."""
    monkeypatch.setattr(sweeper, "TRIM_BATCHES", 1)  # one batch a pass: passes go on
    now = time.time()
    ttl = settings.thread_ttl_s
    async with runtime(settings) as (deps, _):

        async def made(thread_id: str, age: float) -> None:
            created = datetime.fromtimestamp(now - age, UTC)
            thread = Thread(
                id=thread_id,
                agent="deploy",
                origin=ApiOrigin(),
                events=[UserMessage(text="hi", at=T0)],
                created_at=created,
            )
            await deps.store.create(thread)

        # Old and still alive (written to lately), old and expired, young.
        for n in range(5):
            await made(f"th_alive{n}", ttl + 100 - n)
        for n in range(4):
            await made(f"th_gone{n}", ttl + 50 - n)
        await made("th_young", 10)
        for n in range(4):  # what their keys' TTL does
            await redis_client.delete(deps.keys.thread(f"th_gone{n}"))
        await redis_client.delete(deps.keys.thread("th_young"))  # not looked at: too young

        passes, after, dropped = 0, None, 0
        while True:
            count, after = await trim_index(deps, now, after, batch=2)
            dropped, passes = dropped + count, passes + 1
            if after is None:
                break
        assert dropped == 4 and passes == 6  # 9 old ones, 2 a pass; then the end
        members = await redis_client.zrange(deps.keys.index, 0, -1)
        assert sorted(m.decode() for m in members) == [
            *(f"th_alive{n}" for n in range(5)),
            "th_young",
        ]
