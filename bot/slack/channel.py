"""Outbound: a thread's questions, approval cards, answers and failures, posted to Slack.

The runner calls `deliver` once per outbound event and records the returned `RequestSent`, so
each is posted once (a worker killed between the post and the record may post it twice; the
card of record is the recorded one, and only its buttons count). A post Slack refuses for now
(after the client's own retries) is retried later by the runner; one it refuses for good
(a channel the bot was removed from) is recorded on the thread.
"""

from __future__ import annotations

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import DeliveryFailed, DeliveryUnavailable
from bot.deps import Deps
from bot.events import Done, Event, Failed, HumanRequest, RequestSent
from bot.slack.blocks import (
    SlackMessage,
    answered_question,
    approval_card,
    decided_card,
    done_message,
    failed_message,
    note_message,
    question_message,
)
from bot.slack.state import SlackState
from bot.slack.working import Working
from bot.thread import SlackOrigin, Thread

log = structlog.get_logger(__name__)


class SlackChannel:
    """Delivers to the Slack thread a thread started in (`deps.channels["slack"]`)."""

    def __init__(
        self, client: AsyncWebClient, working: Working, approval_channel: str | None = None
    ) -> None:
        self.client = client
        self.working = working
        self.approval_channel = approval_channel
        """Where approval cards of DM threads go: approvers cannot see someone else's DM."""

    @classmethod
    def from_deps(cls, deps: Deps) -> SlackChannel:
        """The channel over `deps.slack`, which must be set."""
        assert deps.slack is not None, "the Slack channel needs SLACK_BOT_TOKEN"
        state = SlackState(deps.redis, deps.keys, deps.settings.thread_ttl_s)
        working = Working(deps.slack, state, deps.settings.slack_working_reaction)
        return cls(deps.slack, working, deps.settings.slack_approval_channel)

    async def deliver(self, thread: Thread, ref: str, event: Event) -> RequestSent:
        """Post `event` in the thread's Slack thread, then clear the working reaction.

        An approval asked in a direct message goes to `SLACK_APPROVAL_CHANNEL` instead (when
        set), with a note in the DM saying where: nobody but the requester sees a DM, and
        the requester may not approve their own call.
        """
        origin = thread.origin
        if not isinstance(origin, SlackOrigin):
            raise TypeError(f"thread {thread.id} did not start in Slack")
        direct = origin.channel.startswith("D")
        is_approval = isinstance(event, HumanRequest) and event.kind == "approval"
        if direct and is_approval and self.approval_channel:
            assert isinstance(event, HumanRequest)
            sent = await post_approval_card(self.client, self.approval_channel, thread, event)
            where = f"<#{self.approval_channel}>"
            note = note_message(f"I asked for approval in {where}; I will go on here after.")
            try:
                await post(self.client, origin.channel, note, origin.thread_ts)
            except (DeliveryUnavailable, DeliveryFailed) as exc:  # the card is what counts
                log.warning("could not say where the approval went", error=str(exc))
            await self.working.clear(thread.id)
            return sent
        coordinates = await post(
            self.client, origin.channel, outbound_message(thread, event), origin.thread_ts
        )
        await self.working.clear(thread.id)
        return RequestSent(ref=ref, channel="slack", coordinates=coordinates)


def outbound_message(thread: Thread, event: Event) -> SlackMessage:
    """The Slack message for an outbound event (pure)."""
    if isinstance(event, HumanRequest):
        if event.kind == "approval":
            return approval_card(thread, event)
        return question_message(event)
    if isinstance(event, Done):
        return done_message(event)
    if isinstance(event, Failed):
        return failed_message(event)
    raise TypeError(f"no Slack message for a {event.type} event")


_TRANSIENT = frozenset(
    {"ratelimited", "fatal_error", "internal_error", "service_unavailable", "request_timeout"}
)
"""Slack errors that say "not now" rather than "never"."""


async def post(
    client: AsyncWebClient, channel: str, message: SlackMessage, thread_ts: str | None = None
) -> dict[str, str]:
    """Post a message; its coordinates (`channel`, `ts`) as recorded in `RequestSent`.

    Raises DeliveryUnavailable when Slack cannot take it now, DeliveryFailed when it never will.
    """
    try:
        reply = await client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "")
        status = exc.response.status_code
        if status == 429 or status >= 500 or error in _TRANSIENT:
            raise DeliveryUnavailable(f"Slack answered {error or status}") from exc
        raise DeliveryFailed(f"Slack refused the message: {error or status}") from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise DeliveryUnavailable(f"Slack is unreachable: {type(exc).__name__} {exc}") from exc
    return {"channel": str(reply["channel"]), "ts": str(reply["ts"])}


async def post_approval_card(
    client: AsyncWebClient, channel: str, thread: Thread, request: HumanRequest
) -> RequestSent:
    """Post `request`'s card at the top of `channel` (e.g. `SLACK_APPROVAL_CHANNEL`).

    For threads that did not start in Slack (email): a channel delivering such a thread's
    approval calls this, and records the result like any `RequestSent`; clicks on the card
    then count exactly as on a card in a Slack thread.
    """
    coordinates = await post(client, channel, approval_card(thread, request))
    return RequestSent(ref=request.request_id, channel="slack", coordinates=coordinates)


class ApprovalChannel:
    """Approval cards of threads that did not start in Slack, posted to one channel.

    The email channel hands its approval requests here (`SLACK_APPROVAL_CHANNEL`).
    """

    def __init__(self, client: AsyncWebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    async def deliver(self, thread: Thread, ref: str, event: Event) -> RequestSent:
        """Post the approval card of `event`."""
        if not (isinstance(event, HumanRequest) and event.kind == "approval"):
            raise TypeError(f"only approval requests go to the approval channel, not {event!r}")
        return await post_approval_card(self.client, self.channel, thread, event)


def messages_of_record(thread: Thread, request_id: str) -> list[dict[str, str]]:
    """Where the request was posted in Slack, as recorded (normally once)."""
    return [
        event.coordinates
        for event in thread.events
        if isinstance(event, RequestSent) and event.ref == request_id and event.channel == "slack"
    ]


async def show_response(client: AsyncWebClient, thread: Thread, request_id: str) -> None:
    """Update the request's message(s) in place: the decision or answer, buttons gone."""
    request = thread.request(request_id)
    response = thread.response_to(request_id)
    if request is None or (response is None and request.kind != "approval"):
        return
    if request.kind == "approval":
        # Short of its quorum the card stays open and shows who has approved so far.
        message = (
            approval_card(thread, request)
            if response is None
            else decided_card(thread, request, response)
        )
    elif response is not None:
        message = answered_question(request, response)
    for where in messages_of_record(thread, request_id):
        await client.chat_update(
            channel=where["channel"], ts=where["ts"], text=message.text, blocks=message.blocks
        )
