"""What the Slack listeners use, in one object built once per web process."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.runtime.service import Service
from bot.slack.background import Background
from bot.slack.routing import Routes
from bot.slack.working import Working
from bot.slack.working_job import ShowWorking
from bot.store.slackstate import SlackState
from bot.store.threads import ThreadStore


@dataclass(frozen=True)
class SlackDeps:
    """The service every channel resumes threads through, and Slack's own live things."""

    service: Service
    """Launch, respond, post_message: the one path shared with the API."""
    client: AsyncWebClient
    """The process's one Web API client (`deps.slack`)."""
    state: SlackState
    """Slack's Redis records: thread links, claims, modals, working markers."""
    working: Working
    """The working indicator: the status line, or the reaction where it cannot be set."""
    background: Background
    """Slack calls made after the ack."""
    routes: Routes
    """Channel -> agent."""
    show_working: ShowWorking | None = None
    """The working indicator's job, queued with a message's step for a worker to show; None:
    the reaction is off (the status line is still set by the steps)."""

    @property
    def settings(self) -> Settings:
        """The process's settings."""
        return self.service.deps.settings

    @property
    def store(self) -> ThreadStore:
        """The thread store."""
        return self.service.deps.store

    def tell(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> None:
        """Show `text` to `user` only (an ephemeral message), after the ack."""
        note = self.client.chat_postEphemeral(
            channel=channel, user=user, text=text, thread_ts=thread_ts
        )
        self.background.spawn(note, "chat.postEphemeral")
