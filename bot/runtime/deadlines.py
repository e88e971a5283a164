"""Deadlines of pending requests, durable in Redis and swept by the worker's sweeper.

A request recorded with `remind_at` / `expire_at` is marked in `Keys.deadlines` in the same
round trip as its commit. One sweeper at a time reads the marks that are due and records,
under the thread's compare-and-set, a `deadline_passed` event (which the worker then
delivers: a reminder beside the card, or the card updated) and, for an expiry, the decision
itself: a rejection by `hitlbot`, reason "expired". Nothing sleeps: a restart of every
process loses nothing, since the marks and the events are all in Redis.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from bot.core.events import DeadlinePassed, Event, HumanRequest, HumanResponse
from bot.core.policy import deadline_steps
from bot.core.thread import Thread
from bot.runtime.deps import Deps
from bot.store.threads import Busy

log = structlog.get_logger(__name__)

BATCH = 200
"""Marks handled per sweep."""
DECIDER = "hitlbot"
"""Who an expiry is recorded as decided by."""


async def sweep_deadlines(deps: Deps, now: float) -> int:
    """Record every deadline due by `now`; returns how many threads changed."""
    changed = 0
    for member in await deps.sweeps.due_deadlines(now, BATCH):
        thread_id, _, request_id = member.partition(" ")
        try:
            moved, next_due = await _record(deps, thread_id, request_id, now)
        except Busy:
            continue  # the next sweep tries again
        await deps.sweeps.reschedule(member, next_due)
        if moved:
            changed += 1
            await deps.enqueue(thread_id)  # the worker delivers what was recorded
    return changed


async def _record(
    deps: Deps, thread_id: str, request_id: str, now: float
) -> tuple[bool, float | None]:
    """Record the request's due deadlines; (anything recorded, the next one due if any)."""
    recorded: list[Event] = []

    def change(thread: Thread) -> list[Event]:
        recorded.clear()
        recorded.extend(passed(thread, request_id, now, deps.clock.now()))
        return list(recorded)

    thread = await deps.store.update(thread_id, change, queued=True)
    if thread is None:
        return False, None
    request = thread.request(request_id)
    if request is None or not _pending(thread, request_id):
        return bool(recorded), None
    done = _steps_done(thread, request_id)
    upcoming = [at for step, at in deadline_steps(request) if step not in done]
    return bool(recorded), min(upcoming) if upcoming else None


def passed(thread: Thread, request_id: str, now: float, at: datetime) -> list[Event]:
    """The events recording `request_id`'s deadlines due by `now` (pure): none if it was
    answered or they are recorded already; an expiry is also the decision."""
    request = thread.request(request_id)
    if request is None or not _pending(thread, request_id):
        return []
    done = _steps_done(thread, request_id)
    due = [step for step, when in deadline_steps(request) if when <= now and step not in done]
    if "expire" in due:
        return [DeadlinePassed(request_id=request_id, step="expire", at=at), _expiry(request, at)]
    return [DeadlinePassed(request_id=request_id, step=step, at=at) for step in due]


def _expiry(request: HumanRequest, at: datetime) -> HumanResponse:
    expired = request.expire_at or at
    reason = f"expired: no decision by {expired:%Y-%m-%d %H:%M} UTC"
    if request.kind == "approval":
        return HumanResponse(
            request_id=request.request_id, user=DECIDER, approved=False, comment=reason, at=at
        )
    return HumanResponse(request_id=request.request_id, user=DECIDER, answer=f"({reason})", at=at)


def _pending(thread: Thread, request_id: str) -> bool:
    pending = thread.pending_request
    return pending is not None and pending.request_id == request_id


def _steps_done(thread: Thread, request_id: str) -> set[str]:
    return {
        e.step
        for e in thread.events
        if isinstance(e, DeadlinePassed) and e.request_id == request_id
    }
