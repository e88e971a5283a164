"""The worker process: takes step jobs off the queue and advances their threads."""

from __future__ import annotations

import asyncio

import structlog
from taskiq import Context, TaskiqDepends
from taskiq.acks import AcknowledgeType
from taskiq.api import run_receiver_task

from bot import metrics, telemetry
from bot.clock import Clock
from bot.core.events import Event, Failed
from bot.core.thread import Thread
from bot.runtime.deps import Deps
from bot.runtime.loop import Keepalive, advance
from bot.runtime.sweeper import run_sweeper
from bot.slack import working_job
from bot.store.errors import StoreError
from bot.store.queue import TASK_NAME, StepBroker
from bot.store.threads import Busy
from bot.tasks import raise_lost_cancel, stopped

log = structlog.get_logger(__name__)


def register(broker: StepBroker, deps: Deps) -> None:
    """Register the step task, bound to `deps`, on `broker`."""

    async def advance_task(
        thread_id: str,
        attempt: int = 0,
        not_before: float = 0.0,
        context: Context = TaskiqDepends(),  # noqa: B008 - how taskiq injects it
    ) -> None:
        task_id = context.message.task_id

        async def keepalive() -> None:
            await broker.touch(task_id)

        try:
            if not_before:
                await _wait_until(not_before, keepalive, deps.settings.step_lease_s, deps.clock)
                # Due now: the mark says so, and the sweeper gives it two leases from here;
                # unless a copy of this job (redelivered) took it, or newer work came meanwhile.
                if not await deps.sweeps.take_due(thread_id, not_before, deps.clock.time()):
                    log.info("a retry taken already or overtaken; dropped", thread_id=thread_id)
                    metrics.JOBS.labels("overtaken").inc()
                    await context.ack()
                    return
            with (
                telemetry.continued(context.message.labels),
                telemetry.span("hitlbot.advance", {"hitlbot.thread_id": thread_id}),
            ):
                await advance(deps, thread_id, attempt=attempt, keepalive=keepalive)
        except StoreError as exc:
            # Left unacked on purpose: the job is reclaimed once Redis is back.
            log.warning(
                "step interrupted by Redis; will be redelivered",
                thread_id=thread_id,
                error=str(exc),
            )
            metrics.JOBS.labels("redelivered").inc()
            return
        except Exception as exc:
            log.exception("step crashed", thread_id=thread_id)
            await _fail(deps, thread_id, f"internal error: {type(exc).__name__}: {exc}")
            metrics.JOBS.labels("crashed").inc()
        else:
            metrics.JOBS.labels("ok").inc()
        await context.ack()

    broker.register_task(advance_task, task_name=TASK_NAME)
    working_job.register(broker, deps)


async def _wait_until(
    not_before: float, keepalive: Keepalive, lease_s: float, clock: Clock
) -> None:
    """Sleep until a delayed retry is due, keeping the job claimed meanwhile."""
    while (remaining := not_before - clock.time()) > 0:
        await asyncio.sleep(min(remaining, lease_s / 3))
        await keepalive()
        raise_lost_cancel()  # a worker stopping must not wait out a retry's delay (bot.tasks)


async def _fail(deps: Deps, thread_id: str, reason: str) -> None:
    """Mark a thread failed after a crash, so it does not sit `running` forever."""

    def fail(thread: Thread) -> list[Event]:
        return [] if thread.status == "failed" else [Failed(reason=reason, at=deps.clock.now())]

    try:
        before = await deps.store.get(thread_id)
        if before is None or before.status == "failed":
            return
        await deps.store.update(thread_id, fail, attempts=5)
    except Busy:
        log.error("could not mark a crashed thread failed", thread_id=thread_id)
        return
    await deps.enqueue(thread_id)  # delivers the failure notice in the thread's channel


async def run_worker(deps: Deps, broker: StepBroker) -> None:
    """Listen for jobs until cancelled."""
    register(broker, deps)
    await broker.startup()
    sweeper = asyncio.create_task(run_sweeper(deps))
    log.info(
        "worker listening", queue=broker.queue_name, concurrency=deps.settings.worker_concurrency
    )
    try:
        await run_receiver_task(
            broker,
            max_async_tasks=deps.settings.worker_concurrency,
            ack_time=AcknowledgeType.MANUAL,
            propagate_exceptions=False,
        )
    finally:
        await stopped(sweeper)
