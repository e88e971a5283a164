"""One worker's threads in flight when every model call takes 1 s.

More threads than the target are queued first (the web process launches them before the
worker runs); the model stand-in answers each request after a fixed delay, so the calls in
flight at any moment are the requests that arrived within the last delay. The figure is the
peak of that count.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx
from redis import Redis

from bench.cycle_client import MESSAGE
from bench.stack import API_TOKEN, StandIns, hitlbot_env, web, worker
from bench.stats import Row

DELAY_S = 1.0


@dataclass(frozen=True)
class Config:
    threads: int


def peak(arrivals: list[float], window: float) -> int:
    """Most arrivals within any `window` seconds: the calls in flight at that moment."""
    best, left = 0, 0
    ordered = sorted(arrivals)
    for right, at in enumerate(ordered):
        while ordered[left] <= at - window:
            left += 1
        best = max(best, right - left + 1)
    return best


async def _launch(url: str, count: int, concurrency: int = 32) -> None:
    """Launch `count` threads over the API, `concurrency` requests at a time."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:

        async def one() -> None:
            async with gate:
                reply = await client.post("/threads", json={"agent": "deploy", "message": MESSAGE})
                assert reply.status_code == 202, reply.text

        await asyncio.gather(*(one() for _ in range(count)))


def run(redis_url: str, stand: StandIns, cfg: Config) -> list[Row]:
    Redis.from_url(redis_url).flushall()
    env = hitlbot_env(redis_url, stand)
    with web(env) as served:
        # Queued before the worker starts, so the figure is the worker's, not the launch rate.
        started = time.monotonic()
        asyncio.run(_launch(served.url, cfg.threads))
        launched = time.monotonic() - started
    since = int(stand.control("/count")["count"])  # type: ignore[call-overload]
    stand.control(f"/config?delay={DELAY_S}", method="POST")
    try:
        with worker(env):
            stand.control(f"/wait?n={since + cfg.threads}&timeout=60")
            arrivals = stand.control(f"/arrivals?since={since}")["arrivals"]
    finally:
        stand.control("/config?delay=0", method="POST")
    assert isinstance(arrivals, list)
    top = peak([float(a) for a in arrivals], DELAY_S)
    span = max(arrivals) - min(arrivals) + DELAY_S if arrivals else 0
    return [
        Row(
            f"one worker's model calls in flight, each call {DELAY_S:.0f} s",
            f"peak {top} of {cfg.threads} threads ({len(arrivals)} calls in {span:.1f} s)",
            f"all {cfg.threads} queued first (in {launched:.1f} s), then one worker started",
            f"{top / 100:.2f}× target",
            "≥ 100",
        )
    ]
