"""A thread of an external call as the HumanLayer API shows it (pure).

`status` is derived like everything else: `requested_at` from the request, `approved`,
`comment` and `response` from the response that decided it (none while a quorum is short),
`slack_message_ts` from where its card was posted, the option names from the labels. A call
cancelled in hitlbot (its request withdrawn) reads as denied, or for a contact as answered with
who cancelled it, so the caller's polling ends: HumanLayer's status has no "cancelled".
"""

from __future__ import annotations

from typing import Any

from bot.core.events import Cancelled, RequestSent
from bot.core.external import answered, the_request
from bot.core.thread import ExternalOrigin, Thread
from bot.humanlayer.cards import reject_options, response_options
from bot.humanlayer.models import (
    FunctionCall,
    FunctionCallStatus,
    HumanContact,
    HumanContactStatus,
    ResponseOption,
)


def origin_of(thread: Thread) -> ExternalOrigin:
    """The thread's external origin (the routes only load such threads)."""
    assert isinstance(thread.origin, ExternalOrigin), thread.id
    return thread.origin


def _slack_ts(thread: Thread, request_id: str) -> str | None:
    for event in thread.events:
        if isinstance(event, RequestSent) and event.ref == request_id and event.channel == "slack":
            return event.coordinates.get("ts")
    return None


def _named(options: list[ResponseOption], said: str | None) -> str | None:
    """The option whose label (or name) `said` is, if any."""
    if said is None:
        return None
    for option in options:
        if said.strip() in (option.label, option.name):
            return option.name
    return None


def function_call(thread: Thread) -> FunctionCall:
    """The `FunctionCall` of a function call's thread."""
    origin = origin_of(thread)
    request = the_request(thread)
    response = answered(thread)
    status = FunctionCallStatus(requested_at=request.at if request else thread.created_at)
    if request is not None:
        status.slack_message_ts = _slack_ts(thread, request.request_id)
    if response is not None:
        status.responded_at = response.at
        status.approved = response.approved
        status.comment = response.comment
        status.responded_by = response.user
        status.edited_kwargs = response.edited_args
        if response.approved is False:
            prefix = (response.comment or "").split(":", 1)[0]
            status.reject_option_name = _named(reject_options(thread), prefix)
    elif (cancel := _cancelled(thread)) is not None:
        status.responded_at = cancel.at
        status.approved = False
        status.comment = _cancel_text(cancel)
        status.responded_by = cancel.user
    return FunctionCall.model_validate(
        {"run_id": origin.run_id, "call_id": origin.call_id, "spec": origin.spec, "status": status}
    )


def human_contact(thread: Thread) -> HumanContact:
    """The `HumanContact` of a contact's thread."""
    origin = origin_of(thread)
    request = the_request(thread)
    response = answered(thread)
    status = HumanContactStatus(requested_at=request.at if request else thread.created_at)
    if response is not None:
        status.responded_at = response.at
        status.response = response.answer
        status.responded_by = response.user
        options = response_options(thread)
        # An interactive option's answer is what was written; its name is kept as the comment.
        status.response_option_name = _named(options, response.answer) or _named(
            options, response.comment
        )
    elif (cancel := _cancelled(thread)) is not None:
        status.responded_at = cancel.at
        status.response = _cancel_text(cancel)
        status.responded_by = cancel.user
    return HumanContact.model_validate(
        {"run_id": origin.run_id, "call_id": origin.call_id, "spec": origin.spec, "status": status}
    )


def _cancelled(thread: Thread) -> Cancelled | None:
    """The cancel that withdrew the call's request, if one did."""
    request = the_request(thread)
    return None if request is None else thread.withdrawn_by(request.request_id)


def _cancel_text(cancel: Cancelled) -> str:
    said = f"Cancelled by {cancel.user}"
    return f"{said}: {cancel.reason}" if cancel.reason else said


def call_view(thread: Thread) -> dict[str, Any]:
    """The call as JSON: a `FunctionCall` or a `HumanContact`, by what it asks."""
    if origin_of(thread).call == "function_call":
        return function_call(thread).model_dump(mode="json")
    return human_contact(thread).model_dump(mode="json")
