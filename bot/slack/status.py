"""The status line under a Slack thread while the agent works (`assistant.threads.setStatus`).

"hitlbot is thinking…" while the model is asked, "hitlbot is checking the deploy catalog…"
while a tool runs. Slack removes it when the app posts in the thread (the question, the card,
the answer), and after two minutes without a post. Where Slack refuses it (an app without the
scope for that conversation, a workspace without the agent features), the channel is
remembered for the life of the process and the working reaction is used there instead. It is
cosmetic: every Slack error is logged and dropped.
"""

from __future__ import annotations

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.decide import THINKING

log = structlog.get_logger(__name__)

LOADING_MESSAGES = (
    "Reading the thread…",
    "Choosing the next step…",
    "Checking what needs a human…",
)
"""Lines Slack rotates through under the status while the model is asked."""
UNSUPPORTED = frozenset(
    {
        "missing_scope",
        "not_allowed_token_type",
        "not_allowed",
        "method_not_supported_for_channel_type",
        "channel_type_not_supported",
        "feature_not_enabled",
        "unknown_method",
    }
)
"""Errors saying the status line cannot be set in that conversation, ever."""


class Status:
    """Sets and clears the status line of Slack threads; one per process."""

    def __init__(self, client: AsyncWebClient, *, enabled: bool = True) -> None:
        self.client = client
        self.enabled = enabled
        self._refused: set[str] = set()

    def usable(self, channel: str) -> bool:
        """Whether the status line is on and Slack has not refused it in `channel`."""
        return self.enabled and channel not in self._refused

    async def show(self, channel: str, thread_ts: str, status: str) -> bool:
        """Set the status; False where it cannot be shown. Not remembered per thread: another
        worker may have changed it, or a post cleared it, since this process last set it."""
        if not self.usable(channel):
            return False
        loading = list(LOADING_MESSAGES) if status == THINKING else None
        return await self._call(channel, thread_ts, status, loading)

    async def clear(self, channel: str, thread_ts: str) -> None:
        """Remove the status (Slack also does when the app posts in the thread)."""
        if self.usable(channel):
            await self._call(channel, thread_ts, "", None)

    async def _call(
        self, channel: str, thread_ts: str, status: str, loading: list[str] | None
    ) -> bool:
        try:
            await self.client.assistant_threads_setStatus(
                channel_id=channel, thread_ts=thread_ts, status=status, loading_messages=loading
            )
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "")
            if error in UNSUPPORTED:
                log.info("no status line here; the working reaction stands in", channel=channel)
                self._refused.add(channel)
            else:
                log.debug("status not set", channel=channel, error=error)
            return False
        except (TimeoutError, SlackClientError, aiohttp.ClientError) as exc:
            log.debug("status not set", channel=channel, error=str(exc))
            return False
        return True
