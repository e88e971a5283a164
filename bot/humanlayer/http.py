"""`/humanlayer/v1`: the HumanLayer v1 API, as the published `humanlayer` 0.7.9 SDK calls it.

Each call is a thread of the external agent (`bot.core.external`), whose id is derived from
the call's kind and `call_id`: the SDK and agent frameworks retry, and the same call posted
twice is one thread. It starts as every thread does, through `start_or_continue`, with the
call id as the delivery's claim: a post retried after a lost reply, or posted again, finds
the first one's thread (the create is a compare-and-set from nothing besides). Decisions made
through `.../respond` go through `Service.respond` like every other, as the key's identity.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from bot.api.identity import Caller
from bot.core.external import external_thread, the_request
from bot.core.policy import Rule
from bot.core.refusals import Invalid, NotFound
from bot.core.thread import ExternalOrigin, Thread
from bot.humanlayer.identity import client_identity
from bot.humanlayer.models import (
    ContactChannel,
    Escalation,
    FunctionCall,
    FunctionCallStatus,
    HumanContact,
    HumanContactStatus,
    ResponseOption,
)
from bot.humanlayer.views import call_view
from bot.runtime.intake import Message, NewThread, start_or_continue
from bot.runtime.service import Answer, Service
from bot.store.intake import Claim
from bot.store.watch import ThreadWatch, Until, wait_for

PREFIX = "/humanlayer/v1"
WAIT_MAX_S = 30.0
"""Longest long-poll of `GET .../{call_id}?wait=`."""
PENDING = frozenset({"waiting_approval", "waiting_human", "running"})
Kind = Literal["function_call", "human_contact"]


async def service(request: Request) -> Service:
    """The app's Service."""
    svc: Service = request.app.state.service
    return svc


Svc = Annotated[Service, Depends(service)]
Client = Annotated[str, Depends(client_identity)]
"""The caller's identity's name (who a call is recorded as asked by)."""
Wait = Annotated[
    float | None,
    Query(
        gt=0,
        le=WAIT_MAX_S,
        description="Long-poll: answer as soon as the call is decided or answered, or after "
        "this many seconds with the call as it is then.",
    ),
]
router = APIRouter(prefix=PREFIX, tags=["humanlayer"])


def thread_id_of(kind: Kind, call_id: str) -> str:
    """The thread of a call: one per kind and `call_id`, whoever posts it."""
    digest = hashlib.sha256(f"{kind}\0{call_id}".encode()).hexdigest()[:32]
    return f"th_x{digest}"


def _check_channel(channel: ContactChannel | None, kind: Kind) -> None:
    """422 for what the SDK can send but hitlbot cannot do."""
    if channel is None:
        return
    if channel.sms is not None or channel.whatsapp is not None:
        raise Invalid("hitlbot cannot reach people by SMS or WhatsApp: use slack or email")
    if channel.slack is not None and channel.slack.bot_token:
        raise Invalid("slack.bot_token is not supported: hitlbot posts as its own Slack app")
    if channel.email is not None and kind == "function_call":
        raise Invalid("approvals by email are not supported: use slack (or no channel)")


def _check_unique(field: str, options: list[ResponseOption] | None) -> None:
    """422 for options two of which share a name (the name is what comes back)."""
    names = [option.name for option in options or []]
    if len(set(names)) != len(names):
        raise Invalid(f"{field} must have unique names")


def _responders(channel: ContactChannel | None) -> list[str] | None:
    """Who the caller allowed to decide or answer (`slack.allowed_responder_ids`), if named."""
    slack = channel.slack if channel is not None else None
    return slack.allowed_responder_ids if slack is not None else None


async def _create(svc: Svc, origin: ExternalOrigin, kind: Kind, **ask: Any) -> Thread:
    """Store and queue the call's thread, or find the one an earlier post made."""
    thread_id = thread_id_of(kind, origin.call_id)
    fn = ask.get("fn") or "contact_human"
    rule = svc.deps.policy.rule("external", fn, Rule())
    now = svc.deps.clock.now()
    request_id = f"{thread_id}.{svc.deps.ids('r')}"
    thread = external_thread(thread_id, origin, rule, request_id, now, **ask)
    message = Message(
        "",
        origin.user,
        claims=[Claim("humanlayer", f"{kind}:{origin.call_id}")],
        start=NewThread(thread.agent, origin, thread),
        claim_ttl_s=svc.deps.settings.thread_ttl_s,
    )
    outcome = await start_or_continue(svc, message)
    if outcome.thread is not None:
        return outcome.thread
    return await _load(svc, kind, origin.call_id)  # posted before: `seen`


async def _load(svc: Svc, kind: Kind, call_id: str) -> Thread:
    thread = await svc.deps.store.get(thread_id_of(kind, call_id))
    if thread is None or not isinstance(thread.origin, ExternalOrigin):
        raise NotFound(f"no {kind.replace('_', ' ')} {call_id!r}")
    return thread


