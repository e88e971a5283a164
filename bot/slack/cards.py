"""Block Kit for the Slack channel: pure functions from our events to message dicts.

Every text that came from the model or a person is escaped (`&`, `<`, `>`), so it can neither
ping `@channel` nor forge a link, and every length is cut to what Slack accepts. Buttons carry
the opaque request id only; what a click means is read back from the stored thread.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.core.audit import args_digest
from bot.core.edits import changes
from bot.core.events import Cancelled, Done, Failed, HumanRequest, HumanResponse, ToolCall
from bot.core.jsondata import Json
from bot.core.policy import tally, votes_on
from bot.core.thread import EmailOrigin, ExternalOrigin, SlackOrigin, Thread
from bot.slack.markdown import parts

APPROVE = "approve"
"""action_id of the Approve button."""
REJECT = "reject"
"""action_id of the Reject button (opens the reason modal)."""
EDIT = "edit"
"""action_id of the Edit button (opens the arguments modal; its submission approves)."""
CANCEL = "cancel"
"""action_id of the Cancel button on cards and questions: stops the whole thread."""
CHOICE = re.compile(r"choice:(\d{1,2})")
"""action_id of a question's answer buttons: `choice:<index into the request's choices>`."""
REJECT_MODAL = "hitlbot_reject"
"""callback_id of the Reject reason modal."""
REASON_BLOCK = "reason"
"""block_id of the modal's reason input (its errors are shown there)."""
REASON_INPUT = "reason"
"""action_id of the modal's reason input."""
REASON_MAX = 2000
"""Longest reason the modal accepts."""

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks).
_SECTION_MAX = 3000
_FIELD_MAX = 2000
_FIELDS_MAX = 10
_HEADER_MAX = 150
_BUTTON_TEXT_MAX = 75
_BUTTONS_MAX = 25
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


@dataclass(frozen=True)
class SlackMessage:
    """What `chat.postMessage` / `chat.update` get: blocks and their notification text."""

    text: str
    """Fallback text, shown in notifications and by clients without Block Kit."""
    blocks: list[Json]
    """The Block Kit blocks."""


def escape(text: str) -> str:
    """Slack's three control characters as entities, so text shows as written."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mrkdwn(text: str) -> str:
    """Model text (usually Markdown) as Slack mrkdwn: escaped, `**bold**` as `*bold*`."""
    return _BOLD.sub(r"*\1*", escape(text))


def mention(user: str) -> str:
    """`<@U123>` for a Slack user id (Slack shows the name); anyone else as written."""
    return f"<@{user}>" if _SLACK_USER.fullmatch(user) else escape(user)


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def markdown_block(text: str) -> Json:
    """Model text as a `markdown` block (standard Markdown), escaped, one message's worth."""
    return {"type": "markdown", "text": parts(escape(text) or "_(no message)_")[0]}


def question_message(request: HumanRequest) -> SlackMessage:
    """A question in the Slack thread; its choices, if any, as buttons."""
    blocks = [markdown_block(request.message)]
    if request.choices:
        buttons = [
            _button(cut(choice, _BUTTON_TEXT_MAX), f"choice:{index}", request.request_id)
            for index, choice in enumerate(request.choices[:_BUTTONS_MAX])
        ]
        blocks.append({"type": "actions", "block_id": "choices", "elements": buttons})
        if request.only_choices:
            who = ", ".join(mention(user) for user in request.answerers)
            blocks.append(_context(f"Pick one{f' ({who})' if who else ''}."))
        else:
            blocks.append(_context("Pick one, or reply in this thread."))
    else:
        blocks.append(_context("Reply in this thread to answer."))
    stop = [_button("Cancel", CANCEL, request.request_id)]
    blocks.append({"type": "actions", "block_id": "stop", "elements": stop})
    return SlackMessage(text=cut(escape(request.message), _SECTION_MAX), blocks=blocks)


def answered_question(request: HumanRequest, response: HumanResponse) -> SlackMessage:
    """The question once answered: its buttons gone, who answered what below it."""
    blocks = [markdown_block(request.message)]
    answer = cut(escape(response.answer or ""), 500)
    verb = "picked" if request.only_choices else "answered"
    blocks.append(_context(f"{mention(response.user)} {verb}: {answer}"))
    return SlackMessage(text=cut(escape(request.message), _SECTION_MAX), blocks=blocks)


def approval_card(thread: Thread, request: HumanRequest) -> SlackMessage:
    """The approval card: agent, tool, arguments, the model's reason, Approve / Reject; with
    a quorum, who has approved so far (it stays open until the quorum is met)."""
    blocks = _card_body(thread, request)
    count = tally(request, votes_on(thread.events, request.request_id))
    if count.approvals:
        names = ", ".join(mention(user) for user in count.approvals)
        blocks.append(_context(f"{len(count.approvals)} of {count.needed} approvals: {names}"))
    elif count.needed > 1:
        blocks.append(_context(f"Needs {count.needed} approvals."))
    buttons = [
        _button("Approve", APPROVE, request.request_id, style="primary"),
        _button("Reject", REJECT, request.request_id, style="danger"),
    ]
    call = thread.call(request.call_id) if request.call_id else None
    # Only where one approval decides (earlier votes would be for other arguments), and not
    # for an external caller that runs its function with its own arguments (the HumanLayer SDK).
    edits = not isinstance(thread.origin, ExternalOrigin) or thread.origin.api == "native"
    if request.quorum <= 1 and call is not None and call.args and edits:
        buttons.append(_button("Edit", EDIT, request.request_id))
    buttons.append(_button("Cancel", CANCEL, request.request_id))
    blocks.append({"type": "actions", "block_id": "decision", "elements": buttons})
    return SlackMessage(text=_card_text(thread, request), blocks=blocks)


def decided_card(thread: Thread, request: HumanRequest, response: HumanResponse) -> SlackMessage:
    """The card after a decision: the same facts, no buttons, who decided (and why)."""
    edited = response.edited_args if response.approved else None
    if response.approved:
        approvals = tally(request, votes_on(thread.events, request.request_id)).approvals
        names = ", ".join(mention(user) for user in approvals or (response.user,))
        verdict = f":white_check_mark: Approved{' with edits' if edited else ''} by {names}"
    else:
        verdict = f":x: Rejected by {mention(response.user)}"
        if response.comment:
            verdict += f": {cut(escape(response.comment), _SECTION_MAX - 200)}"
    blocks = [*_card_body(thread, request, edited), _context(verdict)]
    if edited is not None:
        blocks.append(_context(f"Approved arguments SHA-256: `{args_digest(edited)}`"))
    return SlackMessage(text=f"{_card_text(thread, request)} - {verdict}", blocks=blocks)


def cancelled_request(thread: Thread, request: HumanRequest, cancel: Cancelled) -> SlackMessage:
    """A card or question after the thread was cancelled: its buttons gone, who stopped it."""
    verdict = f":octagonal_sign: Cancelled by {mention(cancel.user)}"
    if cancel.reason:
        verdict += f": {cut(escape(cancel.reason), 500)}"
    if request.kind == "approval":
        blocks = [*_card_body(thread, request), _context(verdict)]
        return SlackMessage(text=f"{_card_text(thread, request)} - {verdict}", blocks=blocks)
    blocks = [markdown_block(request.message), _context(verdict)]
    return SlackMessage(text=cut(escape(request.message), _SECTION_MAX), blocks=blocks)


def cancelled_message(cancel: Cancelled) -> SlackMessage:
    """What the thread's Slack thread is told when it is cancelled."""
    text = f":octagonal_sign: Stopped by {mention(cancel.user)}. Nothing more runs."
    if cancel.reason:
        text += f" Reason: {cut(escape(cancel.reason), 500)}"
    return SlackMessage(
        text=text, blocks=[_section(text), _context("Write in this thread to start again.")]
    )


def note_message(text: str) -> SlackMessage:
    """A one-line note from the bot (`text` is ours, already mrkdwn)."""
    return SlackMessage(text=text, blocks=[_section(text)])


def done_messages(done: Done) -> list[SlackMessage]:
    """The agent's final answer for this turn: `markdown` blocks, in as many messages as its
    length needs (`bot/slack/markdown.py`), each with its plain-text fallback."""
    pieces = parts(escape(done.message)) if done.message.strip() else ["_(no message)_"]
    return [
        SlackMessage(text=cut(piece, _SECTION_MAX), blocks=[{"type": "markdown", "text": piece}])
        for piece in pieces
    ]


def failed_message(failed: Failed) -> SlackMessage:
    """Why the thread stopped, and how to go on."""
    text = f":warning: I had to stop: {cut(escape(failed.reason), _SECTION_MAX - 200)}"
    blocks = [_section(text), _context("Write in this thread to try again.")]
    return SlackMessage(text=text, blocks=blocks)


def reject_modal(tool: str, private_metadata: str, initial: str | None = None) -> Json:
    """The modal Reject opens: one required reason, which reaches the model (`initial`:
    what the reason starts as)."""
    return modal(
        REJECT_MODAL,
        private_metadata,
        title="Reject",
        submit="Reject",
        blocks=[
            _section(f"Reject `{escape(cut(tool, 100))}`? The agent reads your reason."),
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Reason"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                    "focus_on_load": True,
                    **({"initial_value": cut(initial, REASON_MAX)} if initial else {}),
                },
            },
        ],
    )


def modal(callback_id: str, metadata: str, *, title: str, submit: str, blocks: list[Json]) -> Json:
    """A modal view: its callback id, private metadata, title, submit label and blocks
    (Cancel closes it)."""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def origin_note(thread: Thread) -> str:
    """Where a thread came from, for cards shown outside its own Slack thread."""
    origin = thread.origin
    if isinstance(origin, SlackOrigin):
        return f"Asked by {mention(origin.user)} · thread `{thread.id}`"
    if isinstance(origin, EmailOrigin):
        return f"From {escape(origin.address)} by email · thread `{thread.id}`"
    who = f" by {escape(origin.user)}" if origin.user else ""
    if isinstance(origin, ExternalOrigin):
        run = f" · run `{escape(origin.run_id)}`" if origin.run_id else ""
        return f"Asked by an external agent{who}{run} · thread `{thread.id}`"
    return f"Launched through the API{who} · thread `{thread.id}`"


def _card_body(
    thread: Thread, request: HumanRequest, edited: dict[str, Any] | None = None
) -> list[Json]:
    call = thread.call(request.call_id) if request.call_id else None
    tool = call.name if call is not None else "a tool call"
    header = {
        "type": "header",
        "text": {"type": "plain_text", "text": cut(f"Approval needed: {tool}", _HEADER_MAX)},
    }
    facts = f"*Agent:* {escape(thread.agent)}\n*Tool:* `{escape(tool)}`"
    blocks: list[Json] = [header, _section(facts)]
    blocks += _arguments(call, edited)
    reason = (call.reason if call is not None else None) or request.message
    blocks.append(_section(f"*Why:* {cut(mrkdwn(reason), _SECTION_MAX - 20)}"))
    blocks.append(_context(origin_note(thread)))
    return blocks


def _card_text(thread: Thread, request: HumanRequest) -> str:
    call = thread.call(request.call_id) if request.call_id else None
    tool = call.name if call is not None else "a tool call"
    return f"Approval needed: {escape(thread.agent)} wants to run {escape(tool)}"


def _arguments(call: ToolCall | None, edited: dict[str, Any] | None = None) -> list[Json]:
    """Arguments as labelled fields, two columns, the overflow as one code block; with an
    approver's edit, the approved arguments, each changed one as `new (was old)`."""
    if call is None or not (call.args or edited):
        return [_context("No arguments.")]
    items = list((call.args if edited is None else edited).items())
    changed = changes(call.args, edited) if edited is not None else {}

    def shown(name: str, value: Any) -> str:
        if name not in changed:
            return _value(value)
        return f"{_value(value)} _(was {_value(changed[name][0])})_"

    fields = [
        {"type": "mrkdwn", "text": cut(f"*{escape(name)}*\n{shown(name, value)}", _FIELD_MAX)}
        for name, value in items[:_FIELDS_MAX]
    ]
    blocks: list[Json] = [{"type": "section", "fields": fields}]
    if len(items) > _FIELDS_MAX:
        rest = json.dumps(dict(items[_FIELDS_MAX:]), indent=2, ensure_ascii=False)
        blocks.append(_section(f"```{cut(escape(rest), _SECTION_MAX - 10)}```"))
    return blocks


def _value(value: Any) -> str:
    if value is None:
        return "_none_"
    if isinstance(value, str):
        return escape(value) if value else "_empty_"
    if isinstance(value, bool | int | float):
        return f"`{json.dumps(value)}`"
    text = json.dumps(value, indent=1, ensure_ascii=False)
    return f"```{escape(text)}```"


def _section(text: str) -> Json:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, _SECTION_MAX)}}


def _context(text: str) -> Json:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(text, _SECTION_MAX)}]}


def _button(text: str, action_id: str, value: str, *, style: str | None = None) -> Json:
    button: Json = {
        "type": "button",
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "action_id": action_id,
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button
