"""The cycle bench's clients, in their own process: launch, wait for the approval card,
click Approve on it (a signed Slack `block_actions`), wait until the thread is done.

`python -m bench.cycle_client WEB_URL CONTROL_URL --clients 20 --seconds 10 [--rate R]`; prints
JSON with the completed cycles, their latencies and the elapsed time. No new cycle starts after
`--seconds`; cycles already started are finished (bounded by a timeout each). `--rate`: cycles
started per second in all, paced (closed loop without it).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.stack import API_TOKEN, APPROVER, SIGNING_SECRET
from bot.slack.cards import APPROVE
from bot.standins.slack_signing import block_actions

MESSAGE = "deploy api 1.4.2 to production"
WAIT_S = 10.0
"""Longest long-poll of the thread (`GET /threads/{id}?wait=`); asked again until ready."""
POLL_S = 0.005
"""Poll interval against a web process without the long-poll (an older tree under
`HITLBOT_BENCH_CODE`), as this client polled before it."""
CYCLE_TIMEOUT_S = 30.0


async def cycle(
    session: aiohttp.ClientSession, web: str, control: str, stage: list[str], long_poll: bool
) -> None:
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    async with session.post(
        f"{web}/threads", json={"agent": "deploy", "message": MESSAGE}, headers=auth
    ) as reply:
        assert reply.status == 202, await reply.text()
        thread_id = (await reply.json())["thread_id"]
    stage.append(f"launched {thread_id}")
    async with session.get(f"{control}/card", params={"thread": thread_id}) as reply:
        assert reply.status == 200, f"no approval card for {thread_id}"
        card = await reply.json()
    stage.append("card")
    # The worker posts the card, then records where it went; a click counts only on the card
    # of record, so a click faster than any person's waits for that record.
    await _until(session, f"{web}/threads/{thread_id}", auth, _card_recorded, [], long_poll)
    stage.append("recorded")
    body, headers = block_actions(
        APPROVER,
        [{"action_id": APPROVE, "value": card["request_id"]}],
        channel_id=card["channel"],
        message_ts=card["ts"],
        signing_secret=SIGNING_SECRET,
    )
    async with session.post(f"{web}/slack/events", data=body, headers=headers) as reply:
        assert reply.status == 200, await reply.text()
    stage.append("clicked")
    busy = [("while_status", "running"), ("while_status", "waiting_approval")]
    await _until(session, f"{web}/threads/{thread_id}", auth, _done, busy, long_poll)


def _card_recorded(thread: dict[str, Any]) -> bool:
    return any(event["type"] == "request_sent" for event in thread["events"])


def _done(thread: dict[str, Any]) -> bool:
    assert thread["status"] in ("running", "waiting_approval", "done"), thread["status"]
    return bool(thread["status"] == "done")


async def _until(
    session: aiohttp.ClientSession,
    url: str,
    auth: dict[str, str],
    ready: Callable[[dict[str, Any]], bool],
    busy: list[tuple[str, str]],
    long_poll: bool,
) -> None:
    """Long-poll the thread until `ready` says so (bounded by the cycle timeout): each ask
    answers when the thread has moved past the version last seen, or left the `busy`
    statuses, as any client of the API would wait. Without `long_poll`, poll every few ms."""
    deadline = time.monotonic() + CYCLE_TIMEOUT_S
    params: list[tuple[str, str]] = [("wait", str(WAIT_S)), *busy] if busy and long_poll else []
    while time.monotonic() < deadline:
        async with session.get(url, headers=auth, params=params) as reply:
            assert reply.status == 200, await reply.text()
            view = await reply.json()
        if ready(view):
            return
        if long_poll:
            params = [("wait", str(WAIT_S)), ("after_version", str(view["version"])), *busy]
        else:
            await asyncio.sleep(POLL_S)
    raise TimeoutError(f"{url} not ready within {CYCLE_TIMEOUT_S} s")


async def _has_long_poll(session: aiohttp.ClientSession, web: str) -> bool:
    """Whether the web process long-polls: it refuses a malformed `wait` (422); a tree from
    before it ignores the parameter and answers 404 for the unknown thread."""
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    async with session.get(f"{web}/threads/th_probe?wait=x", headers=auth) as reply:
        return reply.status == 422


async def main(
    web: str, control: str, clients: int, seconds: float, rate: float = 0.0
) -> dict[str, object]:
    """`rate`: start cycles at most this often per second, in all (0: each client starts its
    next cycle as soon as its last one ended), so that variants compared run at one rate."""
    latencies: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        long_poll = await _has_long_poll(session, web)
        start = time.monotonic()
        stop_at = start + seconds
        slots = itertools.count()

        async def client() -> None:
            while time.monotonic() < stop_at:
                if rate:
                    await asyncio.sleep(max(0.0, start + next(slots) / rate - time.monotonic()))
                    if time.monotonic() >= stop_at:
                        return
                began = time.monotonic()
                stage: list[str] = []
                try:
                    await asyncio.wait_for(
                        cycle(session, web, control, stage, long_poll), CYCLE_TIMEOUT_S
                    )
                except Exception as exc:  # counted, reported in the table, logged
                    failures.append(f"{exc!r} after {stage}")
                    print("cycle failed:", failures[-1], file=sys.stderr)
                    continue
                latencies.append(time.monotonic() - began)

        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.monotonic() - start
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "failures": failures[:5],
        "failed": len(failures),
        "long_poll": long_poll,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("web")
    parser.add_argument("control")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rate", type=float, default=0.0, help="cycles started per second")
    args = parser.parse_args()
    result = main(args.web, args.control, args.clients, args.seconds, args.rate)
    print(json.dumps(asyncio.run(result)))
