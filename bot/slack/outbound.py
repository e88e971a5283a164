"""Outbound: a thread's questions, approval cards, answers and failures, posted to Slack.

The runner calls `deliver` once per outbound event and records the returned `RequestSent`, so
each is posted once (a worker killed between the post and the record may post it twice; the
card of record is the recorded one, and only its buttons count). A post Slack refuses for now
(after the client's own retries) is retried later by the runner; one it refuses for good
(a channel the bot was removed from) is recorded on the thread.
"""

from __future__ import annotations

from datetime import datetime

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import (
    Cancelled,
    DeadlinePassed,
    Done,
    Event,
    Failed,
    HumanRequest,
    HumanResponse,
    RequestSent,
)
from bot.core.policy import allowed_approvers
from bot.core.thread import SlackOrigin, Thread
from bot.runtime.delivery import DeliveryFailed, DeliveryUnavailable
from bot.runtime.deps import Deps
from bot.slack.answers import answer_messages
from bot.slack.cards import (
    SlackMessage,
    answered_question,
    approval_card,
    cancelled_message,
    cancelled_request,
    decided_card,
    failed_message,
    mention,
    note_message,
    question_message,
)
from bot.slack.groups import GroupMembers
from bot.slack.status import Status
from bot.slack.streaming import AnswerStream
from bot.slack.working import Working

log = structlog.get_logger(__name__)


class SlackChannel:
    """Delivers to the Slack thread a thread started in (`deps.channels["slack"]`)."""

    def __init__(
        self,
        client: AsyncWebClient,
        working: Working,
        approval_channel: str | None = None,
        approvers: frozenset[str] = frozenset(),
        streaming: bool = False,
    ) -> None:
        self.client = client
        self.working = working
        self.status = working.status
        """The status line under the thread while a step runs (None: never shown)."""
        self.streaming = streaming
        """Stream final answers as the model writes them (`HITLBOT_SLACK_STREAMING`)."""
        self.approvers = approvers
        """`SLACK_APPROVERS`, whom a reminder mentions."""
        self.approval_channel = approval_channel
        """Where approval cards of DM threads go: approvers cannot see someone else's DM."""

    @classmethod
    def from_deps(cls, deps: Deps) -> SlackChannel:
        """The channel over `deps.slack`, which must be set."""
        assert deps.slack is not None, "the Slack channel needs SLACK_BOT_TOKEN"
        state = deps.slack_state
        status = Status(deps.slack, enabled=deps.settings.slack_status)
        working = Working(deps.slack, state, deps.settings.slack_working_reaction, status)
        approvers = deps.settings.slack_approver_ids()
        return cls(
            deps.slack,
            working,
            deps.settings.slack_approval_channel,
            approvers,
            streaming=deps.settings.slack_streaming,
        )

    async def progress(self, thread: Thread, status: str) -> None:
        """Show what a step is doing (`status`, e.g. "is thinking…") under the Slack thread;
        the next post in the thread removes it."""
        origin = thread.origin
        if self.status is not None and isinstance(origin, SlackOrigin):
            await self.status.show(origin.channel, origin.thread_ts, status)

    def answer_stream(self, thread: Thread) -> AnswerStream | None:
        """A stream for the thread's next answer, to show it as the model writes it."""
        origin = thread.origin
        if not self.streaming or not isinstance(origin, SlackOrigin):
            return None
        return AnswerStream(self.client, thread, origin, self.working.clear)

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Post `event` in the thread's Slack thread, then clear the working reaction.

        An approval asked in a direct message goes to `SLACK_APPROVAL_CHANNEL` instead (when
        set), with a note in the DM saying where: nobody but the requester sees a DM, and
        the requester may not approve their own call.
        """
        origin = thread.origin
        if not isinstance(origin, SlackOrigin):
            raise TypeError(f"thread {thread.id} did not start in Slack")
        if isinstance(event, DeadlinePassed):
            return await deliver_deadline(self.client, thread, ref, event, self.approvers, now)
        if isinstance(event, Cancelled):
            await withdraw_cards(self.client, thread, event)
        direct = origin.channel.startswith("D")
        is_approval = isinstance(event, HumanRequest) and event.kind == "approval"
        if direct and is_approval and self.approval_channel:
            assert isinstance(event, HumanRequest)
            sent = await post_approval_card(self.client, self.approval_channel, thread, event, now)
            where = f"<#{self.approval_channel}>"
            note = note_message(f"I asked for approval in {where}; I will go on here after.")
            try:
                await post(self.client, origin.channel, note, origin.thread_ts)
            except (DeliveryUnavailable, DeliveryFailed) as exc:  # the card is what counts
                log.warning("could not say where the approval went", error=str(exc))
            await self.working.clear(thread.id)
            return sent
        coordinates: dict[str, str] = {}
        for message in outbound_messages(thread, ref, event):
            coordinates = await post(self.client, origin.channel, message, origin.thread_ts)
        await self.working.clear(thread.id)
        # A long answer takes several messages: the last, with the feedback buttons, is recorded.
        return RequestSent(ref=ref, channel="slack", coordinates=coordinates, at=now)


def outbound_messages(thread: Thread, ref: str, event: Event) -> list[SlackMessage]:
    """The Slack messages for an outbound event (pure): one, or a long answer's parts."""
    if isinstance(event, HumanRequest):
        if event.kind == "approval":
            return [approval_card(thread, event)]
        return [question_message(event)]
    if isinstance(event, Done):
        return answer_messages(thread.id, ref, event)
    if isinstance(event, Failed):
        return [failed_message(event)]
    if isinstance(event, Cancelled):
        return [cancelled_message(event)]
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
    client: AsyncWebClient, channel: str, thread: Thread, request: HumanRequest, now: datetime
) -> RequestSent:
    """Post `request`'s card at the top of `channel` (e.g. `SLACK_APPROVAL_CHANNEL`).

    For threads that did not start in Slack (email): a channel delivering such a thread's
    approval calls this, and records the result like any `RequestSent`; clicks on the card
    then count exactly as on a card in a Slack thread.
    """
    coordinates = await post(client, channel, approval_card(thread, request))
    return RequestSent(ref=request.request_id, channel="slack", coordinates=coordinates, at=now)


