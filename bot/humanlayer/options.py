"""Interactive response options of an external question: the button opens a modal prefilled
with the option's `prompt_fill`; what the person submits is the answer, and the option's name
comes back as `response_option_name` (kept as the response's comment)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.jsondata import Json
from bot.core.refusals import ServiceError
from bot.humanlayer.cards import response_options
from bot.runtime.service import Answer
from bot.slack import inbound
from bot.slack.cards import REASON_BLOCK, REASON_INPUT, REASON_MAX, cut, modal
from bot.slack.decisions import Card, open_ticket, thread_id_of
from bot.slack.deps import SlackDeps
from bot.slack.inbound import Click
from bot.slack.outbound import show_response
from bot.store.slackstate import ModalTicket

ANSWER_MODAL = "hitlbot_answer"
"""callback_id of an interactive option's modal."""
EXPIRED = "This form is no longer valid; click the option again."


def answer_modal(title: str, question: str, prefill: str | None, private_metadata: str) -> Json:
    """The modal of an interactive option: the question, one answer prefilled."""
    element: Json = {
        "type": "plain_text_input",
        "action_id": REASON_INPUT,
        "multiline": True,
        "max_length": REASON_MAX,
        "focus_on_load": True,
    }
    if prefill:
        element["initial_value"] = cut(prefill, REASON_MAX)
    return modal(
        ANSWER_MODAL,
        private_metadata,
        title=cut(title, 24),
        submit="Send",
        blocks=[
            {"type": "section", "text": {"type": "plain_text", "text": cut(question, 2900)}},
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Your answer"},
                "element": element,
            },
        ],
    )


async def open_answer(slack: SlackDeps, click: Click, card: Card, index: int) -> bool:
    """Open the modal if the clicked choice is an interactive option; False if it is not."""
    options = response_options(card.thread)
    if not 0 <= index < len(options) or not options[index].interactive:
        return False
    option = options[index]
    ticket = await open_ticket(slack.state, click, card, f"answer:{index}")
    if ticket is None:
        slack.tell(click.channel, click.user, "Could not open the form; click again.")
        return True
    view = answer_modal(
        option.label, card.request.message, option.prompt_fill, ticket.private_metadata()
    )
    slack.background.spawn(
        slack.client.views_open(trigger_id=click.trigger_id, view=view), "views.open"
    )
    return True


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to the option modals' submissions."""

    @app.view(ANSWER_MODAL)
    async def on_answer(ack: AsyncAck, body: Json, view: Json) -> None:
        error = await answer(slack, body, view)
        if error is None:
            await ack()
        else:
            await ack(response_action="errors", errors={REASON_BLOCK: error})


async def answer(slack: SlackDeps, body: Json, view: Json) -> str | None:
    """Record the submitted answer; what the modal must say instead, if anything."""
    submitted = inbound.submission(body, view)
    key = ModalTicket.key_of(submitted.private_metadata) if submitted else None
    if submitted is None or key is None:
        return EXPIRED
    request_id, user, nonce = key
    thread_id = thread_id_of(request_id)
    ticket = await slack.state.modal(thread_id, nonce) if thread_id else None
    if (
        thread_id is None
        or ticket is None
        or user != submitted.user
        or (ticket.request_id, ticket.user) != (request_id, user)
        or not ticket.kind.startswith("answer:")
    ):
        return EXPIRED
    if not submitted.reason:
        return "Please write your answer."
    thread = await slack.store.get(thread_id)
    options = response_options(thread) if thread is not None else []
    index = int(ticket.kind.partition(":")[2] or -1)
    if not 0 <= index < len(options):
        return EXPIRED
    said = Answer(
        request_id=request_id, user=user, answer=submitted.reason, comment=options[index].name
    )
    try:
        thread = await slack.service.respond(thread_id, said)
    except ServiceError as exc:
        slack.tell(ticket.channel, user, f"Not recorded: {exc}.")
        return None
    await slack.state.close_modal(thread_id, nonce)
    slack.background.spawn(show_response(slack.client, thread, request_id), "chat.update")
    return None
