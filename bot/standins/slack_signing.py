"""Requests exactly as Slack sends them to an app's Request URL, for tests.

Each builder returns `(body, headers)` ready to POST to `/slack/events`: Events API deliveries
are JSON, interactivity payloads are a form with one `payload` field holding JSON, as Slack does.
Pass `signing_secret` to get the `X-Slack-Signature` headers Bolt checks; leave it out to test
what an app does with an unsigned request. The identities default to the ones `SlackStub`
answers with, so a bot that calls `auth.test` on the stub sees the same workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from bot.core.jsondata import Json

TEAM_ID = "T0TEAM"
"""Workspace id used by default here and by `SlackStub`."""
TEAM_DOMAIN = "hitlbot-test"
"""Workspace domain (`<domain>.slack.com`) used by default."""
APP_ID = "A0APP"
"""Slack app id (`api_app_id`) used by default."""
BOT_USER_ID = "U0BOT"
"""The bot's user id, as `auth.test` on the stub reports it."""
BOT_ID = "B0BOT"
"""The bot's bot id, as `auth.test` on the stub reports it."""
VERIFICATION_TOKEN = "verification-token"
"""The deprecated `token` field Slack still puts in every payload; nothing should trust it."""

Request = tuple[bytes, dict[str, str]]
"""A request body and its headers, ready to POST to the app."""

_SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 signature headers for `body`, signed at `timestamp` (default: now)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def new_ts() -> str:
    """A fresh message timestamp in Slack's `seconds.micros` form."""
    return f"{time.time():.6f}"


def new_trigger_id() -> str:
    """A trigger id shaped like Slack's (`views.open` on the stub accepts any)."""
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def event_callback(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
    event_time: int | None = None,
    retry_num: int | None = None,
    retry_reason: str | None = None,
    signing_secret: str | None = None,
    timestamp: int | None = None,
) -> Request:
    """An Events API delivery of `event`; with `retry_num`, a redelivery as Slack retries it.

    Reuse one `event_id` across calls to build the retries of one event; a random one is
    chosen otherwise, so tests sharing a Redis never collide on deduplication keys.
    """
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }
    headers = {}
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    return _json_request(payload, headers, signing_secret, timestamp)


def url_verification(
    challenge: str, *, signing_secret: str | None = None, timestamp: int | None = None
) -> Request:
    """The handshake Slack sends when a Request URL is saved; the app must echo `challenge`."""
    payload = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return _json_request(payload, {}, signing_secret, timestamp)


def block_actions(
    user_id: str,
    actions: Sequence[Mapping[str, Any]],
    *,
    channel_id: str,
    message_ts: str,
    message: Mapping[str, Any] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    container: Mapping[str, Any] | None = None,
    response_url: str | None = None,
    channel_name: str | None = None,
    user_name: str | None = None,
    signing_secret: str | None = None,
    timestamp: int | None = None,
) -> Request:
    """A click on a message's interactive element(s), as Slack posts it.

    Each action needs at least `action_id` (and usually `value`); the rest of Slack's fields
    are filled in. `message` is the message the buttons sit on (e.g. `stub_message.payload()`);
    `response_url` defaults to a hooks.slack.com-shaped URL, so a test whose code answers
    through it should pass `SlackStub.response_url`.
    """
    now = new_ts()
    payload: Json = {
        "type": "block_actions",
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": dict(container)
        if container is not None
        else {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []}
        | dict(message or {}),
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team_id}/{secrets.randbelow(10**12)}/stub",
        "actions": [_action(action, now) for action in actions],
    }
    return _form_request(payload, signing_secret, timestamp)


def view_submission(
    user_id: str,
    view: Mapping[str, Any],
    *,
    values: Mapping[str, Mapping[str, Mapping[str, Any]]] | None = None,
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    user_name: str | None = None,
    signing_secret: str | None = None,
    timestamp: int | None = None,
) -> Request:
    """A modal's submission; `view` is the view as opened (e.g. from `SlackStub.views`).

    `values` is the modal's input state, `{block_id: {action_id: {...}}}`, which
    `plain_text_value` builds for a text input; it replaces the view's own state.
    """
    view_id = str(view.get("id") or "V0VIEW")
    state_values = values if values is not None else view.get("state", {}).get("values", {})
    full_view = {
        "id": view_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "external_id": "",
        "app_id": api_app_id,
        "bot_id": BOT_ID,
        "root_view_id": view_id,
        "previous_view_id": None,
        "clear_on_close": False,
        "notify_on_close": False,
    } | dict(view)
    full_view["state"] = {"values": {k: dict(v) for k, v in state_values.items()}}
    payload: Json = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": full_view,
        "response_urls": [],
        "enterprise": None,
        "is_enterprise_install": False,
    }
    return _form_request(payload, signing_secret, timestamp)


