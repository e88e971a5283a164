"""Slack's inbound payloads read into small typed values (pure; no IO).

Nothing here trusts a payload beyond its shape: the signature was checked before, and what a
click may do is decided against the stored thread, never against the payload.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.core.jsondata import Json
from bot.slack.cards import REASON_BLOCK, REASON_INPUT

_HUMAN_SUBTYPES = (None, "file_share", "thread_broadcast")
"""Message subtypes a person writes; edits, deletions, joins and bot posts are not triggers."""
_INTERACTIONS = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")
_EVENT_STRINGS = ("user", "channel", "ts", "thread_ts", "text", "subtype", "channel_type")


@dataclass(frozen=True)
class Incoming:
    """A person's message that the bot may act on."""

    team: str
    """Workspace id."""
    channel: str
    """Channel or DM id."""
    ts: str
    """The message's own ts."""
    thread_ts: str
    """The Slack thread it belongs to: its parent's ts, or its own ts when it starts one."""
    user: str
    """Slack user id of the writer."""
    text: str
    """What they wrote, without the bot's mention."""
    direct: bool
    """Written in a direct message with the bot."""
    mentioned: bool
    """Addressed to the bot (an `app_mention`, or its mention in the text)."""


@dataclass(frozen=True)
class Click:
    """A click on one of our buttons."""

    user: str
    """Who clicked (Slack user id)."""
    channel: str
    """Channel of the message the button is on."""
    message_ts: str
    """ts of the message the button is on."""
    action_id: str
    """Which button."""
    value: str
    """The button's value: an opaque request id."""
    trigger_id: str
    """For opening a modal, valid for 3 seconds."""
    thread_ts: str | None
    """The Slack thread the message is in, to place notes beside it (display only)."""


@dataclass(frozen=True)
class Submission:
    """A submitted Reject modal."""

    user: str
    """Who submitted it."""
    private_metadata: str
    """What we put in the view when opening it (signed by Slack, checked against Redis)."""
    reason: str
    """The reason typed, stripped."""


def incoming(body: Json, event: Json, bot_user_id: str | None) -> Incoming | None:
    """A person's new message, or None for anything the bot ignores.

    Ignored: messages by bots (this one included), edits and deletions (`message_changed`,
    `message_deleted`), joins and other subtypes, and `app_mention`s re-sent for an edit.
    """
    if event.get("bot_id") or event.get("subtype") not in _HUMAN_SUBTYPES or event.get("edited"):
        return None
    user, channel, ts = event.get("user"), event.get("channel"), event.get("ts")
    if not (isinstance(user, str) and isinstance(channel, str) and isinstance(ts, str)):
        return None
    if not (user and channel and ts) or user == bot_user_id:
        return None
    text = _field(event, "text") or ""
    mentioned = event.get("type") == "app_mention" or (
        bot_user_id is not None and f"<@{bot_user_id}" in text
    )
    team = body.get("team_id") or event.get("team") or ""
    return Incoming(
        team=str(team),
        channel=channel,
        ts=ts,
        thread_ts=str(event.get("thread_ts") or ts),
        user=user,
        text=strip_mention(text, bot_user_id),
        direct=event.get("channel_type") == "im",
        mentioned=bool(mentioned),
    )


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """`text` without the bot's `<@U…>` mentions (also the old `<@U…|name>` form)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def click(body: Json, action: Json) -> Click | None:
    """The click in a `block_actions` payload, or None if it is not on a message."""
    container = body.get("container")
    user = _field(body.get("user"), "id")
    channel = _field(container, "channel_id") or _field(body.get("channel"), "id")
    message_ts = _field(container, "message_ts") or _field(body.get("message"), "ts")
    fields = (user, channel, message_ts, action.get("action_id"), action.get("value"))
    ephemeral = isinstance(container, dict) and container.get("is_ephemeral") is True
    if _field(container, "type") not in (None, "message") or ephemeral:
        return None
    if not all(isinstance(field, str) and field for field in fields):
        return None
    trigger_id = _field(body, "trigger_id")
    return Click(
        user=str(user),
        channel=str(channel),
        message_ts=str(message_ts),
        action_id=str(action["action_id"]),
        value=str(action["value"]),
        trigger_id=trigger_id or "",
        thread_ts=_field(body.get("message"), "thread_ts"),
    )


def submission(body: Json, view: Json) -> Submission | None:
    """The Reject modal's submission, or None if it is not shaped like ours."""
    user = _field(body.get("user"), "id")
    metadata = view.get("private_metadata")
    try:
        value = view["state"]["values"][REASON_BLOCK][REASON_INPUT].get("value")
    except (KeyError, TypeError, AttributeError):
        return None
    if not isinstance(user, str) or not isinstance(metadata, str):
        return None
    reason = value.strip() if isinstance(value, str) else ""
    return Submission(user=user, private_metadata=metadata, reason=reason)


