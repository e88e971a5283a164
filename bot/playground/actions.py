"""What the page asks the server to do as a person: each becomes a real request to the app."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.playground import mailbox, person
from bot.playground.kit import Playground
from bot.playground.person import Refused, Sent

router = APIRouter(prefix="/dev", include_in_schema=False)
Act = Callable[[Playground, httpx.AsyncClient], Awaitable[Sent]]
"""What a person does, as the request(s) it makes to the app."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PostBody(_Body):
    """A person writes in a channel or DM."""

    user: str = Field(max_length=50, description="Slack user id of the person.")
    channel: str = Field(max_length=50, description="Channel or DM id.")
    text: str = Field(max_length=20_000, description="What they write (`@hitlbot` mentions).")
    thread_ts: str | None = Field(default=None, max_length=50, description="Reply in this thread.")


class ClickBody(_Body):
    """A person clicks a button of a message."""

    user: str = Field(max_length=50, description="Slack user id of the person.")
    channel: str = Field(max_length=50, description="Channel of the message.")
    ts: str = Field(max_length=50, description="The message's ts.")
    action_id: str = Field(max_length=255, description="The button's action id.")


class ViewBody(_Body):
    """A person submits (or cancels) a modal."""

    user: str = Field(max_length=50, description="Slack user id of the person.")
    view_id: str = Field(max_length=50, description="The modal's view id.")
    text: str = Field(default="", max_length=3000, description="What they typed.")
    values: dict[str, Annotated[str, Field(max_length=3000)]] | None = Field(
        default=None,
        max_length=100,
        description="Each input's own entry, by `block_id.action_id` (else `text` for all).",
    )


class MailBody(_Body):
    """A customer writes to the bot."""

    sender: str = Field(max_length=300, description="`From`, e.g. `Ana <ana@example.com>`.")
    subject: str = Field(default="", max_length=300, description="`Subject`.")
    text: str = Field(max_length=20_000, description="The body.")


class MailReplyBody(_Body):
    """A customer answers one of the bot's mails."""

    message_id: str = Field(max_length=300, description="`Message-ID` of the bot's mail.")
    text: str = Field(max_length=20_000, description="The answer (the client quotes the rest).")


@router.post("/slack/post")
async def post(body: PostBody, request: Request) -> JSONResponse:
    """Send the message to `/slack/events` as Slack's event(s)."""
    return await _answer(
        request,
        lambda pg, http: person.post_message(
            pg, http, body.user, body.channel, body.text, body.thread_ts
        ),
    )


@router.post("/slack/click")
async def click(body: ClickBody, request: Request) -> JSONResponse:
    """Send the click to `/slack/events` as a signed `block_actions` payload."""
    return await _answer(
        request,
        lambda pg, http: person.click(pg, http, body.user, body.channel, body.ts, body.action_id),
    )


class StopBody(_Body):
    """A person presses Stop under the agent's work in a Slack thread."""

    user: str = Field(max_length=40, description="Who presses it.")
    channel: str = Field(max_length=40, description="The conversation.")
    thread_ts: str = Field(max_length=40, description="The Slack thread the agent works in.")


@router.post("/slack/stop")
async def stop(body: StopBody, request: Request) -> JSONResponse:
    """Send Slack's `agent_session_stopped` event for the thread."""
    return await _answer(
        request, lambda pg, http: person.stop(pg, http, body.user, body.channel, body.thread_ts)
    )


@router.post("/slack/submit")
async def submit(body: ViewBody, request: Request) -> JSONResponse:
    """Send the modal to `/slack/events` as a signed `view_submission` payload."""
    return await _answer(
        request,
        lambda pg, http: person.submit_view(
            pg, http, body.user, body.view_id, body.text, body.values
        ),
    )


@router.post("/slack/close")
async def close(body: ViewBody, request: Request) -> JSONResponse:
    """Close a modal without submitting it."""
    try:
        person.close_view(request.app.state.playground, body.user, body.view_id)
    except Refused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    return JSONResponse({"status": 200, "body": None})


@router.post("/mail/send")
async def send_mail(body: MailBody, request: Request) -> JSONResponse:
    """POST a new mail to `/email/inbound`."""
    return await _answer(
        request, lambda pg, http: mailbox.compose(pg, http, body.sender, body.subject, body.text)
    )


@router.post("/mail/reply")
async def reply_mail(body: MailReplyBody, request: Request) -> JSONResponse:
    """POST the customer's reply to one of the bot's mails to `/email/inbound`."""
    return await _answer(
        request, lambda pg, http: mailbox.reply(pg, http, body.message_id, body.text)
    )


async def _answer(request: Request, act: Act) -> JSONResponse:
    playground: Playground = request.app.state.playground
    http: httpx.AsyncClient = request.app.state.deps.http
    try:
        sent = await act(playground, http)
    except Refused as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    # What the app answered is passed on: the page shows a refusal as Slack would not.
    return JSONResponse({"status": sent.status, "body": sent.body})
