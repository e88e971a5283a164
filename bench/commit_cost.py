"""What `HITLBOT_REDIS_REPLICAS_ACK` costs a commit that answers a human.

A private primary and one replica (`redis-server --replicaof`), on loopback; the real store
(`bot.runtime.wiring.runtime`, so the real pipeline and `WAIT`). For each setting, 0 then 1:
launches (`Service.launch`) and messages (`ThreadStore.update(..., queued=True)`, the commit
of every human answer), one at a time (the latency a human's request pays), then 20 at a
time (what a web process gets through). Nothing is queued to a worker: commits only (and
a launch's job). Alternating 0, 1, 0, 1; the second of each is kept.

`python -m bench.commit_cost [--commits 500]`; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bot.config import Settings
from bot.core.events import Event, UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.dev.embedded_redis import free_port, private_redis
from bot.logs import configure
from bot.runtime.service import Service
from bot.runtime.wiring import runtime

CONCURRENCY = 20


@contextmanager
def primary_and_replica() -> Iterator[str]:
    """A private Redis and a replica of it, in sync; yields the primary's URL."""
    with private_redis() as url:
        port = url.rsplit(":", 1)[1].split("/")[0]
        replica_port = free_port()
        replica = subprocess.Popen(
            ["redis-server", "--port", str(replica_port), "--bind", "127.0.0.1", "--save", ""]
            + ["--replicaof", "127.0.0.1", port],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while "master_link_status:up" not in _info(replica_port):
                if time.monotonic() > deadline:
                    raise RuntimeError("the replica did not sync")
                time.sleep(0.05)
            yield url
        finally:
            replica.terminate()
            replica.wait(10)


def _info(port: int) -> str:
    done = subprocess.run(
        ["redis-cli", "-p", str(port), "info", "replication"], capture_output=True, text=True
    )
    return done.stdout


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
    }


async def _timed(run: Callable[[int], Awaitable[Any]], count: int) -> dict[str, float]:
    """`run(i)` for i < count, one at a time, then CONCURRENCY at a time."""
    single = []
    for index in range(count):
        started = time.perf_counter()
        await run(index)
        single.append(time.perf_counter() - started)
    queue = iter(range(count, 2 * count))

    async def lane() -> None:
        for index in queue:
            await run(index)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return {
        **_percentiles(single),
        "per_s_concurrent": round(count / (time.perf_counter() - started)),
    }


async def measure(url: str, replicas: int, commits: int) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,
        REDIS_URL=url,
        HITLBOT_REDIS_PREFIX=f"bench-commit-{replicas}",
        HITLBOT_QUEUE=f"bench-commit-{replicas}:steps",
        HITLBOT_REDIS_REPLICAS_ACK=replicas,
        HITLBOT_MODEL="offline",
    )
    async with runtime(settings) as (deps, _):
        service = Service(deps)
        threads: list[Thread] = []

        async def launch(index: int) -> None:
            threads.append(await service.launch("deploy", f"hello {index}", ApiOrigin(), "u"))

        def said(thread: Thread) -> list[Event]:
            return [UserMessage(text="and again", user="u", at=deps.clock.now())]

        async def message(index: int) -> None:
            await deps.store.update(threads[index % len(threads)].id, said, queued=True)

        return {
            "launch": await _timed(launch, commits),
            "answer": await _timed(message, commits),
        }


async def main(commits: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with primary_and_replica() as url:
        # Alternating, twice: the first pass warms the process and Redis; the second counts.
        for replicas in (0, 1, 0, 1):
            name = f"HITLBOT_REDIS_REPLICAS_ACK={replicas}"
            results[name] = await measure(url, replicas, commits)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--commits", type=int, default=500)
    args = parser.parse_args()
    configure("WARNING")
    print(json.dumps(asyncio.run(main(args.commits)), indent=1))
