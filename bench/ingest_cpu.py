"""The small ingest levers, A/B inside one web app: CPU per mention, each lever on and off.

A lever worth a few percent of the web's CPU per mention is inside the spread of separate web
processes on a shared machine (`bench.levers`). Here one process holds the real app (`create_app`,
its lifespan, real Redis, the Slack stand-in for `auth.test`) and calls it directly as ASGI,
32 signed mentions in flight (the closed loop's 32 connections, so group commit batches as it
does under wrk), in short blocks that switch a lever on and off in turn: the CPU time of this
process per mention (`time.process_time`: the app, its Redis client and the event loop; not
uvicorn's HTTP work, which the levers do not touch) of each block, paired with the block
before it. Every mention must be a stored thread.

`python -m bench.ingest_cpu [--pairs 20] [--block 200]`; prints the table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redis import Redis

from bench import slack_pool, stack
from bench.stack import SIGNING_SECRET, hitlbot_env
from bench.stats import Row, table
from bot.dev.embedded_redis import private_redis
from bot.store.keys import Keys

CONCURRENCY = 32


@dataclass(frozen=True)
class Config:
    pairs: int = 20
    """Blocks with the lever on, each paired with one with it off (order alternating)."""
    block: int = 200
    """Mentions per block."""


@dataclass(frozen=True)
class Lever:
    name: str
    switch: Callable[[Any, bool], None]
    """Turns the lever on (True) or off in the running app."""


def _orjson(app: Any, on: bool) -> None:
    import orjson

    from bot.slack import fastpath

    fastpath.orjson = orjson if on else None  # type: ignore[assignment]


def _templates(app: Any) -> list[Any]:
    deps = app.state.deps
    return [deps.intake._step._job, app.state.slack.deps.show_working._job]


def _job_bytes(app: Any, on: bool) -> None:
    from bot.store.queue import cut_message

    for template in _templates(app):
        template._cut = cut_message(template._broker.serializer, template._message) if on else None


def _task_ids(app: Any, on: bool) -> None:
    from taskiq.abc.broker import default_id_generator

    from bot.store.queue import task_id

    for template in _templates(app):
        template._new_id = task_id if on else default_id_generator


def _all(app: Any, on: bool) -> None:
    for switch in (_orjson, _job_bytes, _task_ids):
        switch(app, on)


LEVERS = [
    Lever("orjson for the Slack body", _orjson),
    Lever("jobs spliced into their dumped message", _job_bytes),
    Lever("task ids without the UUID object", _task_ids),
    Lever("the three together", _all),
]


async def _mentions(app: Any, lines: list[str]) -> int:
    """Send `lines` (pool lines) through the app, 32 at a time; the number acked (200)."""
    statuses: list[int] = []
    queue = iter(lines)

    async def one(line: str) -> int:
        stamp, signature, body = line.rstrip("\n").split("\t", 2)
        raw = body.encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(raw)).encode()),
            (b"x-slack-request-timestamp", stamp.encode()),
            (b"x-slack-signature", signature.encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/slack/events",
            "raw_path": b"/slack/events",
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "state": {},
        }
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": raw, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        return int(sent[0]["status"])

    async def worker() -> None:
        for line in queue:
            statuses.append(await one(line))

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    if os.environ.get("HITLBOT_BENCH_DEBUG"):
        print(sorted(set(statuses)), statuses.count(200), file=sys.stderr)
    return statuses.count(200)


async def _run(app: Any, pools: Path, config: Config, redis: Redis) -> list[Row]:
    keys = Keys()
    rows = []
    n = 0
    for lever in LEVERS:
        cpu: dict[bool, list[float]] = {True: [], False: []}
        sent = acked = lost = 0
        for pair in range(config.pairs):
            for on in (True, False) if pair % 2 == 0 else (False, True):
                path = slack_pool.build(
                    pools / f"{n}.pool", config.block, SIGNING_SECRET, f"C{n}", n * config.block
                )
                lines = path.read_text(encoding="utf-8").splitlines()
                n += 1
                lever.switch(app, on)
                started = time.process_time()
                ok = await _mentions(app, lines)
                cpu[on].append((time.process_time() - started) * 1e3 / len(lines))
                sent, acked = sent + len(lines), acked + ok
                lost += max(0, ok - redis.zcard(keys.index))  # stored before the ack
                redis.flushall()  # a block's threads gone: Redis stays small over many blocks
        lever.switch(app, True)
        on, off = statistics.median(cpu[True]), statistics.median(cpu[False])
        paired = [a / b for a, b in zip(cpu[True], cpu[False], strict=True)]
        total = sum(cpu[True]) / sum(cpu[False])  # the rare long blocks (a full GC) count here
        rows.append(
            Row(
                f"ingest in one process, {lever.name}: CPU per mention (app + Redis client)",
                f"on: {on:.3f} ms (blocks {min(cpu[True]):.3f}–{max(cpu[True]):.3f}); "
                f"{acked} of {sent} acked, {lost} lost",
                f"off: {off:.3f} ms (blocks {min(cpu[False]):.3f}–{max(cpu[False]):.3f})",
                f"{statistics.median(paired):.3f}× (median of {len(paired)} pairs; "
                f"{min(paired):.2f}–{max(paired):.2f}); all blocks: {total:.3f}×",
                "kept if < 1.00×",
            )
        )
    return rows


def run(redis_url: str, stand: stack.StandIns, config: Config) -> list[Row]:
    from bot.config import Settings
    from bot.logs import configure
    from bot.web.app import create_app

    configure()  # as `hitlbot web` does: INFO, so the debug lines cost what they cost there
    redis = Redis.from_url(redis_url)
    redis.flushall()
    saved = dict(os.environ)
    os.environ.update(hitlbot_env(redis_url, stand))
    try:
        settings = Settings()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    app = create_app(settings)

    async def main() -> list[Row]:
        async with app.router.lifespan_context(app):
            with tempfile.TemporaryDirectory(prefix="hitlbot-ingest-cpu-") as tmp:
                warm = slack_pool.build(
                    Path(tmp) / "warm.pool", min(500, 5 * config.block), SIGNING_SECRET, "CW", 10**6
                )
                await _mentions(app, warm.read_text(encoding="utf-8").splitlines())
                redis.flushall()
                return await _run(app, Path(tmp), config, redis)

    try:
        return asyncio.run(main())
    finally:
        redis.close()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest_cpu")
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--block", type=int, default=200)
    args = parser.parse_args()
    with private_redis() as url, stack.standins() as stand:
        print(table(run(url, stand, Config(args.pairs, args.block))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
