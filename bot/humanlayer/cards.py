"""Block Kit of external calls (pure): the card every thread gets, with what the caller said.

An external call's card is the usual approval card (`bot.slack.cards`), with the caller's
`context_about_channel_or_user` above its buttons and its reject options among them; a
question gets its response options as answer buttons (the usual question message).
"""

from __future__ import annotations

import re

from bot.core.events import HumanRequest
from bot.core.jsondata import Json
from bot.core.thread import ExternalOrigin, Thread
from bot.humanlayer.models import ContactChannel, ResponseOption
from bot.slack.cards import (
    CANCEL,
    SlackMessage,
    _button,
    _context,
    approval_card,
    cut,
    escape,
    question_message,
)

REJECT_OPTION = re.compile(r"reject_option:(\d{1,2})")
"""action_id of a reject option's button: `reject_option:<index into its reject_options>`."""


def channel_of(thread: Thread) -> ContactChannel | None:
    """The contact channel the caller named, if any."""
    origin = thread.origin
    if not isinstance(origin, ExternalOrigin) or not origin.spec.get("channel"):
        return None
    return ContactChannel.model_validate(origin.spec["channel"])


def reject_options(thread: Thread) -> list[ResponseOption]:
    """The call's reject options, as the caller sent them."""
    origin = thread.origin
    if not isinstance(origin, ExternalOrigin):
        return []
    raw = origin.spec.get("reject_options") or []
    return [ResponseOption.model_validate(option) for option in raw]


def response_options(thread: Thread) -> list[ResponseOption]:
    """The contact's response options, as the caller sent them."""
    origin = thread.origin
    if not isinstance(origin, ExternalOrigin):
        return []
    raw = origin.spec.get("response_options") or []
    return [ResponseOption.model_validate(option) for option in raw]


def _about(thread: Thread) -> list[Json]:
    channel = channel_of(thread)
    about = channel.slack.context_about_channel_or_user if channel and channel.slack else None
    return [_context(f"For {cut(escape(about), 300)}")] if about else []


def external_card(thread: Thread, request: HumanRequest) -> SlackMessage:
    """The message of an external call's request: its approval card or its question."""
    if request.kind != "approval":
        message = question_message(request)
        return SlackMessage(text=message.text, blocks=[*message.blocks, *_about(thread)])
    card = approval_card(thread, request)
    blocks = list(card.blocks)
    actions = blocks[-1]
    if actions.get("type") == "actions":
        buttons = [b for b in actions["elements"] if b.get("action_id") != CANCEL]
        for index, option in enumerate(reject_options(thread)[:10]):
            action_id = f"reject_option:{index}"
            buttons.append(_button(cut(option.label, 75), action_id, request.request_id))
        buttons += [b for b in actions["elements"] if b.get("action_id") == CANCEL]  # last
        blocks[-1] = {**actions, "elements": buttons}
    return SlackMessage(text=card.text, blocks=[*blocks[:-1], *_about(thread), blocks[-1]])
