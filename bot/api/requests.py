"""`GET /requests?status=pending`: what waits on a human, for the operator (and `hitlbot
pending`, and the `hitlbot_pending_requests` gauge of `/metrics`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query

from bot.api.http import Svc
from bot.api.identity import caller
from bot.core.pending import AGE_BUCKETS, age_bucket, pending_entry
from bot.metrics import PENDING
from bot.runtime.deps import Deps

SCAN_LIMIT = 5000
"""Most waiting threads one listing reads (per status), so a scrape stays bounded."""
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}

router = APIRouter(prefix="/requests", tags=["requests"], dependencies=[Depends(caller)])


def seconds(duration: str) -> float:
    """`90`, `90s`, `15m`, `2h`, `1d` in seconds; ValueError otherwise."""
    match = _DURATION.match(duration.strip())
    if match is None:
        raise ValueError(f"older_than={duration!r}: give seconds, or a number with s, m, h or d")
    return float(match.group(1)) * _UNIT[match.group(2)]


async def pending(deps: Deps) -> list[dict[str, Any]]:
    """Every pending request, oldest first."""
    now = deps.clock.now()
    approvers = deps.settings.slack_approver_ids()
    entries = []
    for status in ("waiting_approval", "waiting_human"):
        cursor: str | None = None
        scanned = 0
        while scanned < SCAN_LIMIT:
            found, cursor = await deps.store.list(status, cursor, 200)
            scanned += len(found)
            for summary in found:
                thread = await deps.store.get(summary.id)
                entry = pending_entry(thread, now, approvers) if thread is not None else None
                if entry is not None:
                    entries.append(entry)
            if cursor is None:
                break
    return sorted(entries, key=lambda entry: entry["requested_at"])


@router.get("")
async def list_requests(
    svc: Svc,
    status: Annotated[Literal["pending"], Query(description="Only `pending` for now.")] = "pending",
    agent: Annotated[str | None, Query(max_length=100, description="Only this agent's.")] = None,
    older_than: Annotated[
        str | None, Query(max_length=20, description="Only those waiting longer: 90, 15m, 2h, 1d.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """Pending requests, oldest first: thread, agent, kind, the tool and its arguments or the
    question, who may decide, votes so far, when asked, the next deadline, where delivered."""
    try:
        min_age = seconds(older_than) if older_than else 0.0
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    entries = [
        entry
        for entry in await pending(svc.deps)
        if (agent is None or entry["agent"] == agent) and entry["age_s"] >= min_age
    ]
    return {"status": status, "requests": entries[:limit], "count": len(entries)}


async def refresh_gauge(deps: Deps) -> None:
    """Set `hitlbot_pending_requests` {agent, kind, age} from the store, for a scrape."""
    counts: dict[tuple[str, str, str], int] = {}
    for entry in await pending(deps):
        key = (entry["agent"], entry["kind"], age_bucket(entry["age_s"]))
        counts[key] = counts.get(key, 0) + 1
    PENDING.clear()
    for agent in deps.agents:
        for kind in ("approval", "question"):
            for bucket, _ in AGE_BUCKETS:
                PENDING.labels(agent, kind, bucket).set(counts.pop((agent, kind, bucket), 0))
    for (agent, kind, bucket), count in counts.items():  # external agents, gone agents
        PENDING.labels(agent, kind, bucket).set(count)
