"""What waits on a human, as the operator reads it (`GET /requests?status=pending`): pure.

One entry per pending request: its thread and agent, what is asked (the tool and its arguments,
or the question), who may decide, the votes so far, when it was asked, its next deadline, and
where it was delivered (the Slack card's permalink, or the mail thread).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.core.events import HumanRequest, RequestSent
from bot.core.policy import allowed_approvers, deadline_steps, votes_on
from bot.core.thread import Thread

AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("lt_5m", 300),
    ("lt_1h", 3600),
    ("lt_1d", 86400),
    ("gte_1d", float("inf")),
)
"""The age buckets of the pending-requests gauge, by upper bound in seconds."""


def age_bucket(age_s: float) -> str:
    """The bucket a request of this age falls in."""
    return next(name for name, bound in AGE_BUCKETS if age_s < bound)


def pending_entry(
    thread: Thread, now: datetime, default_approvers: frozenset[str]
) -> dict[str, Any] | None:
    """The thread's pending request as the operator's listing shows it; None if none waits."""
    request = thread.pending_request
    if request is None:
        return None
    asked = request.at
    entry: dict[str, Any] = {
        "thread_id": thread.id,
        "agent": thread.agent,
        "request_id": request.request_id,
        "kind": request.kind,
        "message": request.message,
        "requested_at": asked.isoformat(),
        "age_s": round((now - asked).total_seconds(), 3),
        "deciders": _deciders(thread, request, default_approvers),
        "votes": [
            {"user": vote.user, "approved": vote.approved}
            for vote in votes_on(thread.events, request.request_id)
        ],
        "quorum": request.quorum if request.kind == "approval" else None,
        "next_deadline": _next_deadline(request),
        "delivered": _delivered(thread, request),
    }
    call = thread.call(request.call_id) if request.call_id else None
    if request.kind == "approval" and call is not None:
        entry["tool"] = {"name": call.name, "args": call.args}
    else:
        entry["question"] = request.message
        if request.choices:
            entry["choices"] = list(request.choices)
    return entry


def _deciders(
    thread: Thread, request: HumanRequest, default_approvers: frozenset[str]
) -> dict[str, Any]:
    if request.kind == "approval":
        users = sorted(allowed_approvers(request, default_approvers) - set(request.excluded))
        return {"users": users, "groups": list(request.approver_groups)}
    if request.answerers:
        return {"users": sorted(request.answerers), "groups": []}
    human = getattr(thread.origin, "user", None) or getattr(thread.origin, "address", None)
    return {"users": [human] if human else [], "groups": []}


def _next_deadline(request: HumanRequest) -> dict[str, Any] | None:
    steps = deadline_steps(request)
    if not steps:
        return None
    step, at = steps[0]
    return {"step": step, "at": datetime.fromtimestamp(at, tz=UTC).isoformat()}


def _delivered(thread: Thread, request: HumanRequest) -> dict[str, Any] | None:
    sent = [e for e in thread.events if isinstance(e, RequestSent) and e.ref == request.request_id]
    if not sent:
        return None
    last = sent[-1]
    where: dict[str, Any] = {"channel": last.channel, **last.coordinates}
    channel, ts = last.coordinates.get("channel"), last.coordinates.get("ts")
    if last.channel == "slack" and channel and ts:
        where["permalink"] = f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return where


def describe(entry: dict[str, Any]) -> str:
    """One listing entry as two lines for a terminal (`hitlbot pending`)."""
    if "tool" in entry:
        args = ", ".join(f"{key}={value!r}" for key, value in entry["tool"]["args"].items())
        what = f"approve {entry['tool']['name']}({args})"
    else:
        what = f"answer {entry['question']!r}"
    deciders = entry["deciders"]
    who = ", ".join([*deciders["users"], *(f"group {g}" for g in deciders["groups"])]) or "anyone"
    votes = f"  votes {len(entry['votes'])}/{entry['quorum']}" if entry.get("quorum") else ""
    deadline = entry.get("next_deadline")
    due = f"  next: {deadline['step']} at {deadline['at']}" if deadline else ""
    where = entry.get("delivered") or {}
    link = where.get("permalink") or where.get("message_id") or where.get("channel", "")
    return (
        f"{entry['thread_id']}  {entry['agent']}  {what}\n"
        f"    waiting {_age(entry['age_s'])}  by: {who}{votes}{due}  {link}".rstrip()
    )


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"
