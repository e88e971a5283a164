"""The Reject modal's submission: the rejection and its reason, which reaches the model.

It counts only for the request and the approver it was opened for: the view's metadata names
a Redis record written when the modal was opened, and both must agree with the submitter.
The approver check is made again, since the settings or the request may have changed since.
What the submitter can fix (an empty reason, an expired form) is shown in the modal; other
refusals close it and say why beside the card, where mentions render.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.service import AlreadyAnswered, Answer, ServiceError
from bot.slack import inbound
from bot.slack.blocks import REASON_BLOCK, REJECT_MODAL
from bot.slack.channel import show_response
from bot.slack.decisions import Refused, already, check_approver, thread_id_of
from bot.slack.deps import SlackDeps
from bot.slack.state import ModalTicket
from bot.thread import SlackOrigin

Json = dict[str, Any]

EXPIRED = "This form is no longer valid; click Reject on the card again."
NO_REASON = "Please say why: the agent reads your reason."


class FormError(Exception):
    """Shown under the reason input; the modal stays open."""


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to Reject modal submissions."""

    @app.view(REJECT_MODAL)
    async def on_reject_reason(ack: AsyncAck, body: Json, view: Json) -> None:
        try:
            await reject(slack, body, view)
        except FormError as error:
            await ack(response_action="errors", errors={REASON_BLOCK: str(error)})
        else:
            await ack()  # closes the modal


async def reject(slack: SlackDeps, body: Json, view: Json) -> None:
    """Record the rejection if the submission counts; FormError when the modal must say why."""
    ticket, reason = await _ticket(slack, body, view)
    thread_id = thread_id_of(ticket.request_id)
    thread = await slack.store.get(thread_id) if thread_id else None
    request = thread.request(ticket.request_id) if thread is not None else None
    if thread is None or request is None:
        raise FormError(EXPIRED)
    try:
        members = await slack.service.deps.groups.members(request.approver_groups)
        check_approver(slack.settings, request, ticket.user, members)
    except Refused as refused:
        slack.tell(ticket.channel, ticket.user, str(refused))
        return
    working = isinstance(thread.origin, SlackOrigin)
    if working:
        await slack.working.mark(thread.id, ticket.channel, ticket.ts)
    answer = Answer(ticket.request_id, ticket.user, approved=False, comment=reason)
    try:
        thread = await slack.service.respond(thread.id, answer)
    except ServiceError as exc:
        if working:
            await slack.working.unmark(thread.id, ticket.channel, ticket.ts)
        if isinstance(exc, AlreadyAnswered):
            note = already(exc.response)
        else:
            note = f"Not recorded: {exc}."
        slack.tell(ticket.channel, ticket.user, note)
        return
    await slack.state.close_modal(thread.id, ticket.nonce)
    slack.background.spawn(show_response(slack.client, thread, ticket.request_id), "chat.update")
    if working:
        show = slack.working.show(thread.id, ticket.channel, ticket.ts)
        slack.background.spawn(show, "reactions.add")


async def _ticket(slack: SlackDeps, body: Json, view: Json) -> tuple[ModalTicket, str]:
    """The stored record the modal was opened with, and the reason; FormError if none."""
    submitted = inbound.submission(body, view)
    key = ModalTicket.key_of(submitted.private_metadata) if submitted else None
    if submitted is None or key is None:
        raise FormError(EXPIRED)
    request_id, user, nonce = key
    thread_id = thread_id_of(request_id)
    if user != submitted.user or thread_id is None:
        raise FormError(EXPIRED)
    if not submitted.reason:
        raise FormError(NO_REASON)
    ticket = await slack.state.modal(thread_id, nonce)
    if ticket is None or (ticket.request_id, ticket.user) != (request_id, user):
        raise FormError(EXPIRED)
    return ticket, submitted.reason
