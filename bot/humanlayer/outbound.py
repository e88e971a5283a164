"""The channel of external calls: their requests posted where the caller said, their
deadlines shown beside them, and their outcome shown on the card and pushed to the caller.

Registered as `deps.channels["external"]`. A Slack request goes to the caller's
`channel_or_user_id` (a user id: a direct message), in its `thread_ts` if given, else to
`SLACK_APPROVAL_CHANNEL`; a question's Slack thread is linked to the call's thread, so the
first allowed reply there answers it. Mail goes through `bot.humanlayer.mail`.
"""

from __future__ import annotations

from datetime import datetime

import structlog
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import Cancelled, DeadlinePassed, Done, Event, HumanRequest, RequestSent
from bot.core.external import the_request
from bot.core.thread import Thread
from bot.humanlayer.cards import channel_of, external_card
from bot.humanlayer.webhook import ResponseWebhook
from bot.runtime.delivery import DeliveryFailed
from bot.runtime.deps import Deps
from bot.slack.outbound import deliver_deadline, post, show_response, withdraw_cards
from bot.store.intake import SlackLink

log = structlog.get_logger(__name__)


class ExternalChannel:
    """Delivers the requests of external calls, and their outcomes."""

    def __init__(self, deps: Deps, webhook: ResponseWebhook | None = None) -> None:
        self.deps = deps
        self.webhook = webhook
        self._team: str | None = None

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Post a request, show a passed deadline, or conclude (update the card, push)."""
        if isinstance(event, HumanRequest):
            return await self._ask(thread, event, now)
        client = self.deps.slack
        if isinstance(event, DeadlinePassed):
            if client is None:
                return RequestSent(ref=ref, channel="external", at=now)
            approvers = self.deps.settings.slack_approver_ids()
            return await deliver_deadline(client, thread, ref, event, approvers, now)
        if isinstance(event, Cancelled):
            if client is not None:
                await withdraw_cards(client, thread, event)
            if self.webhook is not None:  # the caller reads the cancel as a denial (views.py)
                await self.webhook.push(thread)
            return RequestSent(ref=ref, channel="external", at=now)
        if isinstance(event, Done):
            request = the_request(thread)
            if client is not None and request is not None:
                await show_response(client, thread, request.request_id)
            if self.webhook is not None:
                await self.webhook.push(thread)
            return RequestSent(ref=ref, channel="external", at=now)
        return RequestSent(ref=ref, channel="external", at=now)

    async def _ask(self, thread: Thread, request: HumanRequest, now: datetime) -> RequestSent:
        channel = channel_of(thread)
        if channel is not None and channel.email is not None:
            from bot.humanlayer.mail import send_request  # the mail channel's own dependencies

            return await send_request(self.deps, thread, request, now)
        client = self.deps.slack
        if client is None:
            raise DeliveryFailed("Slack is not configured (SLACK_BOT_TOKEN)")
        slack = channel.slack if channel is not None else None
        where = slack.channel_or_user_id if slack is not None else None
        where = where or self.deps.settings.slack_approval_channel
        if not where:
            raise DeliveryFailed("no Slack channel: name one, or set SLACK_APPROVAL_CHANNEL")
        thread_ts = slack.thread_ts if slack is not None else None
        coordinates = await post(client, where, external_card(thread, request), thread_ts)
        if request.kind == "question":
            # Replies in the question's Slack thread answer it.
            team = await self._team_id(client)
            parent = thread_ts or coordinates["ts"]
            await self.deps.intake.link(SlackLink(team, coordinates["channel"], parent), thread.id)
        return RequestSent(ref=request.request_id, channel="slack", coordinates=coordinates, at=now)

    async def _team_id(self, client: AsyncWebClient) -> str:
        """The workspace id, from `auth.test` once per process (links are keyed by it)."""
        if self._team is None:
            reply = await client.auth_test()
            self._team = str(reply.get("team_id") or "")
        return self._team


def external_channel(deps: Deps) -> ExternalChannel:
    """The channel over `deps`, with the response webhook when one is configured."""
    settings = deps.settings
    url = settings.response_webhook_url
    secret = settings.response_webhook_secret or settings.api_token or ""
    webhook = ResponseWebhook(deps.http, url, secret, deps.clock) if url else None
    return ExternalChannel(deps, webhook)
