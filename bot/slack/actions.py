"""Button clicks: Approve, Reject (opens the reason modal), Edit (opens the arguments modal)
and a question's answer buttons.

Each listener acks, decides against the stored thread and commits through `Service` before
the HTTP answer goes back (so the decision is durable when Slack sees the ack); the Slack
calls that only show the outcome (card update, modal, ephemeral note) run after it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.events import ApprovalVote
from bot.core.jsondata import Json
from bot.core.refusals import AlreadyAnswered, ServiceError
from bot.core.respond import current_tally
from bot.core.thread import SlackOrigin
from bot.humanlayer.cards import REJECT_OPTION, reject_options
from bot.humanlayer.options import open_answer
from bot.runtime.service import Answer
from bot.slack import inbound
from bot.slack.cards import APPROVE, CHOICE, EDIT, REJECT, reject_modal
from bot.slack.decisions import (
    Card,
    Refused,
    already,
    card_for,
    check_approver,
    check_picker,
    open_ticket,
)
from bot.slack.deps import SlackDeps
from bot.slack.editform import edit_modal, editable
from bot.slack.inbound import Click
from bot.slack.outbound import show_response
from bot.store.slackstate import ModalTicket


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to the card's and the question's buttons."""

    handlers = (
        (APPROVE, approve),
        (REJECT, open_reject),
        (EDIT, open_edit),
        (CHOICE, choose),
        (REJECT_OPTION, reject_option),
    )
    for action_id, handle in handlers:
        on_click(app, action_id, slack, handle)

    @app.action(re.compile(".*"))
    async def on_other(ack: AsyncAck) -> None:
        # Slack shows an error on any button whose click is not acknowledged.
        await ack()


def on_click(
    app: AsyncApp,
    action_id: str | re.Pattern[str],
    slack: SlackDeps,
    handle: Callable[[SlackDeps, Click], Awaitable[None]],
) -> None:
    """Listen to the button `action_id` (every button's listener: the card's, Cancel,
    feedback): ack at once, then `handle` the click if it is on a message."""

    async def listener(ack: AsyncAck, body: Json, action: Json) -> None:
        await ack()
        click = inbound.click(body, action)
        if click is not None:
            await handle(slack, click)

    app.action(action_id)(listener)


async def _approver_card(slack: SlackDeps, click: Click) -> Card | None:
    """The approval card clicked, if the click is on it and the clicker may decide; else
    the clicker is told why not and None is returned. The card carries the approvers the
    check was made with, for the service to decide with (the groups read once a click)."""
    try:
        card = await card_for(slack.store, click.value, "approval", click.channel, click.message_ts)
        approvers = await slack.service.approvers(card.thread, card.request.request_id)
        check_approver(
            slack.settings, card.request, click.user, approvers.members, card.thread.starter
        )
    except Refused as refused:
        _tell(slack, click, str(refused))
        return None
    return replace(card, approvers=approvers)


async def approve(slack: SlackDeps, click: Click) -> None:
    """Approve the request on the card, once, if the clicker may."""
    card = await _approver_card(slack, click)
    if card is None:
        return
    answer = Answer(request_id=card.request.request_id, user=click.user, approved=True)
    await _respond(slack, click, card, answer)


async def open_reject(slack: SlackDeps, click: Click) -> None:
    """Open the reason modal for an approver; its submission is the rejection."""
    card = await _undecided_card(slack, click)
    if card is None:
        return
    ticket = await _ticket(slack, click, card, "reject")
    if ticket is None:
        return
    call = card.thread.call(card.request.call_id) if card.request.call_id else None
    view = reject_modal(call.name if call else "this call", ticket.private_metadata())
    slack.background.spawn(_open_view(slack, click, view, "Reject"), "views.open")


async def reject_option(slack: SlackDeps, click: Click) -> None:
    """An external call's reject option: rejects with its text as the comment, or (an
    interactive one) opens the reason modal prefilled with its `prompt_fill`."""
    match = REJECT_OPTION.fullmatch(click.action_id)
    card = await _undecided_card(slack, click)
    options = reject_options(card.thread) if card is not None else []
    index = int(match.group(1)) if match else -1
    if card is None or not 0 <= index < len(options):
        return
    option = options[index]
    said = option.prompt_fill or option.description
    if not option.interactive:
        comment = f"{option.label}: {said}" if said else option.label
        answer = Answer(
            request_id=card.request.request_id, user=click.user, approved=False, comment=comment
        )
        await _respond(slack, click, card, answer)
        return
    ticket = await _ticket(slack, click, card, "reject")
    if ticket is None:
        return
    call = card.thread.call(card.request.call_id) if card.request.call_id else None
    view = reject_modal(
        call.name if call else "this call",
        ticket.private_metadata(),
        initial=f"{option.label}: {option.prompt_fill or ''}",
    )
    slack.background.spawn(_open_view(slack, click, view, option.label), "views.open")