async def _get(svc: Svc, request: Request, kind: Kind, call_id: str, wait: float | None) -> Thread:
    if wait is None:
        return await _load(svc, kind, call_id)
    watch: ThreadWatch = request.app.state.watch
    thread_id = thread_id_of(kind, call_id)
    return await wait_for(
        watch, lambda: _load(svc, kind, call_id), thread_id, Until(None, PENDING), wait
    )


def _answer(thread: Thread, user: str, **said: Any) -> Answer:
    request = the_request(thread)
    if request is None:
        raise NotFound(f"thread {thread.id} asks nothing")
    return Answer(request_id=request.request_id, user=user, **said)


@router.post("/function_calls")
async def create_function_call(body: FunctionCall, svc: Svc, client: Client) -> dict[str, Any]:
    """Ask for approval of a function call: its card goes to the channel it names."""
    spec = body.spec
    _check_channel(spec.channel, "function_call")
    _check_unique("reject_options", spec.reject_options)
    origin = ExternalOrigin(
        api="humanlayer" if spec.kwargs_schema is None else "native",
        call="function_call",
        call_id=body.call_id,
        run_id=body.run_id,
        user=client,
        spec=spec.model_dump(mode="json"),
    )
    thread = await _create(
        svc,
        origin,
        "function_call",
        fn=spec.fn,
        kwargs=spec.kwargs,
        approvers=_responders(spec.channel),
    )
    return call_view(thread)


@router.get("/function_calls/{call_id}")
async def get_function_call(
    call_id: str, request: Request, svc: Svc, _client: Client, wait: Wait = None
) -> dict[str, Any]:
    """The call and its status (`approved` is null until it is decided)."""
    return call_view(await _get(svc, request, "function_call", call_id, wait))


@router.post("/contact_requests")
async def create_contact(body: HumanContact, svc: Svc, client: Client) -> dict[str, Any]:
    """Ask a human a question: in Slack (the answer is a reply in its thread) or by mail."""
    spec = body.spec
    _check_channel(spec.channel, "human_contact")
    _check_unique("response_options", spec.response_options)
    origin = ExternalOrigin(
        call="human_contact",
        call_id=body.call_id,
        run_id=body.run_id,
        user=client,
        spec=spec.model_dump(mode="json"),
    )
    thread = await _create(
        svc,
        origin,
        "human_contact",
        question=spec.msg,
        choices=[option.label for option in spec.response_options or []],
        approvers=_responders(spec.channel),
    )
    return call_view(thread)


@router.get("/contact_requests/{call_id}")
async def get_contact(
    call_id: str, request: Request, svc: Svc, _client: Client, wait: Wait = None
) -> dict[str, Any]:
    """The contact and its status (`response` is null until it is answered)."""
    return call_view(await _get(svc, request, "human_contact", call_id, wait))


@router.post("/agent/function_calls/{call_id}/respond")
async def respond_function_call(
    call_id: str, body: FunctionCallStatus, svc: Svc, who: Caller
) -> dict[str, Any]:
    """Decide the call, as the key's identity (an approver, unless decisions are trusted)."""
    if body.approved is None:
        raise Invalid("send approved: true or false")
    if body.approved is False and not (body.comment or "").strip():
        raise Invalid("a rejection needs a comment (the SDK reads it)")
    thread = await _load(svc, "function_call", call_id)
    comment = body.comment
    if body.approved is False and body.reject_option_name:
        comment = f"{body.reject_option_name}: {comment}"
    decider = who.decider(None)  # a service key never decides
    answer = _answer(thread, decider, approved=body.approved, comment=comment, client=who.client)
    thread = await svc.respond(thread.id, answer, enforce=not who.trusted)
    return call_view(thread)


@router.post("/agent/human_contacts/{call_id}/respond")
async def respond_contact(
    call_id: str, body: HumanContactStatus, svc: Svc, who: Caller
) -> dict[str, Any]:
    """Answer the contact, as the key's identity."""
    if not (body.response or "").strip():
        raise Invalid("send a non-empty response")
    thread = await _load(svc, "human_contact", call_id)
    answer = _answer(thread, who.decider(None), answer=body.response, client=who.client)
    thread = await svc.respond(thread.id, answer, enforce=not who.trusted)
    return call_view(thread)


@router.post("/agent/function_calls/{call_id}/escalate_email")
async def escalate_function_call(
    call_id: str, body: Escalation, svc: Svc, _client: Client
) -> dict[str, Any]:
    """Escalate by mail: not supported for approvals (their cards are in Slack)."""
    await _load(svc, "function_call", call_id)
    raise Invalid("escalating an approval by email is not supported: use the policy's escalate_to")


@router.post("/agent/human_contacts/{call_id}/escalate_email")
async def escalate_contact(
    call_id: str, body: Escalation, svc: Svc, _client: Client
) -> dict[str, Any]:
    """Ask the contact's question again by mail, to the escalation's recipients."""
    thread = await _load(svc, "human_contact", call_id)
    from bot.humanlayer.mail import escalate  # the mail channel's own dependencies

    await escalate(svc.deps, thread, body)
    return call_view(await _load(svc, "human_contact", call_id))
