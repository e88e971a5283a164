"""External calls (pure): an agent outside hitlbot asks for one approval or one answer.

Such a call is a thread of its own whose agent is `EXTERNAL`: no model and no tools. It is
made of the call (a `tool_call` named after the caller's function, or a question) and the
request that asks a human, decided by the rules every thread follows; once the request is
answered the thread concludes (`concluded`), and the caller, polling or told by webhook,
runs its function or reads the answer.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from bot.core.agent import Agent
from bot.core.decide import follow_up
from bot.core.events import Done, HumanRequest, HumanResponse, ToolCall
from bot.core.policy import Rule
from bot.core.thread import ExternalOrigin, Thread
from bot.core.tools import REQUEST_MORE_INFORMATION

EXTERNAL = Agent(
    name="external",
    description="Calls from agents outside hitlbot (the HumanLayer API, the native client).",
    prompt=Path(__file__),  # never rendered: it has no model
    tools=(),
    external=True,
)
"""The agent of every external call's thread."""


def external_thread(
    thread_id: str,
    origin: ExternalOrigin,
    rule: Rule,
    request_id: str,
    now: datetime,
    *,
    fn: str | None = None,
    kwargs: dict[str, Any] | None = None,
    question: str | None = None,
    choices: list[str] | None = None,
    approvers: list[str] | None = None,
) -> Thread:
    """The thread of a new external call: a function call to approve (`fn`, `kwargs`) or a
    `question` (with suggested `choices`), and its request, by `rule`. `approvers`: only
    they may decide or answer (the caller's `allowed_responder_ids`)."""
    thread = Thread(id=thread_id, agent=EXTERNAL.name, origin=origin, created_at=now)
    if fn is not None:
        call = ToolCall(call_id=origin.call_id, name=fn, args=kwargs or {}, at=now)
    else:
        args = {"message": question or "", "choices": choices or []}
        call = ToolCall(
            call_id=origin.call_id, name=REQUEST_MORE_INFORMATION.name, args=args, at=now
        )
    events = [call, *follow_up(thread, call, fn is not None, rule, request_id, now)]
    request = events[-1]
    assert isinstance(request, HumanRequest)
    if approvers:
        events[-1] = request.model_copy(update={"responders": approvers})
    return thread.appended(*events)


def the_request(thread: Thread) -> HumanRequest | None:
    """The external call's request: its one human request."""
    return next(iter(thread.facts.requests.values()), None)


def concluded(thread: Thread, now: datetime) -> Done:
    """What an answered external call ends with: the decision or the answer, in words."""
    request = the_request(thread)
    response = thread.response_to(request.request_id) if request is not None else None
    call_id = request.call_id if request is not None else None
    if response is None:
        return Done(message="no answer", call_id=call_id, at=now)
    said = response.answer if response.approved is None else response.verdict
    if response.comment:
        said = f"{said}: {response.comment}"
    return Done(message=f"{said} (by {response.user})", call_id=call_id, at=now)


def answered(thread: Thread) -> HumanResponse | None:
    """The response that decided or answered the call, if any."""
    request = the_request(thread)
    return thread.response_to(request.request_id) if request is not None else None


def mail_senders(origin: ExternalOrigin) -> frozenset[str]:
    """Who may answer an external call's question by mail: its address and its additional
    recipients (To and Cc), lower-cased."""
    email = (origin.spec.get("channel") or {}).get("email") or {}
    found = [email.get("address") or ""]
    for extra in email.get("additional_recipients") or []:
        if (extra.get("field") or "to") in ("to", "cc"):
            found.append(extra.get("address") or "")
    return frozenset(address.strip().lower() for address in found if address)
