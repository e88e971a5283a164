"""A task stops even when a library swallows its cancel (`bot.tasks`): the ones we stop
(`stopped`) and the loops others stop (`raise_lost_cancel`).

redis-py does so now and then on Python 3.11 (see `bot.tasks`): a lease's renewal loop, cancelled
as its step ended while it was in a job's keepalive, renewed the lease on and on, and the
thread's next job waited for it for as long as the process lived (CI, issue 19's stop). Here
the keepalive swallows the cancel every time, so each test is deterministic.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from redis.asyncio import Redis

from bot.clock import SYSTEM
from bot.config import Settings
from bot.runtime.loop import advance
from bot.runtime.wiring import runtime
from bot.runtime.worker import _wait_until
from bot.store.keys import Keys
from bot.store.lease import Leases
from bot.store.queue import build_broker
from bot.store.threads import ThreadStore
from bot.tasks import stopped
from tests.helpers import api_thread

HANG_S = 10.0
"""Far longer than any stop takes here: a body still running then never ends."""


class SwallowingKeepalive:
    """A keepalive that, cancelled while it runs, eats the cancel and returns, as redis-py's
    `wait_for` can; it blocks only its first call, until cancelled."""

    def __init__(self) -> None:
        self.inside = asyncio.Event()
        self.calls = 0
        self.swallowed = 0

    async def __call__(self) -> None:
        self.calls += 1
        if self.calls > 1:
            return
        self.inside.set()
        try:
            await asyncio.Event().wait()  # until cancelled
        except asyncio.CancelledError:
            self.swallowed += 1


async def test_a_lease_stops_renewing_when_its_keepalive_swallows_the_cancel(
    redis_client: Redis, prefix: str
) -> None:
    keys = Keys(prefix)
    await ThreadStore(redis_client, keys, ttl_s=60).create(api_thread("th_s"))
    leases = Leases(redis_client, keys, lease_s=0.3)  # renewed every 0.1 s
    lease = leases.lease("th_s")
    acquired, _ = await lease.acquire()
    assert acquired
    keepalive = SwallowingKeepalive()

    async def step() -> None:
        async with lease.renewing(keepalive):
            await keepalive.inside.wait()  # the step ends while the keepalive runs

    body = asyncio.create_task(step())
    done, _ = await asyncio.wait([body], timeout=HANG_S)
    assert body in done, "the renewal loop ran on after its step ended"
    assert keepalive.swallowed == 1
    # Gone for good: no renewal or keepalive after the step, and the lease runs out by itself.
    calls = keepalive.calls
    await asyncio.sleep(0.5)
    assert keepalive.calls == calls
    assert not await redis_client.exists(keys.lease("th_s"))


async def test_stopped_cancels_again_a_task_that_ate_the_first_cancel() -> None:
    keepalive = SwallowingKeepalive()

    async def loop() -> None:
        while True:
            await keepalive()
            await asyncio.sleep(0.01)

    task = asyncio.create_task(loop())
    await keepalive.inside.wait()
    stopping = asyncio.create_task(stopped(task))
    done, _ = await asyncio.wait([stopping], timeout=HANG_S)
    assert stopping in done and task.cancelled()
    assert keepalive.swallowed == 1 and keepalive.calls > 1  # it did run on, then stopped


async def test_stopped_returns_for_tasks_that_ended_either_way() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await stopped(failed)  # its error is read, not raised
    await stopped(asyncio.create_task(asyncio.sleep(0)))


async def test_a_broker_listen_stopped_while_its_read_swallowed_the_cancel_ends(
    redis_url: str, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """taskiq stops a worker by cancelling the pending `anext` of the broker's `listen` and
    awaiting it, shielded: were the cancel lost in a read, the loop read on, the worker's
    shutdown waited forever (a test's teardown hung so, with the renewal fix in place)."""
    broker = build_broker(redis_url, f"{prefix}:steps", 2, 2)
    await broker.startup()
    inside = asyncio.Event()
    reads = 0

    async def read(redis: object) -> list[object]:
        nonlocal reads
        reads += 1
        if reads == 1:
            inside.set()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.Event().wait()  # until cancelled, which it eats
        await asyncio.sleep(0.01)  # an empty read, as xreadgroup's block gives
        return []

    monkeypatch.setattr(broker, "_read", read)
    try:
        pending = asyncio.create_task(anext(broker.listen()))
        await inside.wait()
        pending.cancel()
        done, _ = await asyncio.wait([pending], timeout=HANG_S)
        assert pending in done and pending.cancelled(), "listen read on after its stop"
        assert reads == 1
    finally:
        await broker.shutdown()


async def test_a_job_waiting_out_a_retry_stops_when_its_keepalive_swallows_the_cancel() -> None:
    """A worker stopping cancels its jobs; one waiting out a retry's delay (minutes, for a
    delivery) with the cancel lost in its keepalive waited it out."""
    keepalive = SwallowingKeepalive()
    due = SYSTEM.time() + 600
    waiting = asyncio.create_task(_wait_until(due, keepalive, 0.03, SYSTEM))
    await keepalive.inside.wait()
    waiting.cancel()
    done, _ = await asyncio.wait([waiting], timeout=HANG_S)
    assert waiting in done and waiting.cancelled(), "the job waited on after its stop"


async def test_a_job_waiting_for_a_held_lease_stops_when_its_keepalive_swallows_the_cancel(
    settings: Settings, redis_client: Redis
) -> None:
    """A job whose thread another worker holds polls for the lease, keeping itself claimed;
    a cancel lost in that keepalive left it polling for as long as the lease was held."""
    quick = settings.model_copy(update={"step_lease_s": 0.3})  # a keepalive every 0.1 s
    async with runtime(quick) as (deps, _):
        await deps.store.create(api_thread("th_held"))
        await redis_client.set(deps.keys.lease("th_held"), "another worker", px=600_000)
        keepalive = SwallowingKeepalive()
        job = asyncio.create_task(advance(deps, "th_held", keepalive=keepalive))
        await keepalive.inside.wait()
        job.cancel()
        done, _ = await asyncio.wait([job], timeout=HANG_S)
        assert job in done and job.cancelled(), "the job polled on after its stop"
