"""The final answer streamed into the Slack thread as the model writes it.

`chat.startStream` / `appendStream` / `stopStream` through slack-sdk's `chat_stream` helper,
which buffers the text (`BUFFER` characters a call: `chat.appendStream` is Tier 4) so the
first words show within about a second and Slack's rate tiers hold. The stream ends with the
feedback buttons under the answer, and is recorded like a posted answer (`RequestSent`, in the
same commit as the answer), so it is never posted a second time. Where Slack refuses the
stream (a workspace without it, an error on the way), nothing is recorded and the answer is
posted whole by the usual delivery, as without streaming.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import structlog
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.thread import SlackOrigin, Thread
from bot.slack.answers import feedback_block
from bot.slack.cards import escape

log = structlog.get_logger(__name__)

BUFFER = 120
"""Characters gathered before each Slack call (the helper's `buffer_size`)."""
FIRST_WORDS = 16
"""The stream starts as soon as this much is written: the first words show at once."""


class AnswerStream:
    """One answer streamed into one Slack thread; `update` as it grows, then `finish`."""

    def __init__(
        self,
        client: AsyncWebClient,
        thread: Thread,
        origin: SlackOrigin,
        done: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.thread = thread
        self.origin = origin
        self.done = done
        """Called with the thread's id once the answer is in (clears the working reaction)."""
        self._stream: AsyncChatStream | None = None
        self._sent = 0
        self.failed = False
        """Slack refused it: the answer goes out the usual way."""

    @property
    def started(self) -> bool:
        """Whether any of the answer was handed to Slack."""
        return self._sent > 0 and not self.failed

    async def update(self, text: str) -> None:
        """The answer so far (each time longer): append what is new."""
        if self.failed or len(text) <= self._sent:
            return
        new, self._sent = text[self._sent :], len(text)
        try:
            if self._stream is None:
                self._stream = await self.client.chat_stream(buffer_size=BUFFER, **self._where())
            await self._stream.append(markdown_text=escape(new))
            if self._stream.ts is None and self._sent >= FIRST_WORDS:
                await self._stream.append(markdown_text="", chunks=[])  # start it now
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("answer not streamed; it will be posted", error=str(exc))
            self.failed = True

    async def finish(self, text: str, ref: str) -> dict[str, str] | None:
        """Send the rest of the whole answer and end the stream with the feedback buttons;
        the message's coordinates, or None if it must be posted the usual way."""
        await self.update(text)
        if self.failed or self._stream is None:
            return None
        try:
            await self._stream.stop(blocks=[feedback_block(self.thread.id, ref)])
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("answer stream not ended; it will be posted", error=str(exc))
            return None
        if self.done is not None:
            await self.done(self.thread.id)
        ts = self._stream.ts
        return {"channel": self.origin.channel, "ts": ts} if ts else None

    async def abandon(self) -> None:
        """End a stream whose text did not become an answer."""
        if self._stream is None or self.failed:
            return
        try:
            await self._stream.stop(markdown_text="\n\n_(not sent: this answer was not kept)_")
        except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            log.info("abandoned answer stream not ended", error=str(exc))

    def _where(self) -> dict[str, str]:
        where = {"channel": self.origin.channel, "thread_ts": self.origin.thread_ts}
        if not self.origin.channel.startswith("D"):  # outside a DM Slack needs the reader
            where["recipient_user_id"] = self.origin.user
            where["recipient_team_id"] = self.origin.team or ""
        return where