async def deliver_deadline(
    client: AsyncWebClient,
    thread: Thread,
    ref: str,
    event: DeadlinePassed,
    approvers: frozenset[str],
    now: datetime,
) -> RequestSent:
    """Show a passed deadline beside the request's message: a reminder mentioning who may
    decide (or, for a question, its human), the card posted again to the escalation channel,
    or the message updated to say it expired (with a note saying so)."""
    request = thread.request(event.request_id)
    cards = messages_of_record(thread, event.request_id)
    if request is None or not cards:
        return RequestSent(ref=ref, channel="slack", at=now)  # no message to show it by
    if event.step == "escalate" and request.escalate_to:
        # Another card of record: clicks on it count, and a decision updates both.
        where = await post(client, request.escalate_to, approval_card(thread, request))
        return RequestSent(
            ref=ref,
            channel="slack",
            coordinates={**where, "request_id": request.request_id},
            at=now,
        )
    # An expiry's card update is the decision's own delivery (`CardUpdates`), as for any.
    # Reminders are rare: the group's members are read afresh, not from a cache.
    members = await GroupMembers(client).members(request.approver_groups)
    text = _deadline_note(thread, request, event, approvers, members)
    card = cards[0]
    origin = thread.origin
    thread_ts = card.get("ts")  # beside a card in the approval channel: in its own thread
    if isinstance(origin, SlackOrigin) and origin.channel == card.get("channel"):
        thread_ts = origin.thread_ts  # the card is in the thread's Slack thread
    coordinates = await post(client, card["channel"], note_message(text), thread_ts)
    return RequestSent(ref=ref, channel="slack", coordinates=coordinates, at=now)


