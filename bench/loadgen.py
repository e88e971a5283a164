"""A load generator in its own process: POSTs pool lines to a URL, open- or closed-loop.

`--rate R`: open loop, request i is sent at start + i/R whatever the answers (latency counts
from that scheduled moment, so a slow server cannot hide queueing). `--connections C`:
closed loop, C clients each sending the next request when the last is answered.
Prints one JSON object: latencies (s), statuses, indexes of the requests answered 200.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

import aiohttp


def _requests(pool: Path) -> list[tuple[dict[str, str], bytes]]:
    lines = pool.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        ts, sig, body = line.split("\t", 2)
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": sig,
        }
        out.append((headers, body.encode()))
    return out


async def _send(
    session: aiohttp.ClientSession, url: str, request: tuple[dict[str, str], bytes]
) -> int:
    headers, body = request
    try:
        async with session.post(url, data=body, headers=headers) as reply:
            await reply.read()
            return reply.status
    except aiohttp.ClientError:
        return 0


async def open_loop(url: str, pool: list, rate: float, count: int) -> dict[str, object]:
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic() + 0.2

        async def one(i: int) -> None:
            statuses[i] = await _send(session, url, pool[i % len(pool)])
            latencies[i] = time.monotonic() - (start + i / rate)

        tasks = []
        for i in range(count):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - start
    return _summary(latencies, statuses, elapsed)


async def closed_loop(url: str, pool: list, connections: int, count: int) -> dict[str, object]:
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count
    next_index = 0
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()

        async def client() -> None:
            nonlocal next_index
            while next_index < count:
                i, next_index = next_index, next_index + 1
                sent = time.monotonic()
                statuses[i] = await _send(session, url, pool[i % len(pool)])
                latencies[i] = time.monotonic() - sent

        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.monotonic() - start
    return _summary(latencies, statuses, elapsed)


def _summary(latencies: list[float], statuses: list[int], elapsed: float) -> dict[str, object]:
    return {
        "elapsed": elapsed,
        "latencies": latencies,
        "statuses": {str(s): statuses.count(s) for s in set(statuses)},
        "acked": [i for i, s in enumerate(statuses) if s == 200],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("pool", type=Path)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    pool = _requests(args.pool)
    if args.rate:
        result = asyncio.run(open_loop(args.url, pool, args.rate, args.count))
    else:
        result = asyncio.run(closed_loop(args.url, pool, args.connections, args.count))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
