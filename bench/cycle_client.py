"""The cycle bench's clients, in their own process: launch, wait for the approval card,
click Approve on it (a signed Slack `block_actions`), wait until the thread is done.

`python -m bench.cycle_client WEB_URL CONTROL_URL --clients 20 --seconds 10`; prints JSON with
the completed cycles, their latencies and the elapsed time. No new cycle starts after
`--seconds`; cycles already started are finished (bounded by a timeout each).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from bench.stack import API_TOKEN, APPROVER, SIGNING_SECRET
from bot.slack.cards import APPROVE
from bot.testing.slack_signing import block_actions

MESSAGE = "deploy api 1.4.2 to production"
POLL_S = 0.005
"""Poll interval of the thread once the step being waited for is almost certainly done."""
CYCLE_TIMEOUT_S = 30.0


async def cycle(session: aiohttp.ClientSession, web: str, control: str, stage: list[str]) -> None:
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
    await _until(session, f"{web}/threads/{thread_id}", auth, _card_recorded)
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
    await _until(session, f"{web}/threads/{thread_id}", auth, _done)


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
) -> None:
    """Poll the thread every few ms until `ready` says so (bounded by the cycle timeout)."""
    deadline = time.monotonic() + CYCLE_TIMEOUT_S
    while time.monotonic() < deadline:
        async with session.get(url, headers=auth) as reply:
            if ready(await reply.json()):
                return
        await asyncio.sleep(POLL_S)
    raise TimeoutError(f"{url} not ready within {CYCLE_TIMEOUT_S} s")


async def main(web: str, control: str, clients: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    failures: list[str] = []
    connector = aiohttp.TCPConnector(limit=clients * 2)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        stop_at = start + seconds

        async def client() -> None:
            while time.monotonic() < stop_at:
                began = time.monotonic()
                stage: list[str] = []
                try:
                    await asyncio.wait_for(cycle(session, web, control, stage), CYCLE_TIMEOUT_S)
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
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("web")
    parser.add_argument("control")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(main(args.web, args.control, args.clients, args.seconds))))
