"""A request's body read once at the ASGI level and replayed to the app: the one reader of the
web's guards (`bot.web.bodylimit`, `bot.web.surrogates`) and Slack's fast path
(`bot.slack.fastpath`), which look at a body before the framework does."""

from __future__ import annotations

from starlette.types import Message, Receive


async def read_body(receive: Receive, limit: int | None = None) -> tuple[list[Message], bytes]:
    """The request's messages as received (to replay) and its body, read until the body ends
    (or the client left: the last message is then not an `http.request`), or runs over
    `limit` bytes (the body is then longer than what is returned, and the rest unread)."""
    buffered: list[Message] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        buffered.append(message)
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if (limit is not None and size > limit) or not message.get("more_body", False):
            break
    return buffered, b"".join(chunks)


def replaying(buffered: list[Message], receive: Receive) -> Receive:
    """A `receive` for the app: the messages read already, then the rest as it comes."""

    async def replay() -> Message:
        return buffered.pop(0) if buffered else await receive()

    return replay
