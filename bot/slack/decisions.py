"""Checks shared by the card's buttons and the Reject modal: which card, who may decide.

A click names a request id and nothing else is believed: the request, its card of record and
its approvers are read from the stored thread.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Literal

from bot.config import Settings
from bot.core.events import HumanRequest, HumanResponse
from bot.core.refusals import Forbidden
from bot.core.respond import Approvers, check_decider
from bot.core.respond import check_picker as check_picker_of
from bot.core.thread import Thread
from bot.slack.cards import mention
from bot.slack.inbound import Click
from bot.slack.outbound import messages_of_record
from bot.store.slackstate import ModalTicket, SlackState
from bot.store.threads import ThreadStore

_REQUEST_ID = re.compile(r"([A-Za-z0-9_-]{1,100})\.[A-Za-z0-9_-]{1,100}")

UNKNOWN = "I don't know this request (it may have expired). Nothing was changed."
NOT_OF_RECORD = "This is not the message of record for this request. Nothing was changed."
NOT_YET = "This message is still being recorded; click again in a moment. Nothing was changed."


class Refused(Exception):
    """The click or submission does not count; the message says why, to the person only."""


@dataclass(frozen=True)
class Card:
    """A stored request and the Slack message of record that shows it."""

    thread: Thread
    request: HumanRequest
    approvers: Approvers | None = None
    """Who may decide it, once checked (None before)."""


async def open_ticket(state: SlackState, click: Click, card: Card, kind: str) -> ModalTicket | None:
    """Record the modal about to open for this request and clicker (its submission counts
    only with this record); None if the record could not be made (the caller says so)."""
    ticket = ModalTicket(
        request_id=card.request.request_id,
        user=click.user,
        nonce=secrets.token_hex(12),
        channel=click.channel,
        ts=click.message_ts,
        kind=kind,
    )
    return ticket if await state.open_modal(card.thread.id, ticket) else None


def thread_id_of(request_id: str) -> str | None:
    """The thread a request id belongs to (request ids are `<thread id>.<r…>`)."""
    found = _REQUEST_ID.fullmatch(request_id)
    return found.group(1) if found else None


async def card_for(
    store: ThreadStore,
    request_id: str,
    kind: Literal["question", "approval"],
    channel: str,
    ts: str,
) -> Card:
    """The request behind a button, if the button is on its message of record; else Refused."""
    thread_id = thread_id_of(request_id)
    thread = await store.get(thread_id) if thread_id else None
    request = thread.request(request_id) if thread is not None else None
    if thread is None or request is None or request.kind != kind:
        raise Refused(UNKNOWN)
    cancel = thread.withdrawn_by(request_id)
    if cancel is not None:
        raise Refused(f"This was cancelled by {mention(cancel.user)}. Nothing was changed.")
    shown = messages_of_record(thread, request_id)
    if not shown:
        raise Refused(NOT_YET)  # posted, but the worker has not recorded where yet
    if not any(where.get("channel") == channel and where.get("ts") == ts for where in shown):
        raise Refused(NOT_OF_RECORD)
    return Card(thread, request)


def check_approver(
    settings: Settings,
    request: HumanRequest,
    user: str,
    members: frozenset[str] = frozenset(),
    starter: str | None = None,
) -> Approvers:
    """Refused unless the policy lets `user` decide (`bot.core.respond.check_decider`), in
    Slack's words; the approvers it checked with (for `Service.respond`: read once).
    `starter`: the thread's, to tell its starter apart from a later requester."""
    approvers = Approvers(settings.slack_approver_ids(), members)
    try:
        check_decider(request, user, approvers)
    except Forbidden as refused:
        raise Refused(_decider_note(refused, user == starter)) from None
    return approvers


def _decider_note(refused: Forbidden, started: bool) -> str:
    if refused.why == "requester":
        if started:
            return (
                "You started this thread, so its approvals need someone else. Nothing was changed."
            )
        return "You asked for this call, so its approval needs someone else. Nothing was changed."
    if refused.why == "nobody":
        return "No one may decide this in Slack yet: the operator must set SLACK_APPROVERS."
    names = ", ".join(mention(u) for u in sorted(refused.allowed))
    return f"Only {names} can decide this. Nothing was changed."


def check_picker(
    settings: Settings, card: Card, user: str, members: frozenset[str] = frozenset()
) -> Approvers:
    """Refused unless `user` may answer the card's choice question (any question without
    `only_choices` is anyone's in its Slack thread, as replies are)."""
    approvers = Approvers(settings.slack_approver_ids(), members)
    try:
        check_picker_of(card.thread, card.request, user, approvers)
    except Forbidden as refused:
        names = ", ".join(mention(u) for u in sorted(refused.allowed))
        raise Refused(f"Only {names} can pick this. Nothing was changed.") from None
    return approvers


def already(response: HumanResponse) -> str:
    """What a late click is told: who decided first."""
    return f"Already {response.verdict} by {mention(response.user)}."
