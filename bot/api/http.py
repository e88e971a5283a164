"""The HTTP API of factor 6: launch, get, list and resume threads."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from bot.api.identity import Caller, bearer, caller
from bot.core.events import EVENTS, HumanRequest, RequestSent
from bot.core.policy import tally, votes_on
from bot.core.thread import STATUSES, ApiOrigin, Status, Thread, status_of
from bot.core.usage import PRICES, totals
from bot.llm.pricing import Prices, prices
from bot.runtime.service import Answer, Service
from bot.store.watch import ThreadWatch, Until, wait_for

_CURSOR = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?(?:\|.*)?", re.DOTALL)
"""A cursor as `list_threads` gives it out: a score Redis reads as Python does (Python's
float also takes `nan`, `1_0` and spaces, which Redis refuses), `|`, a thread id."""
WAIT_MAX_S = 30.0
"""Longest long-poll of `GET /threads/{id}?wait=` (below common proxies' idle timeouts)."""


class LaunchBody(BaseModel):
    """`POST /threads`."""

    model_config = ConfigDict(extra="forbid")
    agent: str = Field(min_length=1, max_length=100, description="Agent to run, e.g. `deploy`.")
    message: str = Field(min_length=1, description="The first message of the thread.")
    user: str | None = Field(default=None, max_length=200, description="Who is asking.")


class ResponseBody(BaseModel):
    """`POST /threads/{id}/responses`."""

    model_config = ConfigDict(extra="forbid")
    request_id: str = Field(min_length=1, max_length=200)
    user: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who answers or decides: the credential's identity (a mismatch is a 403); "
        "taken as said only with `HITLBOT_API_TRUSTED_DECISIONS` (development).",
    )
    approved: bool | None = Field(default=None, description="The decision, for approvals.")
    answer: str | None = Field(default=None, description="The answer, for questions.")
    comment: str | None = Field(default=None, description="Why (a rejection's reason).")
    args: dict[str, Any] | None = Field(
        default=None,
        description="For an approval: the call's arguments as edited by the approver, checked "
        "by the tool's model; these run instead of the proposed ones (quorum-1 requests only).",
    )


class CancelBody(BaseModel):
    """`POST /threads/{id}/cancel`."""

    model_config = ConfigDict(extra="forbid")
    user: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Who cancels: the credential's identity (a mismatch is a 403); taken as "
        "said only with `HITLBOT_API_TRUSTED_DECISIONS` (development).",
    )
    reason: str | None = Field(default=None, max_length=2000, description="Why, if said.")


class MessageBody(BaseModel):
    """`POST /threads/{id}/messages`."""

    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1)
    user: str | None = Field(default=None, max_length=200)


# The dependencies are `async def` though they never await: FastAPI runs a plain `def`
# dependency in a worker thread, which cost a tenth of the web process under the cycle bench.
async def service(request: Request) -> Service:
    """The app's Service, built once at start-up."""
    svc: Service = request.app.state.service
    return svc


require_token = caller
"""The API's authentication under its older name (now: `bot.api.identity.caller`)."""
__all__ = ["bearer", "require_token", "router", "thread_view"]

Svc = Annotated[Service, Depends(service)]
router = APIRouter(prefix="/threads", tags=["threads"], dependencies=[Depends(caller)])


IdempotencyKey = Annotated[
    str | None,
    Header(
        min_length=1,
        max_length=255,
        description="Launch at most once: the same key from the same API identity, while the "
        "thread is kept (`HITLBOT_THREAD_TTL_S`), starts nothing and answers as the first "
        "launch did (202, its body, `Idempotent-Replayed: true`); with another agent, "
        "message or user it is a 422.",
    ),
]


