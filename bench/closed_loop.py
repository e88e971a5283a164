"""The peers' closed loop: `clients` concurrent clients, each starting its next cycle when its
last one ends, for `seconds`; what `bench.cycles` reads back from a peer's process."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable


async def closed_loop(
    one_cycle: Callable[[], Awaitable[None]], clients: int, seconds: float
) -> dict[str, object]:
    """Run `one_cycle` from `clients` loops until `seconds` have passed: the wall time, the
    process's CPU time, each cycle's latency, and the failures (counted, the first five kept,
    each logged)."""
    latencies: list[float] = []
    failures: list[str] = []
    start, cpu = time.monotonic(), time.process_time()
    stop_at = start + seconds

    async def client() -> None:
        while time.monotonic() < stop_at:
            began = time.monotonic()
            try:
                await one_cycle()
            except Exception as exc:  # counted, reported in the table, logged
                failures.append(repr(exc))
                print("cycle failed:", repr(exc), file=sys.stderr)
                continue
            latencies.append(time.monotonic() - began)

    await asyncio.gather(*(client() for _ in range(clients)))
    return {
        "elapsed": time.monotonic() - start,
        "cpu_s": time.process_time() - cpu,
        "latencies": latencies,
        "failures": failures[:5],
        "failed": len(failures),
    }
