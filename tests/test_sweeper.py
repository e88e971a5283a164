"""A thread committed with work but never queued (its web process died) is found and run."""

from __future__ import annotations

import asyncio
import time

from redis.asyncio import Redis

from bot.config import Settings
from bot.core.events import UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.runtime.sweeper import sweep
from bot.runtime.wiring import runtime
from bot.testing.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import wait_for


async def test_a_lost_enqueue_is_swept_up(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    quick = settings.model_copy(update={"step_lease_s": 0.5})
    anthropic_stub.reply_tool("done_for_now", {"message": "found you"})
    async with app_client(quick) as api, runtime(quick) as (deps, _):
        # What a web process does before it dies: the commit (with its mark), no enqueue.
        orphan = Thread(
            id="th_orphan", agent="deploy", origin=ApiOrigin(), events=[UserMessage(text="hi")]
        )
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
            Thread(id="th_busy", agent="deploy", origin=ApiOrigin(), events=[UserMessage(text="x")])
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