@router.post("", status_code=202)
async def launch(
    body: LaunchBody,
    svc: Svc,
    who: Caller,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Start a thread; a worker takes its first step. With `Idempotency-Key`, at most once."""
    user = who.writer(body.user)
    origin = ApiOrigin(user=user)
    if idempotency_key is None:
        thread = await svc.launch(body.agent, body.message, origin, user, client=who.client)
        return {"thread_id": thread.id, "status": thread.status}
    key = f"{who.name}\0{idempotency_key}"  # one identity's keys are its own
    thread, replayed = await svc.launch_once(
        body.agent, body.message, origin, user, key=key, client=who.client
    )
    if replayed:  # the first launch's answer, as Stripe replays one: the thread as it started
        response.headers["Idempotent-Replayed"] = "true"
        return {"thread_id": thread.id, "status": status_of(thread.events[:1])}
    return {"thread_id": thread.id, "status": thread.status}


@router.get("")
async def list_threads(
    svc: Svc,
    status: Annotated[Status | None, Query(description=f"One of {', '.join(STATUSES)}")] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    """Threads, newest first; pass `next_cursor` back as `cursor` for the next page."""
    if cursor and not _CURSOR.fullmatch(cursor):
        raise HTTPException(400, "cursor is not one this server gave out")
    try:
        found, next_cursor = await svc.deps.store.list(status, cursor, limit)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from exc
    threads = [
        {"id": s.id, "agent": s.agent, "status": s.status, "updated": s.updated} for s in found
    ]
    return {"threads": threads, "next_cursor": next_cursor}


@router.get("/{thread_id}")
async def get_thread(
    thread_id: str,
    request: Request,
    svc: Svc,
    wait: Annotated[
        float | None,
        Query(
            gt=0,
            le=WAIT_MAX_S,
            description="Long-poll: hold the request up to this many seconds until "
            "`after_version` or `while_status` says the thread is worth answering with.",
        ),
    ] = None,
    after_version: Annotated[
        int | None, Query(ge=0, description="With `wait`: answer once `version` is above this.")
    ] = None,
    while_status: Annotated[
        list[Status] | None,
        Query(description="With `wait`: answer once `status` is none of these (repeatable)."),
    ] = None,
) -> dict[str, Any]:
    """The thread: status, pending request, every event, and the model that plays its agent.

    With `wait`, answered as soon as the thread meets the condition (at once if it does),
    else when the wait ends, with the thread as it is then: the client checks and asks again.
    """
    if wait is None:
        thread = await svc.get(thread_id)
    elif after_version is None and not while_status:
        raise HTTPException(400, "wait needs after_version or while_status: what to wait for")
    else:
        until = Until(after_version, frozenset(while_status or ()))
        watch: ThreadWatch = request.app.state.watch
        thread = await wait_for(watch, lambda: svc.get(thread_id), thread_id, until, wait)
    settings = svc.deps.settings
    return thread_view(thread, prices(settings)) | {"model": settings.model_label()}


@router.get("/{thread_id}/audit")
async def get_audit(thread_id: str, svc: Svc) -> dict[str, Any]:
    """The thread's audit entries, oldest first: launches, requests, every vote and
    decision (who, when, the SHA-256 of the approved arguments), results."""
    await svc.get(thread_id)  # 404 for an unknown thread
    return {"thread_id": thread_id, "entries": await svc.deps.store.audit(thread_id)}


@router.post("/{thread_id}/responses", status_code=202)
async def respond(thread_id: str, body: ResponseBody, svc: Svc, who: Caller) -> dict[str, Any]:
    """Answer the pending request as the credential's identity (`HITLBOT_API_KEYS`); 403 if
    the policy does not let it decide, 409 if the request was already answered."""
    decider = who.decider(body.user)
    answer = Answer(**(dict(body) | {"user": decider, "client": who.client}))
    thread = await svc.respond(thread_id, answer, enforce=not who.trusted)
    reply: dict[str, Any] = {"thread_id": thread.id, "status": thread.status}
    request = thread.request(body.request_id)
    if request is not None and request.kind == "approval":
        count = tally(request, votes_on(thread.events, request.request_id))
        reply["approvals"] = {"count": len(count.approvals), "needed": count.needed}
    return reply


@router.post("/{thread_id}/cancel", status_code=202)
async def cancel(thread_id: str, body: CancelBody, svc: Svc, who: Caller) -> dict[str, Any]:
    """Stop a running or waiting thread as the credential's identity: its pending request
    withdrawn (its cards updated), no tool started and no model asked after it; 409 if it was
    cancelled or finished already, 403 for someone who is neither its human nor an approver."""
    user = who.decider(body.user)
    thread = await svc.cancel(thread_id, user, "api", reason=body.reason, enforce=not who.trusted)
    stopped = thread.cancel
    withdrawn = stopped.withdrawn if stopped is not None else []
    return {"thread_id": thread.id, "status": thread.status, "withdrawn": withdrawn}


@router.post("/{thread_id}/messages", status_code=202)
async def post_message(thread_id: str, body: MessageBody, svc: Svc, who: Caller) -> dict[str, Any]:
    """Write to the thread again: answers a pending question or starts the next turn."""
    user = who.writer(body.user)
    thread = await svc.post_message(thread_id, body.message, user, client=who.client)
    return {"thread_id": thread.id, "status": thread.status}


def thread_view(thread: Thread, price_table: Prices | None = None) -> dict[str, Any]:
    """The JSON shape of `GET /threads/{id}` (`usage`: its model steps' tokens and their
    estimated cost, priced by `price_table`, the built-in table by default)."""
    view: dict[str, Any] = {
        "id": thread.id,
        "agent": thread.agent,
        "status": thread.status,
        "origin": thread.origin.model_dump(mode="json"),
        "created_at": thread.created_at.isoformat(),
        "version": thread.version,
        "pending_request": _pending(thread),
        "events": EVENTS.dump_python(thread.events, mode="json"),
        "usage": totals(thread.events, PRICES if price_table is None else price_table).view(),
    }
    if thread.status == "failed":
        view["error"] = next(e.reason for e in reversed(thread.events) if e.type == "failed")
    return view


def _pending(thread: Thread) -> dict[str, Any] | None:
    request: HumanRequest | None = thread.pending_request
    if request is None:
        return None
    view = request.model_dump(mode="json", exclude={"type"})
    call = thread.call(request.call_id) if request.call_id else None
    if request.kind == "approval" and call is not None:
        view["tool"] = {"name": call.name, "args": call.args, "reason": call.reason}
    sent = [e for e in thread.events if isinstance(e, RequestSent) and e.ref == request.request_id]
    view["sent_to"] = sent[-1].model_dump(mode="json", exclude={"type", "at"}) if sent else None
    return view
