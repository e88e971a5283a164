"""CPU per cycle, each lever A/B in one run: the cycle bench's clients (`bench.cycle_client`)
against `hitlbot web` and one `hitlbot worker`, the worker started as shipped or with one lever
switched off (`bench.serve`), interleaved (the order turns and reverses each round) and
repeated. The clients start cycles at one fixed rate (`--rate`) in every run, so each variant
does the same work per second: CPU per cycle then does not move with how fast the variant
(or the machine's load at that moment) let the closed loop go, and the web process, the same
in every run, is the control. Medians and the spread (min–max) of the web's and the worker's
CPU per cycle (`/proc`); the load average beside each run (stderr) and its median in the table.

`python -m bench.cycle_levers [--rounds 3] [--clients 20] [--seconds 8] [--rate 12]`.
Levers (the worker's; each switched off alone):
- a Claude step streamed only where the thread's channel shows the answer as it is written
  (off: `--stream-every-step`);
- Claude's answer read from its JSON, not through the SDK's response models (off: `--sdk-reply`);
- no status read before a tool or model step (off: `--status-read`);
and one not shipped: httpx's and taskiq's INFO line per request and per job left out
(`--quiet-library-logs`), to say what those log lines cost.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from redis import Redis

from bench import stack
from bench.procs import PYTHON, cpu_seconds, run_json
from bench.stack import Served, hitlbot_env, web, worker
from bench.stats import Row, table
from bot.dev.embedded_redis import private_redis


@dataclass(frozen=True)
class Variant:
    name: str
    worker: tuple[str, ...] = ()
    """`bench.serve` switches of the worker (none: `hitlbot worker` as shipped)."""


VARIANTS = [
    Variant("as shipped"),
    Variant("every Claude step streamed", ("--stream-every-step",)),
    Variant("the answer read through the SDK's models", ("--sdk-reply",)),
    Variant("a status read before each tool and model step", ("--status-read",)),
    Variant("httpx's and taskiq's INFO lines left out (not shipped)", ("--quiet-library-logs",)),
]
ALL_SWITCHED = Variant(
    "every switch at once (the smoke: each patch still applies)",
    tuple(flag for variant in VARIANTS for flag in variant.worker),
)
SMOKE = (VARIANTS[0], ALL_SWITCHED)
"""The smoke's variants: two worker starts instead of five, every switch exercised."""


@dataclass(frozen=True)
class Config:
    rounds: int = 3
    clients: int = 20
    seconds: float = 8
    rate: float = 12.0
    """Cycles started per second (0: closed loop); below what a loaded machine sustains."""
    warmup: bool = True
    variants: tuple[Variant, ...] = tuple(VARIANTS)
    """The first is the baseline (as shipped)."""


@dataclass(frozen=True)
class Run:
    cycles: int
    rate: float
    web_ms: float
    worker_ms: float
    failed: int
    load: float


def _one(
    redis_url: str, stand: stack.StandIns, served: Served, variant: Variant, cfg: Config
) -> Run:
    Redis.from_url(redis_url).flushall()
    env = hitlbot_env(redis_url, stand)
    with worker(env, "worker-cycle-lever", serve=variant.worker) as worker_pid:
        argv = [PYTHON, "-m", "bench.cycle_client", served.url, stand.control_url]
        if cfg.warmup:  # imports, connections, the first calls: outside the figure
            run_json("cycle-lever-warmup", [*argv, "--clients", "2", "--seconds", "1"], 120)
        before = cpu_seconds(served.pid), cpu_seconds(worker_pid)
        counts = ["--clients", str(cfg.clients), "--seconds", str(cfg.seconds)]
        counts += ["--rate", str(cfg.rate)]
        result = json.loads(run_json("cycle-lever", [*argv, *counts], cfg.seconds + 120))
        web_s = cpu_seconds(served.pid) - before[0]
        worker_s = cpu_seconds(worker_pid) - before[1]
    cycles = max(1, len(result["latencies"]))
    return Run(
        cycles=len(result["latencies"]),
        rate=len(result["latencies"]) / result["elapsed"],
        web_ms=web_s * 1e3 / cycles,
        worker_ms=worker_s * 1e3 / cycles,
        failed=int(result["failed"]),
        load=os.getloadavg()[0],
    )


def interleaved(order: list[Variant], rounds: int) -> Iterator[Variant]:
    """Each variant once a round, the order turned by one and reversed every other round."""
    for r in range(rounds):
        turned = order[r % len(order) :] + order[: r % len(order)]
        yield from turned if r % 2 == 0 else reversed(turned)


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ms ({min(values):.1f}–{max(values):.1f})"


def run(redis_url: str, stand: stack.StandIns, cfg: Config) -> list[Row]:
    runs: dict[str, list[Run]] = {}
    # One web process for every run: the levers are the worker's.
    with web(hitlbot_env(redis_url, stand), "web-cycle-lever") as served:
        for variant in interleaved(list(cfg.variants), cfg.rounds):
            print(f"cycle levers: {variant.name} ...", file=sys.stderr, flush=True)
            got = _one(redis_url, stand, served, variant, cfg)
            print(
                f"  web {got.web_ms:.1f} + worker {got.worker_ms:.1f} ms per cycle, "
                f"{got.rate:.1f} cycles/s, load {got.load:.1f}",
                file=sys.stderr,
                flush=True,
            )
            runs.setdefault(variant.name, []).append(got)
    shipped = runs[cfg.variants[0].name]
    base_web = statistics.median(r.web_ms for r in shipped)
    base_worker = statistics.median(r.worker_ms for r in shipped)
    rows = []
    for variant in cfg.variants:
        done = runs[variant.name]
        web_ms = [r.web_ms for r in done]
        worker_ms = [r.worker_ms for r in done]
        total = statistics.median(w + k for w, k in zip(web_ms, worker_ms, strict=True))
        failed = sum(r.failed for r in done)
        rows.append(
            Row(
                f"CPU per cycle, {variant.name}",
                f"web {_spread(web_ms)} + worker {_spread(worker_ms)}, total {total:.1f} ms; "
                f"{statistics.median(r.rate for r in done):.1f} cycles/s; "
                f"{sum(r.cycles for r in done)} cycles, {failed} failed; "
                f"load average {statistics.median(r.load for r in done):.1f}",
                f"as shipped: web {base_web:.1f} + worker {base_worker:.1f} ms",
                f"worker {statistics.median(worker_ms) / base_worker:.2f}×, "
                f"total {total / (base_web + base_worker):.2f}× as shipped",
                "each lever: less CPU on than off",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cycle_levers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rate", type=float, default=12.0, help="cycles/s; 0: closed loop")
    args = parser.parse_args()
    cfg = Config(args.rounds, args.clients, args.seconds, args.rate)
    with private_redis() as url, stack.standins() as stand:
        print(table(run(url, stand, cfg)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