def _deadline_note(
    thread: Thread,
    request: HumanRequest,
    event: DeadlinePassed,
    approvers: frozenset[str],
    members: frozenset[str],
) -> str:
    if event.step == "expire":
        if request.kind == "question":
            return ":hourglass: No answer in time: I go on without one."
        return ":hourglass: No decision in time: the request expired and counts as rejected."
    if request.kind == "question":
        who = mention(thread.starter) if thread.starter else "you"
        return f":bell: Reminder for {who}: I am still waiting for your answer."
    allowed = allowed_approvers(request, approvers, members)
    who = ", ".join(mention(user) for user in sorted(allowed))
    return f":bell: Reminder{f' for {who}' if who else ''}: this still needs a decision."


async def withdraw_cards(client: AsyncWebClient, thread: Thread, cancel: Cancelled) -> None:
    """Update every message of the requests a cancel withdrew: "Cancelled by", no buttons.
    A message Slack will not update is left (its clicks are refused all the same)."""
    for request_id in cancel.withdrawn:
        try:
            await show_response(client, thread, request_id)
        except SlackApiError as exc:
            log.warning("could not update a withdrawn request", error=str(exc))


class ApprovalChannel:
    """Approval cards of threads that did not start in Slack, posted to one channel.

    The email channel hands its approval requests here (`SLACK_APPROVAL_CHANNEL`), and the
    deadlines of those requests (reminders, expiries).
    """

    def __init__(
        self, client: AsyncWebClient, channel: str, approvers: frozenset[str] = frozenset()
    ) -> None:
        self.client = client
        self.channel = channel
        self.approvers = approvers

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Post the approval card of `event`, or show a passed deadline beside it, or that a
        cancel withdrew it."""
        if isinstance(event, Cancelled):
            await withdraw_cards(self.client, thread, event)
            return RequestSent(ref=ref, channel="slack", at=now)
        if isinstance(event, DeadlinePassed):
            return await deliver_deadline(self.client, thread, ref, event, self.approvers, now)
        if not (isinstance(event, HumanRequest) and event.kind == "approval"):
            raise TypeError(f"only approval requests go to the approval channel, not {event!r}")
        return await post_approval_card(self.client, self.channel, thread, event, now)


def messages_of_record(thread: Thread, request_id: str) -> list[dict[str, str]]:
    """Where the request was posted in Slack, as recorded: normally once, and again for
    each escalation."""
    return [
        event.coordinates
        for event in thread.events
        if isinstance(event, RequestSent)
        and event.channel == "slack"
        and (event.ref == request_id or event.coordinates.get("request_id") == request_id)
    ]


async def show_response(client: AsyncWebClient, thread: Thread, request_id: str) -> None:
    """Update the request's message(s) in place: the decision or answer, or the cancel that
    withdrew it, buttons gone."""
    request = thread.request(request_id)
    response = thread.response_to(request_id)
    cancel = thread.withdrawn_by(request_id)
    if request is None or (response is None and cancel is None and request.kind != "approval"):
        return
    if cancel is not None:
        message = cancelled_request(thread, request, cancel)
    elif request.kind == "approval":
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


class CardUpdates:
    """`Deps.decisions` with Slack on: a decision (or a choice's answer), once committed, shown
    on every Slack card of its request, whichever channel it came by (API, CLI, mail, expiry, a
    click): Approve/Reject/Edit gone, who decided."""

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Update the cards of `event`'s request. Raises DeliveryFailed when Slack refuses it,
        after the client's own retries: never retried later, since the thread's next step must
        not wait on a card (a later click on a card left live is told who decided, and
        refreshes it)."""
        assert isinstance(event, HumanResponse), f"a decision is shown, not {event!r}"
        try:
            await show_response(self.client, thread, event.request_id)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or "") or str(exc.response.status_code)
            raise DeliveryFailed(f"Slack refused the card update: {error}") from exc
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise DeliveryFailed(f"Slack is unreachable: {type(exc).__name__}") from exc
        return RequestSent(ref=ref, channel="slack", at=now)
