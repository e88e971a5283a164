"""The working indicator: the thread's status line, or a reaction on the person's message.

The web process marks the message in Redis and queues this indicator after the ack. Where
Slack shows a status line under the thread (`bot/slack/status.py`), it says the agent is
thinking, and no reaction is added; elsewhere the reaction is. The worker's delivery of the
thread's next message takes every marker and removes their reactions (a post in the thread
removes the status line). The
reaction is added after the marker and checked against it afterwards, so whichever runs first,
no reaction outlives the reply. It is cosmetic: every Slack error here is logged and dropped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import aiohttp
import structlog
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.decide import THINKING
from bot.slack.status import Status
from bot.store.claims import undone_on_failure
from bot.store.slackstate import SlackState

log = structlog.get_logger(__name__)


class Working:
    """Adds and clears the working reaction; `reaction` empty turns it off. With `status`,
    the status line stands in for the reaction wherever Slack can show it."""

    def __init__(
        self,
        client: AsyncWebClient,
        state: SlackState,
        reaction: str,
        status: Status | None = None,
    ) -> None:
        self.client = client
        self.state = state
        self.reaction = reaction.strip(":")
        self.status = status

    async def mark(self, thread_id: str, channel: str, ts: str) -> None:
        """Remember the message before its work is queued (fast: one Redis round trip)."""
        if self.reaction:
            await self.state.mark_working(thread_id, channel, ts)

    async def unmark(self, thread_id: str, channel: str, ts: str) -> None:
        """The message was not taken after all."""
        if self.reaction:
            await self.state.unmark_working(thread_id, channel, ts)

    @asynccontextmanager
    async def marked(
        self, thread_id: str, channel: str, ts: str, *, when: bool = True
    ) -> AsyncIterator[None]:
        """Mark the message (if `when`) for the block; unmark it if the block fails."""
        if not when:
            yield
            return
        await self.mark(thread_id, channel, ts)
        async with undone_on_failure(partial(self.unmark, thread_id, channel, ts)):
            yield

    async def show(self, thread_id: str, channel: str, ts: str, thread_ts: str = "") -> None:
        """Set the status line of `thread_ts`, or add the reaction where it cannot be set
        (after the ack); take either back if the reply already went out."""
        if thread_ts and self.status is not None:
            if await self.status.show(channel, thread_ts, THINKING):
                if await self.state.is_working(thread_id, channel, ts):
                    await self.state.unmark_working(thread_id, channel, ts)  # no reaction
                else:
                    await self.status.clear(channel, thread_ts)  # the reply went out first
                return
        if not self.reaction:
            return
        await self._call("reactions_add", channel, ts)
        if not await self.state.is_working(thread_id, channel, ts):
            await self._call("reactions_remove", channel, ts)

    async def clear(self, thread_id: str) -> None:
        """Remove the reactions of every marked message: a reply just went out."""
        if not self.reaction:
            return
        for channel, ts in await self.state.take_working(thread_id):
            await self._call("reactions_remove", channel, ts)

    async def _call(self, method: str, channel: str, ts: str) -> None:
        try:
            await getattr(self.client, method)(channel=channel, timestamp=ts, name=self.reaction)
        except (TimeoutError, SlackClientError, aiohttp.ClientError) as exc:
            # already_reacted / no_reaction are expected when both sides raced; all are harmless.
            log.debug("working reaction not changed", method=method, error=str(exc))
