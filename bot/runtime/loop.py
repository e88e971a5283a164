"""The imperative shell around the loop: lease the thread, step it, commit each step.

One call of `advance` drives a thread until it needs a human, finishes or fails. Every step's
events are committed before the next step starts, so a worker killed anywhere loses at most
the step it was in; a tool call committed as finished is never run again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from bot import metrics, telemetry
from bot.config import NotConfigured
from bot.core.agent import Agent
from bot.core.decide import Action, CallModel, Deliver, RunTool, Stop, decide
from bot.core.events import Error, Event, Failed, HumanRequest, ToolResult
from bot.core.external import EXTERNAL
from bot.core.model import LLMFatal, LLMUnavailable
from bot.core.thread import Thread
from bot.runtime.delivery import DeliveryFailed, DeliveryUnavailable
from bot.runtime.deps import Deps
from bot.runtime.step import step
from bot.store.lease import Lease
from bot.store.threads import Conflict, Fenced
from bot.tasks import raise_lost_cancel

log = structlog.get_logger(__name__)

Keepalive = Callable[[], Awaitable[None]]
BUSY_POLL_S = 0.1
"""How often a job waits to retry the lease of a thread another worker holds."""


async def advance(
    deps: Deps, thread_id: str, *, attempt: int = 0, keepalive: Keepalive | None = None
) -> None:
    """Advance `thread_id` as far as it goes.

    If another worker holds the thread, it is told to run again (the dirty mark) and this job
    waits for the lease rather than returning: were the holder dead, returning would drop the
    only job left for the thread, since this one is acked when it returns.
    """
    lease = deps.leases.lease(thread_id)
    acquired, thread = await lease.acquire()
    last_touch = time.monotonic()
    while not acquired:
        raise_lost_cancel()  # stopped while an acquire swallowed the cancel (bot.tasks)
        await asyncio.sleep(BUSY_POLL_S)
        if keepalive is not None and time.monotonic() - last_touch > deps.settings.step_lease_s / 3:
            await keepalive()
            last_touch = time.monotonic()
        acquired, thread = await lease.acquire()
    try:
        async with lease.renewing(keepalive):
            await _drive(deps, lease, thread, attempt)
    except Fenced:
        # This worker stalled past its lease; whatever it did last is the new holder's to redo.
        log.warning("lease lost before a commit; nothing written", thread_id=thread_id)
    finally:
        if lease.held:
            await _drop_quietly(lease)


async def _drive(deps: Deps, lease: Lease, thread: Thread | None, attempt: int) -> None:
    while True:
        if thread is None:
            log.warning("job for a missing thread", thread_id=lease.thread_id)
            return
        agent = EXTERNAL if thread.origin.kind == "external" else deps.agents.get(thread.agent)
        if agent is None:
            unknown = f"unknown agent {thread.agent!r}"
            failed: list[Event] = [Failed(reason=unknown, at=deps.clock.now())]
            thread = await _commit(deps, lease, thread, failed)
            continue
        action = decide(thread, agent, thread.origin.kind in deps.channels)
        if isinstance(action, Stop):
            if not await lease.release():
                return
            thread = await deps.store.get(thread.id)  # work arrived while we held it
            continue
        # A side effect is checked against the lease right before it, so a worker that stalled
        # past its lease does not start one another holder may be running too.
        if lease.lost or (isinstance(action, RunTool | Deliver) and not await lease.check()):
            log.warning("lease lost; leaving the thread to its new holder", thread_id=thread.id)
            return
        # No tool starts and no model is asked once this worker can know of a cancel: `thread`
        # is as the store had it one round trip ago (the acquire's load, a load, or this
        # worker's own commit, whose compare-and-set refuses a copy a cancel has moved on), so
        # `decide` above saw any cancel committed before that. A cancel landing after it lets
        # this one step start; a separate read of the status here only moved that window one
        # round trip later, at the price of one more per step (bench/RESULTS.md, issue 25).
        with telemetry.span(f"hitlbot.step {type(action).__name__}", _step_attributes(thread)):
            events = await _step(deps, thread, agent, action, attempt)
            if events is None:
                return  # a later attempt is queued
            _human_wait(events)
            thread = await _commit_or_redo(deps, lease, thread, agent, action, events)
        if not lease.held:
            return  # let go with the commit: the thread waits for a human or is finished
        attempt = 0  # that step went through: the next one gets the whole retry schedule


def _step_attributes(thread: Thread) -> dict[str, str]:
    return {"hitlbot.thread_id": thread.id, "hitlbot.agent": thread.agent}


def _human_wait(events: list[Event]) -> None:
    """The human wait begins: an event on the step's span (the decision has its own)."""
    for event in events:
        if isinstance(event, HumanRequest):
            attributes = {"hitlbot.request_id": event.request_id, "hitlbot.kind": event.kind}
            telemetry.event("hitlbot.human_request", attributes)


