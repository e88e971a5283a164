"""The working indicator as a worker job: the web process queues it, a worker shows it.

Adding the reaction from the web process meant a Slack Web API call (and its aiohttp work) in
the process that has to ack fast: about 15 % of it under ingest load. The web process still
marks the message before the step is queued (so a reply sent at once clears the reaction);
then, after the ack, it queues this job on the step stream instead of calling Slack, and any
worker adds the reaction. Cosmetic: the job is acked whatever happens.
"""

from __future__ import annotations

from typing import Any

import structlog
from taskiq import Context, TaskiqDepends
from taskiq.kicker import AsyncKicker

from bot.runtime.deps import Deps
from bot.slack.status import Status
from bot.slack.working import Working
from bot.store.errors import StoreError
from bot.store.queue import JobTemplate, StepBroker

log = structlog.get_logger(__name__)

TASK_NAME = "hitlbot.slack_working"
"""The job: add the working reaction to one message."""


class ShowWorking:
    """The web side: queue the job for a message of a thread."""

    def __init__(self, broker: StepBroker) -> None:
        self._kicker: AsyncKicker[Any, Any] = AsyncKicker(TASK_NAME, broker, labels={})
        self._job = JobTemplate(self._kicker)

    async def __call__(self, thread_id: str, channel: str, ts: str, thread_ts: str = "") -> None:
        await self._kicker.kiq(thread_id, channel, ts, thread_ts)

    def job(self, thread_id: str, channel: str, ts: str, thread_ts: str = "") -> bytes:
        """The stream entry's `data` that `self(thread_id, channel, ts, thread_ts)` would add."""
        return self._job(thread_id, channel, ts, thread_ts)


def register(broker: StepBroker, deps: Deps) -> None:
    """The worker side: register the job's task (when Slack is configured)."""
    if deps.slack is None:
        return
    state = deps.slack_state
    status = Status(deps.slack, enabled=deps.settings.slack_status)
    working = Working(deps.slack, state, deps.settings.slack_working_reaction, status)

    async def show_working(
        thread_id: str,
        channel: str,
        ts: str,
        thread_ts: str = "",
        context: Context = TaskiqDepends(),  # noqa: B008 - how taskiq injects it
    ) -> None:
        try:
            await working.show(thread_id, channel, ts, thread_ts)
        except StoreError as exc:  # the reaction is cosmetic: never redeliver for it
            log.warning("working reaction skipped", thread_id=thread_id, error=str(exc))
        finally:
            await context.ack()

    broker.register_task(show_working, task_name=TASK_NAME)