@dataclass(frozen=True)
class ViewState:
    """A submitted modal's submitter, metadata and input state, as Slack sent them."""

    user: str
    """Who submitted it."""
    private_metadata: str
    """What we put in the view when opening it (checked against Redis)."""
    values: Json
    """`{block_id: {action_id: {...}}}`: the inputs' state, to be read by the form's owner."""
    input_blocks: list[str]
    """block_ids of the view's inputs, in order (errors must name one of them)."""


def view_state(body: Json, view: Json) -> ViewState | None:
    """Any of our modals' submission, or None if it is not shaped like a view submission."""
    user = _field(body.get("user"), "id")
    metadata = view.get("private_metadata")
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if not isinstance(user, str) or not isinstance(metadata, str) or not isinstance(values, dict):
        return None
    blocks = view.get("blocks")
    inputs = [
        block["block_id"]
        for block in (blocks if isinstance(blocks, list) else [])
        if isinstance(block, dict)
        and block.get("type") == "input"
        and isinstance(block.get("block_id"), str)
    ]
    return ViewState(user=user, private_metadata=metadata, values=values, input_blocks=inputs)


def _field(obj: Any, name: str) -> str | None:
    """`obj[name]` when `obj` is an object and the value a string, else None."""
    value = obj.get(name) if isinstance(obj, dict) else None
    return value if isinstance(value, str) else None


def malformed(raw: bytes, content_type: str | None) -> str | None:
    """Why a signed body cannot be a Slack request, or None if Bolt can read it safely.

    It follows Bolt's own parsing (JSON if declared or if it starts with `{`; a form with a
    `payload` field of JSON otherwise), since Bolt answers 500 where it fails.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if not text:
        return "the body is empty"
    declared = (content_type or "").split(";")[0].strip()
    if declared == "application/json" or text.startswith("{"):
        document = text
    elif "payload" in text:
        form = dict(parse_qsl(text, keep_blank_values=True))
        if "payload" not in form:
            return "the form has no payload field"
        document = form["payload"]
    else:
        return None  # a plain form (a slash command); Bolt reads those without surprises
    try:
        payload = json.loads(document)
    except ValueError:
        return "the payload is not valid JSON"
    if not isinstance(payload, dict):
        return "the payload is not a JSON object"
    return shape_problem(payload)


def shape_problem(payload: Json) -> str | None:
    """Why a parsed Slack payload cannot be read safely, or None (`malformed`'s last check)."""
    kind = payload.get("type")
    if not isinstance(kind, str):
        return "the payload has no type"
    if kind == "event_callback":
        return _event_problem(payload)
    if kind in _INTERACTIONS:
        return _interaction_problem(kind, payload)
    return None


def _event_problem(payload: Json) -> str | None:
    event = payload.get("event")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "the event_callback has no event"
    if not isinstance(payload.get("event_id"), str):
        return "the event_callback has no event_id"
    if any(not isinstance(event.get(name), str | None) for name in _EVENT_STRINGS):
        return "the event has fields of the wrong type"
    return None


def _interaction_problem(kind: str, payload: Json) -> str | None:
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        return f"the {kind} payload has no user"
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
            return "the block_actions payload has no actions"
        if not isinstance(payload.get("container", {}), dict):
            return "the block_actions container is not an object"
    if kind in ("view_submission", "view_closed") and not isinstance(payload.get("view"), dict):
        return f"the {kind} payload has no view"
    return None