def plain_text_value(block_id: str, action_id: str, value: str) -> Json:
    """A modal state holding one text input's value, for `view_submission(values=...)`."""
    return {block_id: {action_id: {"type": "plain_text_input", "value": value}}}


def app_mention_event(
    user: str,
    text: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    team_id: str = TEAM_ID,
) -> Json:
    """An `app_mention` event; `text` should contain the mention, e.g. `<@U0BOT> deploy api`."""
    return _message_fields("app_mention", user, text, channel, ts, thread_ts, team_id)


def message_event(
    user: str,
    text: str,
    channel: str,
    ts: str | None = None,
    thread_ts: str | None = None,
    *,
    channel_type: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
    team_id: str = TEAM_ID,
) -> Json:
    """A `message` event; `channel_type` defaults to "im" for a `D...` channel, as for a DM.

    Give `bot_id` (and `subtype="bot_message"`) to build the echo of a bot's own message,
    which an app must ignore.
    """
    event = _message_fields("message", user, text, channel, ts, thread_ts, team_id)
    event["channel_type"] = channel_type or ("im" if channel.startswith("D") else "channel")
    if bot_id is not None:
        event["bot_id"] = bot_id
    if subtype is not None:
        event["subtype"] = subtype
    return event


def _message_fields(
    kind: str,
    user: str,
    text: str,
    channel: str,
    ts: str | None,
    thread_ts: str | None,
    team_id: str,
) -> Json:
    ts = ts or new_ts()
    event: Json = {
        "type": kind,
        "client_msg_id": str(uuid.uuid4()),
        "user": user,
        "text": text,
        "ts": ts,
        "team": team_id,
        "channel": channel,
        "event_ts": ts,
        "blocks": [
            {
                "type": "rich_text",
                "block_id": secrets.token_hex(3),
                "elements": [
                    {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}
                ],
            }
        ],
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def _user(user_id: str, user_name: str | None, team_id: str) -> Json:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _action(action: Mapping[str, Any], action_ts: str) -> Json:
    defaults: Json = {
        "block_id": secrets.token_hex(3),
        "type": "button",
        "text": {"type": "plain_text", "text": str(action.get("action_id", "")), "emoji": True},
        "action_ts": action_ts,
    }
    return defaults | dict(action)


def _json_request(
    payload: Json, headers: dict[str, str], secret: str | None, timestamp: int | None
) -> Request:
    body = json.dumps(payload).encode()
    return body, _finish(body, "application/json", headers, secret, timestamp)


def _form_request(payload: Json, secret: str | None, timestamp: int | None) -> Request:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return body, _finish(body, "application/x-www-form-urlencoded", {}, secret, timestamp)


def _finish(
    body: bytes,
    content_type: str,
    headers: dict[str, str],
    secret: str | None,
    timestamp: int | None,
) -> dict[str, str]:
    out = {"Content-Type": content_type, "User-Agent": _SLACK_USER_AGENT} | headers
    if secret is not None:
        out.update(sign(secret, body, timestamp))
    return out


def app_home_opened_event(user: str, channel: str, tab: str = "messages") -> Json:
    """`app_home_opened`: under the agent view, tab "messages" is the agent DM being opened."""
    return {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab}


def assistant_thread_started_event(user: str, channel: str, thread_ts: str) -> Json:
    """`assistant_thread_started`, as apps on the older assistant view still get it."""
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "channel_id": channel,
            "thread_ts": thread_ts,
            "context": {},
        },
        "event_ts": new_ts(),
    }


def agent_session_stopped_event(user: str, channel: str, thread_ts: str) -> Json:
    """`agent_session_stopped`: the person pressed Stop under the agent's work in a thread."""
    return {
        "type": "agent_session_stopped",
        "user": user,
        "channel": channel,
        "thread_ts": thread_ts,
        "event_ts": new_ts(),
    }