async def _step(
    deps: Deps, thread: Thread, agent: Agent, action: Action, attempt: int
) -> list[Event] | None:
    """The events of one step, with outages turned into events; None if retried later."""
    try:
        with metrics.STEP_SECONDS.labels(type(action).__name__).time():
            return await step(thread, agent, action, deps)
    except LLMUnavailable as exc:
        if await _retry_later(deps, thread, attempt, str(exc)):
            return None
        reason = f"the model is unavailable after retries: {exc}"
        return [Failed(reason=reason, at=deps.clock.now())]
    except NotConfigured as exc:
        reason = f"hitlbot is not configured for this step: {exc}"
        return [Failed(reason=reason, at=deps.clock.now())]
    except LLMFatal as exc:
        reason = f"the Messages API rejected the request: {exc}"
        return [Failed(reason=reason, at=deps.clock.now())]
    except DeliveryUnavailable as exc:
        delays = deps.settings.delivery_retry_delays()
        if await _retry_later(deps, thread, attempt, str(exc), delays, "delivery"):
            metrics.DELIVERY_PROBLEMS.labels(thread.origin.kind, "retried").inc()
            return None
        reason = f"still failing after retries: {exc}"
        return [_given_up(thread, action, reason, deps.clock.now())]
    except DeliveryFailed as exc:
        return [_given_up(thread, action, str(exc), deps.clock.now())]


def _given_up(thread: Thread, action: Action, reason: str, now: datetime) -> Error:
    """The record of an outbound event that will not be sent; it then counts as handled."""
    assert isinstance(action, Deliver), "only delivery raises delivery errors"
    log.error(
        "delivery failed; recorded on the thread",
        thread_id=thread.id,
        ref=action.ref,
        channel=thread.origin.kind,
        reason=reason,
    )
    metrics.DELIVERY_PROBLEMS.labels(thread.origin.kind, "given_up").inc()
    message = f"could not send {action.ref} by {thread.origin.kind}: {reason}"
    return Error(kind="delivery", message=message, ref=action.ref, at=now)


async def _commit(
    deps: Deps, lease: Lease, thread: Thread, events: list[Event], agent: Agent | None = None
) -> Thread:
    """Commit under the lease, renewing it in the same round trip. With `agent`: if the
    thread then stops (it waits for a human, or is finished), the same round trip lets the
    lease go, as `Stop` would one round trip later; unless work arrived meanwhile (the dirty
    mark): then the lease stays held and the thread is loaded again to go on, as after
    `Lease.release`."""
    after = thread.appended(*events)
    stops = agent is not None and isinstance(
        decide(after, agent, after.origin.kind in deps.channels), Stop
    )
    sent_at = time.monotonic()
    committed, held = await deps.store.commit_step(  # traced by the store
        thread, events, fence=lease.token, renew_ms=deps.leases.lease_ms, release=stops, after=after
    )
    lease.confirmed(sent_at)
    for event in events:
        metrics.EVENTS.labels(event.type).inc()
    if held is None:
        return committed
    lease.held = held
    if not held:
        return committed
    fresh = await deps.store.get(thread.id)  # work arrived while we held it
    return fresh if fresh is not None else committed


async def _commit_or_redo(
    deps: Deps, lease: Lease, thread: Thread, agent: Agent, action: Action, events: list[Event]
) -> Thread:
    """Commit; on a conflict keep the work only if the fresh thread still wants the same action.

    A tool's result is kept (the tool ran; dropping it would run it again); a model's choice
    is dropped when something new arrived, since it was made without seeing it.
    """
    try:
        return await _commit(deps, lease, thread, events, agent)
    except Conflict:
        fresh = await deps.store.get(thread.id)
        if fresh is None:
            raise
        again = decide(fresh, agent, fresh.origin.kind in deps.channels)
        if again == action and not isinstance(action, CallModel):
            return await _commit(deps, lease, fresh, events)
        if isinstance(action, RunTool) and not _has_result(fresh, action.call.call_id):
            # The tool ran (a cancel came in meanwhile): its result is kept; nothing runs after.
            return await _commit(deps, lease, fresh, events, agent)
        log.info("dropped a step made on a stale thread", thread_id=thread.id, action=repr(action))
        return fresh


def _has_result(thread: Thread, call_id: str) -> bool:
    return any(
        isinstance(event, ToolResult | Error) and event.call_id == call_id
        for event in thread.events
    )


async def _retry_later(
    deps: Deps,
    thread: Thread,
    attempt: int,
    reason: str,
    delays: list[float] | None = None,
    what: str = "model",
) -> bool:
    """Queue a later attempt if the schedule allows; False when retries are spent."""
    delays = deps.settings.retry_delays() if delays is None else delays
    if attempt >= len(delays):
        return False
    delay = delays[attempt]
    log.warning(
        f"{what} unavailable; retrying",
        thread_id=thread.id,
        attempt=attempt + 1,
        delay=delay,
        reason=reason,
    )
    if what == "model":
        metrics.LLM_RETRIES.inc()
    due = deps.clock.time() + delay
    # The mark carries the due time, so the sweeper leaves a thread waiting out its backoff
    # alone (holding no lease meanwhile) instead of starting a second attempt chain.
    await deps.sweeps.mark_queued(thread.id, due)
    await deps.enqueue(thread.id, attempt=attempt + 1, not_before=due)
    return True


async def _drop_quietly(lease: Lease) -> None:
    try:
        await lease.drop()
    except Exception as exc:  # the lease expires by itself; never mask the original error
        log.warning("lease release failed", thread_id=lease.thread_id, error=str(exc))