async def open_edit(slack: SlackDeps, click: Click) -> None:
    """Open the arguments modal for an approver; its submission approves the edited call.

    Offered (and taken) only where one approval decides: with a quorum, earlier votes were
    for the proposed arguments.
    """
    card = await _undecided_card(slack, click)
    if card is None:
        return
    if card.request.quorum > 1:
        _tell(
            slack,
            click,
            f"This needs {card.request.quorum} approvals, so its arguments "
            "cannot be edited: approve or reject it as proposed.",
        )
        return
    call = card.thread.call(card.request.call_id) if card.request.call_id else None
    model = slack.service.args_model(card.thread, call.name) if call is not None else None
    if call is None or model is None or not editable(model, call.args):
        _tell(slack, click, "This call cannot be edited here: approve or reject it as proposed.")
        return
    ticket = await _ticket(slack, click, card, "edit")
    if ticket is None:
        return
    view = edit_modal(call.name, model, call.args, ticket.private_metadata())
    slack.background.spawn(_open_view(slack, click, view, "Edit"), "views.open")


async def _undecided_card(slack: SlackDeps, click: Click) -> Card | None:
    """The card, if the clicker may decide it and it is still open; else they are told."""
    card = await _approver_card(slack, click)
    if card is None:
        return None
    earlier = card.thread.response_to(card.request.request_id)
    if earlier is not None:
        _tell(slack, click, already(earlier))
        slack.background.spawn(
            show_response(slack.client, card.thread, earlier.request_id), "chat.update"
        )
        return None
    return card


async def _ticket(slack: SlackDeps, click: Click, card: Card, kind: str) -> ModalTicket | None:
    """Record the modal about to open for this request and clicker (its submission counts
    only with this record)."""
    ticket = await open_ticket(slack.state, click, card, kind)
    if ticket is None:
        _tell(slack, click, f"Could not open the {kind.title()} form; click again.")
        return None
    return ticket


async def choose(slack: SlackDeps, click: Click) -> None:
    """Answer a question with the choice its button stands for (read from the stored request)."""
    match = CHOICE.fullmatch(click.action_id)
    index = int(match.group(1)) if match else -1
    try:
        card = await card_for(slack.store, click.value, "question", click.channel, click.message_ts)
        if not 0 <= index < len(card.request.choices):
            raise Refused("That choice is not one this question offers. Nothing was changed.")
        approvers = await slack.service.approvers(card.thread, card.request.request_id)
        check_picker(slack.settings, card, click.user, approvers.members)
    except Refused as refused:
        _tell(slack, click, str(refused))
        return
    card = replace(card, approvers=approvers)
    if await open_answer(slack, click, card, index):
        return  # an external question's interactive option: its modal answers
    choice = card.request.choices[index]
    await _respond(
        slack,
        click,
        card,
        Answer(request_id=card.request.request_id, user=click.user, answer=choice),
    )


async def _respond(slack: SlackDeps, click: Click, card: Card, answer: Answer) -> None:
    """Record the answer; show it on the message, and show the thread works on."""
    thread_id, request_id = card.thread.id, card.request.request_id
    # Only a Slack-born thread's deliveries clear the reaction (a card in the approval channel
    # belongs to an email thread); the marker goes first so a fast reply cannot miss it.
    working = isinstance(card.thread.origin, SlackOrigin)
    try:
        async with slack.working.marked(thread_id, click.channel, click.message_ts, when=working):
            thread = await slack.service.respond(
                thread_id, answer, loaded=card.thread, approvers=card.approvers
            )
    except ServiceError as exc:
        if isinstance(exc, AlreadyAnswered):
            _late(slack, click, thread_id, request_id, exc)
        else:
            _tell(slack, click, f"Not recorded: {exc}.")
        return
    slack.background.spawn(show_response(slack.client, thread, request_id), "chat.update")
    if isinstance(thread.events[-1], ApprovalVote):  # short of the quorum: nothing resumes
        if working:
            await slack.working.unmark(thread_id, click.channel, click.message_ts)
        count = current_tally(thread, card.request, card.approvers)
        _tell(slack, click, f"Recorded: {len(count.approvals)} of {count.needed} approvals.")
        return
    if working:
        slack.background.spawn(
            slack.working.show(thread_id, click.channel, click.message_ts), "reactions.add"
        )


def _late(
    slack: SlackDeps, click: Click, thread_id: str, request_id: str, exc: AlreadyAnswered
) -> None:
    """Tell a late clicker who decided, and make sure the card shows it (it may predate it)."""
    _tell(slack, click, already(exc.response))

    async def refresh() -> None:
        thread = await slack.store.get(thread_id)
        if thread is not None:
            await show_response(slack.client, thread, request_id)

    slack.background.spawn(refresh(), "chat.update")


async def _open_view(slack: SlackDeps, click: Click, view: Json, button: str) -> None:
    try:
        await slack.client.views_open(trigger_id=click.trigger_id, view=view)
    except Exception as exc:  # an expired trigger_id, mostly: say so, the card is unchanged
        _tell(slack, click, f"Could not open the {button} form ({exc}); click {button} again.")


def _tell(slack: SlackDeps, click: Click, text: str) -> None:
    slack.tell(click.channel, click.user, text, thread_ts=click.thread_ts)
