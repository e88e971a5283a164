"""JSON bodies whose text is not Unicode: refused with a 400 before any route reads them.

JSON can spell a lone surrogate (`"\\ud800"`), and Python's `json.loads` reads it into a `str`
that UTF-8 cannot encode. Let in, it fails wherever the text is next encoded — FastAPI's own
422 echo of it, a Redis write, the Messages API request, a mail — as a 500 or a failed step,
long after the request that brought it was answered. Pure ASGI, in front of every route: a
JSON body is read here (up to `limit` bytes; a larger one is left to its route's own limit),
looked at only if its bytes could spell a surrogate at all, and replayed to the app.
"""

from __future__ import annotations

import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.asgi import read_body, replaying
from bot.web.bodylimit import refuse

_MAYBE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
"""What a surrogate looks like in JSON's bytes: an escape, or its (invalid) UTF-8 form, which
`json.loads` also lets through."""
_NOT_UNICODE = (
    "the JSON body holds text that is not valid Unicode "
    "(a lone surrogate, such as \\ud800, with no pair)"
)


def lone_surrogate(body: bytes) -> bool:
    """Whether the JSON document `body` holds a string (key or value) UTF-8 cannot encode."""
    if (b"\\u" not in body and b"\xed" not in body) or not _MAYBE.search(body):
        return False  # the fast path (two byte searches): nearly every body
    try:
        document = json.loads(body)
    except ValueError:
        return False  # not JSON: the route says so itself
    try:
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False  # surrogate pairs, which make one character


class SurrogateGuard:
    """400 for a JSON request body with a lone surrogate in it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        buffered, body = await read_body(receive, self.limit)
        if len(body) <= self.limit and lone_surrogate(body):
            await refuse(send, 400, _NOT_UNICODE)
            return
        await self.app(scope, replaying(buffered, receive), send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            kind = value.split(b";", 1)[0].strip().lower()
            return bool(kind == b"application/json" or kind.endswith(b"+json"))
    return False
