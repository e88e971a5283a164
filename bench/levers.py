"""Ingest levers, each an A/B in one run: the same closed-loop Slack ingest against `hitlbot
web` started one way or the other, interleaved (the order turns each round) and repeated,
beside the bare FastAPI baseline measured in the same rounds. Medians and the spread (min–max)
of events/s; every acked mention must be a stored thread.

Part of `python -m bench` (rows `ingest, ...`); alone: `python -m bench.levers [--rounds 3]
[--count 3000] [--smoke]`, which prints the table. Levers:
- `redis[hiredis]`: redis-py's C reply parser, off through `bench.serve --no-hiredis`;
- `orjson`: the Slack fast path's body parse, off through `bench.serve --no-orjson` (json);
- the jobs' byte template (`bot.store.queue.cut_message`), off through `--no-job-bytes`, and
  the cheaper task ids (`bot.store.queue.task_id`), off through `--uuid-task-ids`;
- group commit: the intake script's concurrent calls as one pipeline per round trip
  (`bot.store.coalesce`), off through `bench.serve --no-coalesce` (a call per script call);
- uvicorn's access log (`hitlbot web --no-access-log`).

The smoke (`--smoke`, `python -m bench --smoke`) starts three web processes, not one per lever:
bare, as shipped, and every lever off at once, so each switch is still exercised.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from bench import ingest, slack_pool, stack
from bench.ingest import Throughput, throughput
from bench.procs import cpu_seconds
from bench.stack import SIGNING_SECRET, Served, bare_web, hitlbot_env
from bench.stats import Row, table
from bot.dev.embedded_redis import private_redis
from bot.store.keys import Keys

SHIPPED = "hitlbot as shipped (every lever on, access log on)"


@dataclass(frozen=True)
class Config:
    rounds: int = 3
    """Runs of each variant, interleaved (the order turns and reverses each round)."""
    count: int = 3000
    """Mentions per run (closed loop, 32 connections)."""
    smoke: bool = False
    """Three variants only (bare, as shipped, every lever off): keeps the switches working."""


@dataclass(frozen=True)
class Variant:
    name: str
    serve: Callable[[dict[str, str]], AbstractContextManager[Served]] | None
    """None: the bare FastAPI baseline."""
    writes: bool = False
    """The bare baseline writing each body to Redis (`bench.bare`): a second reference."""


def variants(smoke: bool = False) -> list[Variant]:
    def web(**kw: object) -> Callable[[dict[str, str]], AbstractContextManager[Served]]:
        return lambda env: stack.web(env, "web-lever", **kw)  # type: ignore[arg-type]

    if smoke:
        off = ["--no-orjson", "--no-job-bytes", "--uuid-task-ids", "--no-coalesce"]
        every = web(hiredis=False, serve=off, args=["--no-access-log"])
        return [
            Variant("bare FastAPI", None),
            Variant(SHIPPED, web()),
            Variant("every lever off", every),
        ]
    return [
        Variant("bare FastAPI", None),
        Variant(SHIPPED, web()),
        Variant("without hiredis", web(hiredis=False)),
        Variant("without orjson (json parses the Slack body)", web(serve=["--no-orjson"])),
        Variant("jobs dumped whole (no byte template)", web(serve=["--no-job-bytes"])),
        Variant("taskiq's uuid4 task ids", web(serve=["--uuid-task-ids"])),
        Variant("without group commit", web(serve=["--no-coalesce"])),
        Variant("access log off", web(args=["--no-access-log"])),
        Variant("bare FastAPI + one Redis SET per request (reference)", None, writes=True),
    ]


def _rounds(order: list[Variant], rounds: int) -> Iterator[Variant]:
    for r in range(rounds):
        turned = order[r % len(order) :] + order[: r % len(order)]
        yield from turned if r % 2 == 0 else reversed(turned)


def run(redis_url: str, stand: stack.StandIns, config: Config) -> list[Row]:
    redis = Redis.from_url(redis_url)
    keys = Keys()
    count, warmup = config.count, min(100, config.count)
    cfg = ingest.Config(seconds=0, pool=count, use_wrk=False)
    results: dict[str, list[tuple[Throughput, int]]] = {}
    cpu_ms: dict[str, list[float]] = {}
    """Milliseconds of the web process's CPU per acked event: steadier than events/s when
    the machine is shared, as it does not count the time the process waited for a core."""
    order = variants(config.smoke)
    with tempfile.TemporaryDirectory(prefix="hitlbot-levers-") as tmp:
        for n, variant in enumerate(_rounds(order, config.rounds)):
            pool = slack_pool.build(Path(tmp) / f"{n}.pool", count, SIGNING_SECRET, f"L{n}")
            print(f"levers: {variant.name} ...", file=sys.stderr, flush=True)
            if variant.serve is None:
                with bare_web(redis_url if variant.writes else None) as bare:
                    used = cpu_seconds(bare.pid)
                    got = throughput(bare.url, pool, cfg, "bare")
                    used = cpu_seconds(bare.pid) - used
                    results.setdefault(variant.name, []).append((got, 0))
                    cpu_ms.setdefault(variant.name, []).append(used * 1e3 / max(1, got.ok))
                continue
            redis.flushall()
            with variant.serve(hitlbot_env(redis_url, stand)) as served:
                warm = slack_pool.build(Path(tmp) / f"w{n}.pool", warmup, SIGNING_SECRET, f"W{n}")
                throughput(served.url, warm, ingest.Config(0, warmup, False), "warm")
                time.sleep(0.5)
                before = redis.zcard(keys.index)
                used = cpu_seconds(served.pid)
                got = throughput(served.url, pool, cfg, "lever")
                used = cpu_seconds(served.pid) - used
                cpu_ms.setdefault(variant.name, []).append(used * 1e3 / max(1, got.ok))
                time.sleep(1.0)
                lost = max(0, got.ok - (redis.zcard(keys.index) - before))
            results.setdefault(variant.name, []).append((got, lost))
    redis.close()
    bare = statistics.median(t.rate for t, _ in results[order[0].name])
    shipped = statistics.median(t.rate for t, _ in results[order[1].name])
    bare_cpu = statistics.median(cpu_ms[order[0].name])
    shipped_cpu = statistics.median(cpu_ms[order[1].name])
    rows = []
    for variant in order:
        cpus = cpu_ms[variant.name]
        cpu = statistics.median(cpus)
        runs = results[variant.name]
        rates = [t.rate for t, _ in runs]
        median = statistics.median(rates)
        p99 = statistics.median(t.p99 for t, _ in runs)
        lost = sum(lost for _, lost in runs)
        not_acked = sum(t.other for t, _ in runs)
        rows.append(
            Row(
                f"ingest, {variant.name}",
                f"{median:,.0f}/s (runs {min(rates):,.0f}–{max(rates):,.0f}), "
                f"p99 {p99 * 1e3:.1f} ms; web CPU {cpu:.3f} ms/event "
                f"(runs {min(cpus):.3f}–{max(cpus):.3f}); {not_acked} not acked, {lost} lost",
                f"bare {bare:,.0f}/s, {bare_cpu:.3f} ms/event; as shipped {shipped:,.0f}/s, "
                f"{shipped_cpu:.3f} ms/event",
                f"{median / bare:.2f}× bare, {median / shipped:.2f}× shipped (events/s); "
                f"{cpu / shipped_cpu:.2f}× shipped (CPU/event)",
                "≥ 0.50× bare, 0 lost",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.levers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--smoke", action="store_true", help="three variants, not one per lever")
    args = parser.parse_args()
    config = Config(args.rounds, args.count, args.smoke)
    with private_redis() as url, stack.standins() as stand:
        print(table(run(url, stand, config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
