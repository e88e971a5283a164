"""The channel of threads launched through the HTTP API or the CLI.

Their callers poll the API, so questions and answers need no sending; approval cards go to
Slack's `SLACK_APPROVAL_CHANNEL`, like those of every thread that did not start in Slack.
Registered only when that channel is configured; otherwise API threads need no delivery.
"""

from __future__ import annotations

from datetime import datetime

from bot.core.events import Cancelled, DeadlinePassed, Event, HumanRequest, RequestSent
from bot.core.thread import Thread
from bot.runtime.deps import Channel


class ApiChannel:
    """Hands approval requests to `approvals`; records everything else as left for polling."""

    def __init__(self, approvals: Channel) -> None:
        self.approvals = approvals

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Post an approval card; note anything else as available over the API."""
        approval = isinstance(event, HumanRequest) and event.kind == "approval"
        if approval or isinstance(event, DeadlinePassed | Cancelled):
            return await self.approvals.deliver(thread, ref, event, now)
        return RequestSent(ref=ref, channel="api", at=now)
