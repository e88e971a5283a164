"""The working indicator: a reaction on the person's message while the agent works on it.

The web process marks the message in Redis and adds the reaction after the ack; the worker's
delivery of the thread's next message takes every marker and removes their reactions. The
reaction is added after the marker and checked against it afterwards, so whichever runs first,
no reaction outlives the reply. It is cosmetic: every Slack error here is logged and dropped.
"""

from __future__ import annotations

import aiohttp
import structlog
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.slackstate import SlackState

log = structlog.get_logger(__name__)


class Working:
    """Adds and clears the working reaction; `reaction` empty turns it off."""

    def __init__(self, client: AsyncWebClient, state: SlackState, reaction: str) -> None:
        self.client = client
        self.state = state
        self.reaction = reaction.strip(":")

    async def mark(self, thread_id: str, channel: str, ts: str) -> None:
        """Remember the message before its work is queued (fast: one Redis round trip)."""
        if self.reaction:
            await self.state.mark_working(thread_id, channel, ts)

    async def unmark(self, thread_id: str, channel: str, ts: str) -> None:
        """The message was not taken after all."""
        if self.reaction:
            await self.state.unmark_working(thread_id, channel, ts)

    async def show(self, thread_id: str, channel: str, ts: str) -> None:
        """Add the reaction (after the ack); take it back if the reply already went out."""
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
