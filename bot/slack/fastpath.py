"""Message events without Bolt or the web framework: the web process's hot path for Slack.

Under load, Bolt's per-request work for an event (its middleware chain: authorize, context,
self-event filter, listener matching; then the listener) was the largest part of the web
process besides Redis, and after it FastAPI's own per-request work (route matching over every
route, the request object, dependency solving, the response object): none of it is needed once
a signed, well-formed message event is in hand. `MessageEvents` sits in front of FastAPI's
routing, inside the body limit and the server-error handler: it reads the body, and if it is
a correctly signed, well-formed `event_callback` of a message it goes straight to
`messages.take`, the very listener Bolt would call, and acks. Anything else (a bad signature,
a malformed body, interactivity, other events, Slack not configured) goes on to the
`/slack/events` route unread, with the body replayed, which answers exactly as it always did.
Bolt still serves everything else: interactivity (clicks, modals, with their `trigger_id`
window), other events, and Socket Mode.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.asgi import read_body, replaying
from bot.core.jsondata import Json
from bot.slack.http import PATH, signature_problem
from bot.slack.inbound import shape_problem
from bot.slack.messages import take

MESSAGE_EVENTS = ("app_mention", "message")
"""Event types `messages.take` handles; Bolt routes them to it too."""

_ACK_HEADERS = [(b"content-length", b"0")]

try:  # the `orjson` extra: a delivery parsed in about half the time (bench/RESULTS.md, issue 25)
    import orjson
except ImportError:
    orjson = None  # type: ignore[assignment]  # json alone, as before


def message_event(raw: bytes) -> tuple[Json, Json] | None:
    """`(body, event)` when `raw` is a well-formed Events API delivery of a message, else None.

    Well formed as `inbound.malformed` has it (UTF-8 JSON, the shape Bolt can read), parsed once.
    """
    if not raw.startswith(b"{"):
        return None  # a form: interactivity
    try:
        body = _loads(raw)
    except ValueError:  # UnicodeDecodeError too
        return None
    if not isinstance(body, dict) or body.get("type") != "event_callback":
        return None
    if shape_problem(body) is not None:
        return None
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") not in MESSAGE_EVENTS:
        return None
    return body, event


def _loads(raw: bytes) -> Any:
    """`json.loads` of the UTF-8 body, through orjson when it is installed. What orjson refuses
    and json takes (a lone surrogate escape, NaN, a number beyond a double) is parsed by json,
    as before; the one difference left, an integer beyond 64 bits read as a float, is in no
    field the fast path reads (its fields are strings, `shape_problem` checks)."""
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    return json.loads(raw.decode("utf-8"))


class MessageEvents:
    """ASGI middleware: a signed message event to `POST /slack/events` is taken and acked here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        slack = getattr(scope["app"].state, "slack", None)
        if slack is None or not slack.signing_secret or not slack.bot_user_id:
            await self.app(scope, receive, send)  # the route says why, or Bolt takes it
            return
        buffered, body = await read_body(receive)  # inside the web's body limit
        found = None
        if buffered[-1].get("type") == "http.request":  # whole, not cut by a disconnect
            stamp, signature = _headers(scope["headers"])
            now = slack.deps.service.deps.clock.time()
            if signature_problem(slack.signing_secret, body, stamp, signature, now) is None:
                found = message_event(body)
        if found is None:
            await self.app(scope, replaying(buffered, receive), send)
            return
        await take(slack.deps, *found, slack.bot_user_id)
        await send({"type": "http.response.start", "status": 200, "headers": _ACK_HEADERS})
        await send({"type": "http.response.body", "body": b""})


def _headers(headers: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    stamp = signature = None
    for name, value in headers:
        if name == b"x-slack-request-timestamp":
            stamp = value.decode("latin-1")
        elif name == b"x-slack-signature":
            signature = value.decode("latin-1")
    return stamp, signature
