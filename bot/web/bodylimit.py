"""A request-body limit that holds for chunked bodies too (no Content-Length to check).

Pure ASGI: a body without a Content-Length is read here first, counted as it comes, and
refused with 413 the moment it runs over; what fits is replayed to the app. (Raising from
the app's own read would not do: FastAPI turns any error while reading into a 400.)
"""

from __future__ import annotations

import json
from collections.abc import Collection

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.asgi import read_body, replaying


class BodyLimit:
    """413 for any request body over `limit` bytes, except on `exempt` paths."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Collection[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await refuse(send, 413, f"request body over {self.limit} bytes")
                return
            await self.app(scope, receive, send)  # the server stops at Content-Length
            return
        buffered, body = await read_body(receive, self.limit)
        if len(body) > self.limit:
            await refuse(send, 413, f"request body over {self.limit} bytes")
            return
        await self.app(scope, replaying(buffered, receive), send)


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer with `status` and a JSON `{"detail": ...}`."""
    body = json.dumps({"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
