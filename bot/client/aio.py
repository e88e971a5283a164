"""`AsyncHitlbot`: the client for asyncio agents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from bot.client.models import (
    PREFIX,
    WAIT_S,
    Answer,
    Decision,
    Option,
    answer_of,
    approval_body,
    channel_json,
    decision_of,
    new_call_id,
    question_body,
)
from bot.core.jsondata import Json

T = TypeVar("T")


class AsyncHitlbot:
    """Asks hitlbot for approvals and answers; each call waits (long-polls) for the human."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        http: httpx.AsyncClient | None = None,
        wait_s: float = WAIT_S,
    ) -> None:
        self.base = base_url.rstrip("/") + PREFIX
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = http or httpx.AsyncClient(timeout=wait_s + 10)
        self.wait_s = wait_s

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def approval(
        self,
        fn: str,
        kwargs: dict[str, Any],
        *,
        channel: str | None = None,
        thread_ts: str | None = None,
        responders: list[str] | None = None,
        schema: Json | None = None,
        reject_options: list[Option] | None = None,
        state: Json | None = None,
        call_id: str | None = None,
    ) -> Decision:
        """Ask for approval of `fn(**kwargs)` in Slack `channel` (a channel or user id; none:
        `SLACK_APPROVAL_CHANNEL`) and wait for the decision. With `schema` (the JSON schema
        of `kwargs`) an approver may edit them: run the function with `Decision.kwargs`."""
        call_id = call_id or new_call_id()
        where = channel_json(channel, thread_ts, responders)
        body = approval_body(fn, kwargs, call_id, where, schema, reject_options or [], state)
        call = await self._post("/function_calls", body)
        return await self._until(f"/function_calls/{call_id}", call, decision_of)

    async def ask(
        self,
        question: str,
        *,
        channel: str | None = None,
        thread_ts: str | None = None,
        responders: list[str] | None = None,
        options: list[Option] | None = None,
        state: Json | None = None,
        call_id: str | None = None,
    ) -> Answer:
        """Ask `question` in Slack `channel` and wait for the first allowed reply."""
        call_id = call_id or new_call_id()
        where = channel_json(channel, thread_ts, responders)
        body = question_body(question, call_id, where, options or [], state)
        contact = await self._post("/contact_requests", body)
        return await self._until(f"/contact_requests/{call_id}", contact, answer_of)

    async def _post(self, path: str, body: Json) -> Json:
        reply = await self.http.post(self.base + path, json=body, headers=self.headers)
        reply.raise_for_status()
        found: Json = reply.json()
        return found

    async def _until(self, path: str, call: Json, done: Callable[[Json], T | None]) -> T:
        while (outcome := done(call)) is None:
            reply = await self.http.get(
                self.base + path, params={"wait": self.wait_s}, headers=self.headers
            )
            reply.raise_for_status()
            call = reply.json()
        return outcome
