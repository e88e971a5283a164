"""A thread read through the HTTP API (`HITLBOT_URL`), for `hitlbot record` on a laptop that
has the API's token but no Redis credentials."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from bot.core.thread import Thread


class FetchError(Exception):
    """The thread could not be read through the API; the message says why."""


async def thread_from_api(url: str, token: str, thread_id: str) -> Thread:
    """The thread `thread_id` as `GET /threads/{id}` gives it."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
            reply = await client.get(f"/threads/{thread_id}")
    except httpx.HTTPError as exc:
        raise FetchError(f"cannot reach {url} (HITLBOT_URL): {exc}") from None
    if reply.status_code == 404:
        raise FetchError(f"no thread {thread_id!r} at {url}")
    if reply.status_code != 200:
        raise FetchError(f"{url} answered HTTP {reply.status_code}: {reply.text[:200]}")
    view = reply.json()
    fields = ("id", "agent", "origin", "events", "version", "created_at")
    try:
        return Thread.model_validate({name: view[name] for name in fields if name in view})
    except ValidationError as exc:
        raise FetchError(f"{url} gave a thread this hitlbot cannot read: {exc}") from None
