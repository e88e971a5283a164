"""Slack ack latency at a fixed 200 events/s while the rest of the system is busy.

One `hitlbot web` and one worker on one Redis; the cycle bench's clients (`cycle_client`, own
process, 20 clients) run launch → card → Approve → done cycles through them the whole time,
and the fixed-rate generator sends signed mentions to the same web process (each mention
starts a thread the same worker then runs to its approval card). Beside it, in the same run
and interleaved with it, the same fixed rate with no cycles running. Every acked mention must
be a stored thread (its Slack link and thread are checked).

Part of `python -m bench`; alone: `python -m bench.busy_ack [--rounds 2] [--seconds 5]`, which
prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from bench import slack_pool, stack
from bench.ingest import FIXED_RATE, _lost_of, _slow, fixed_rate
from bench.procs import CWD, LOGS, PYTHON, PYTHONPATH
from bench.stack import SIGNING_SECRET, hitlbot_env
from bench.stats import Row, percentile, table
from bot.dev.embedded_redis import private_redis
from bot.store.keys import Keys

CLIENTS = 20


@dataclass(frozen=True)
class Config:
    rounds: int = 2
    """Pairs of runs: idle, busy, busy, idle, ..."""
    seconds: float = 5
    """Length of each fixed-rate run (200 mentions a second)."""


def run(redis_url: str, stand: stack.StandIns, config: Config) -> list[Row]:
    rounds, seconds = config.rounds, config.seconds
    redis = Redis.from_url(redis_url)
    redis.flushall()
    keys = Keys()
    count = int(FIXED_RATE * seconds)
    runs: dict[bool, list[dict]] = {False: [], True: []}
    cycles_done: list[int] = []
    env = hitlbot_env(redis_url, stand)
    with (
        tempfile.TemporaryDirectory(prefix="hitlbot-busy-") as tmp,
        stack.web(env, "web-busy") as served,
        stack.worker(env, "worker-busy"),
    ):
        warm = slack_pool.build(Path(tmp) / "warm.pool", 50, SIGNING_SECRET, "BW")
        fixed_rate(served.url, warm, 50, "busy-warmup")
        for n in range(rounds * 2):
            busy = (n % 2 == 1) != (n // 2 % 2 == 1)  # idle, busy, busy, idle, ...
            pool = slack_pool.build(Path(tmp) / f"{n}.pool", count, SIGNING_SECRET, f"BA{n}")
            load = None
            if busy:
                argv = [PYTHON, "-m", "bench.cycle_client", served.url, stand.control_url]
                argv += ["--clients", str(CLIENTS), "--seconds", str(seconds + 2)]
                log = open(LOGS / f"busy-cycles-{n}.log", "wb")  # closed below
                load = subprocess.Popen(
                    argv,
                    stdout=subprocess.PIPE,
                    stderr=log,
                    cwd=CWD,
                    env={**os.environ, "PYTHONPATH": PYTHONPATH},
                )
                time.sleep(1.0)  # the cycles under way before the first mention
            result = fixed_rate(served.url, pool, count, f"busy-{n}")
            if load is not None:
                out, _ = load.communicate(timeout=seconds + 60)
                log.close()
                cycles_done.append(len(json.loads(out)["latencies"]))
            time.sleep(0.5)
            result["lost"] = _lost_of(redis, keys, pool, result["acked"])
            runs[busy].append(result)
    redis.close()
    rows = []
    idle = [lat for r in runs[False] for lat in r["latencies"]]
    for busy in (True, False):
        lat = [x for r in runs[busy] for x in r["latencies"]]
        acked = sum(len(r["acked"]) for r in runs[busy])
        lost = sum(r["lost"] for r in runs[busy])
        p99s = ", ".join(f"{percentile(r['latencies'], 99) * 1e3:.1f}" for r in runs[busy])
        load_text = (
            f"while {CLIENTS} cycle clients ran ({sum(cycles_done)} cycles) on the same web, "
            "worker and Redis"
            if busy
            else "no cycles running"
        )
        rows.append(
            Row(
                f"Slack ack latency at a fixed {FIXED_RATE:.0f} events/s, {load_text}",
                f"p50 {percentile(lat, 50) * 1e3:.1f} ms, p99 {percentile(lat, 99) * 1e3:.1f} ms "
                f"(per run p99 {p99s} ms); {acked} acked, {lost} lost; "
                + "; ".join(f"run {n}: {_slow(r)}" for n, r in enumerate(runs[busy], 1)),
                f"idle p50 {percentile(idle, 50) * 1e3:.1f} ms, "
                f"p99 {percentile(idle, 99) * 1e3:.1f} ms",
                f"{percentile(lat, 99) / percentile(idle, 99):.1f}× (p99)",
                "p99 < 50 ms, 0 lost",
            )
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.busy_ack")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    with private_redis() as url, stack.standins() as stand:
        print(table(run(url, stand, Config(args.rounds, args.seconds))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
