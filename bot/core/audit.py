"""What the append-only audit stream records: launches, requests, decisions and results."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from bot.core.events import (
    ApprovalVote,
    Cancelled,
    DeadlinePassed,
    Done,
    Event,
    Failed,
    Feedback,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    ToolResult,
    UserMessage,
)
from bot.core.thread import Thread


def args_digest(args: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a call's arguments: what exactly was approved."""
    canonical = json.dumps(args, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _approved_call(
    thread: Thread, request_id: str, edited: dict[str, Any] | None
) -> dict[str, Any]:
    """What an approval decision or vote was about: the call, and a digest of the arguments
    approved (`edited`, if the approver edited them)."""
    request = thread.request(request_id)
    call = thread.call(request.call_id) if request and request.call_id else None
    if request is None or request.kind != "approval" or call is None:
        return {}
    found: dict[str, Any] = {"call_id": call.call_id, "tool": call.name}
    found["args_sha256"] = args_digest(call.args if edited is None else edited)
    if edited is not None:
        # What was approved (and runs) is the edit; the proposal's digest is kept beside it.
        found.update(proposed_args_sha256=args_digest(call.args), edited_args=edited)
    return found


def _client(event: UserMessage | HumanResponse | ApprovalVote) -> dict[str, str]:
    """The API client a human's word came with (its key's identity and fingerprint), if any."""
    return {} if event.client is None else {"client": event.client}


def audit_entries(
    before: Thread, new: list[Event], after: Thread | None = None
) -> list[dict[str, Any]]:
    """Audit records for `new` events about to be appended to `before` (pure); `after`: the
    caller's `before.appended(*new)`, if it has it (else built only if an approval needs it)."""
    thread = after
    entries: list[dict[str, Any]] = []
    for event in new:
        entry: dict[str, Any] = {"at": event.at.isoformat(), "event": event.type}
        if isinstance(event, UserMessage):
            entry.update(user=event.user, launch=not before.events, **_client(event))
        elif isinstance(event, HumanRequest):
            entry.update(request_id=event.request_id, kind=event.kind, call_id=event.call_id)
        elif isinstance(event, HumanResponse | ApprovalVote):
            response = event if isinstance(event, HumanResponse) else None
            approved = response.approved if response is not None else True
            edited = response.edited_args if response is not None and approved else None
            entry.update(request_id=event.request_id, user=event.user, approved=approved)
            entry.update(_client(event))
            thread = thread or before.appended(*new)
            entry.update(_approved_call(thread, event.request_id, edited))
        elif isinstance(event, ToolResult):
            entry.update(call_id=event.call_id, tool=event.name)
        elif isinstance(event, DeadlinePassed):
            entry.update(request_id=event.request_id, step=event.step)
        elif isinstance(event, HeldMessage | Cancelled | Feedback):
            entry.update(_word(event))
        elif not isinstance(event, Done | Failed):
            continue
        entries.append(entry)
    return entries


def _word(event: HeldMessage | Cancelled | Feedback) -> dict[str, Any]:
    """Who said what, for a held message, a cancel or feedback on an answer."""
    if isinstance(event, HeldMessage):
        return {"sender": event.sender, "reason": event.reason}
    if isinstance(event, Feedback):
        return {"user": event.user, "rating": event.rating, "ref": event.ref}
    found: dict[str, Any] = {"user": event.user, "via": event.via, "withdrawn": event.withdrawn}
    return found | ({"reason": event.reason} if event.reason else {})
