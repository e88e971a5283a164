"""The Reject and Edit modals' submissions: a rejection with its reason, or an approval with
the approver's edited arguments; both reach the model.

A submission counts only for the request, the approver and the modal it was opened for: the
view's metadata names a Redis record written when the modal was opened, and all must agree
with the submission. The approver check is made again, since the settings or the request may
have changed since. What the submitter can fix (an empty reason, an invalid argument, an
expired form) is shown in the modal; other refusals close it and say why beside the card,
where mentions render.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.edits import EditError, validated
from bot.core.jsondata import Json
from bot.core.refusals import AlreadyAnswered, InvalidEdit, ServiceError
from bot.core.thread import SlackOrigin
from bot.runtime.service import Answer
from bot.slack import inbound
from bot.slack.cards import REASON_BLOCK, REJECT_MODAL
from bot.slack.decisions import Card, Refused, already, check_approver, thread_id_of
from bot.slack.deps import SlackDeps
from bot.slack.editform import EDIT_MODAL, error_blocks, submitted_args
from bot.slack.inbound import ViewState
from bot.slack.outbound import show_response
from bot.store.slackstate import ModalTicket

EXPIRED = "This form is no longer valid; click Reject on the card again."
EXPIRED_EDIT = "This form is no longer valid; click Edit on the card again."
NO_REASON = "Please say why: the agent reads your reason."


class FormError(Exception):
    """Shown in the modal, under the input(s) named; the modal stays open."""

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors
        """Errors by block id, if not the message under the form's first input."""


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to Reject and Edit modal submissions."""

    @app.view(REJECT_MODAL)
    async def on_reject_reason(ack: AsyncAck, body: Json, view: Json) -> None:
        try:
            await reject(slack, body, view)
        except FormError as error:
            await ack(response_action="errors", errors={REASON_BLOCK: str(error)})
        else:
            await ack()  # closes the modal

    @app.view(EDIT_MODAL)
    async def on_edit(ack: AsyncAck, body: Json, view: Json) -> None:
        submitted = inbound.view_state(body, view)
        try:
            await approve_edited(slack, submitted)
        except FormError as error:
            first = submitted.input_blocks[0] if submitted and submitted.input_blocks else "arg:"
            await ack(response_action="errors", errors=error.errors or {first: str(error)})
        else:
            await ack()


async def reject(slack: SlackDeps, body: Json, view: Json) -> None:
    """Record the rejection if the submission counts; FormError when the modal must say why."""
    submitted = inbound.view_state(body, view)
    ticket = await _ticket(slack, submitted, "reject", EXPIRED)
    reason = inbound.submission(body, view)
    if reason is None:
        raise FormError(EXPIRED)
    if not reason.reason:
        raise FormError(NO_REASON)
    card = await _thread(slack, ticket, EXPIRED)
    if card is None:
        return
    answer = Answer(
        request_id=ticket.request_id, user=ticket.user, approved=False, comment=reason.reason
    )
    await _record(slack, ticket, card, answer)


async def approve_edited(slack: SlackDeps, submitted: ViewState | None) -> None:
    """Record the approval with the edited arguments if the submission counts and the tool's
    model accepts them; FormError (per field) when the modal must say why."""
    ticket = await _ticket(slack, submitted, "edit", EXPIRED_EDIT)
    assert submitted is not None  # _ticket refuses a missing submission
    card = await _thread(slack, ticket, EXPIRED_EDIT)
    if card is None:
        return
    thread, request = card.thread, card.request
    call = thread.call(request.call_id) if request.call_id else None
    model = slack.service.args_model(thread, call.name) if call is not None else None
    if model is None:
        raise FormError(EXPIRED_EDIT)
    args = submitted_args(model, submitted.values)
    try:
        validated(model, args)  # the service checks again; this one writes nothing first
    except EditError as invalid:
        raise FormError(str(invalid), error_blocks(model, invalid.fields)) from None
    answer = Answer(request_id=ticket.request_id, user=ticket.user, approved=True, args=args)
    try:
        await _record(slack, ticket, card, answer)
    except InvalidEdit as invalid:
        raise FormError(str(invalid), error_blocks(model, invalid.fields)) from None


async def _thread(slack: SlackDeps, ticket: ModalTicket, expired: str) -> Card | None:
    """The ticket's thread and request, if the submitter may still decide it; None when
    they were told why not beside the card."""
    thread_id = thread_id_of(ticket.request_id)
    thread = await slack.store.get(thread_id) if thread_id else None
    request = thread.request(ticket.request_id) if thread is not None else None
    if thread is None or request is None:
        raise FormError(expired)
    try:
        approvers = await slack.service.approvers(thread, request.request_id)
        check_approver(slack.settings, request, ticket.user, approvers.members, thread.starter)
    except Refused as refused:
        slack.tell(ticket.channel, ticket.user, str(refused))
        return None
    return Card(thread, request, approvers)


async def _record(slack: SlackDeps, ticket: ModalTicket, card: Card, answer: Answer) -> None:
    """Respond through the service; show the outcome on the card (InvalidEdit goes up)."""
    thread = card.thread
    working = isinstance(thread.origin, SlackOrigin)
    try:
        async with slack.working.marked(thread.id, ticket.channel, ticket.ts, when=working):
            thread = await slack.service.respond(thread.id, answer, approvers=card.approvers)
    except ServiceError as exc:
        if isinstance(exc, InvalidEdit):
            raise
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


async def _ticket(
    slack: SlackDeps, submitted: ViewState | None, kind: str, expired: str
) -> ModalTicket:
    """The stored record the modal was opened with, for this submitter and modal; FormError
    (the form is expired) if there is none."""
    key = ModalTicket.key_of(submitted.private_metadata) if submitted else None
    if submitted is None or key is None:
        raise FormError(expired)
    request_id, user, nonce = key
    thread_id = thread_id_of(request_id)
    if user != submitted.user or thread_id is None:
        raise FormError(expired)
    ticket = await slack.state.modal(thread_id, nonce)
    if ticket is None or (ticket.request_id, ticket.user, ticket.kind) != (request_id, user, kind):
        raise FormError(expired)
    return ticket
