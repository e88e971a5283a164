"""`python -m bench [--smoke] [--only NAME,...]`: run the measurements, print one table.

The full run writes the table and the machine into `bench/RESULTS.md` (between its markers,
so the profile findings below them stay); `--smoke` runs every measurement with tiny counts,
so none of them rots, and writes nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    busy_ack,
    cycle_levers,
    cycles,
    inflight,
    ingest,
    ingest_cpu,
    levers,
    machine,
    paused,
    stack,
    steps,
)
from bench.stats import Row, table
from bot.dev.embedded_redis import private_redis

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- results:start -->", "<!-- results:end -->"

Measure = Callable[[str, stack.StandIns], list[Row]]


def measures(smoke: bool) -> dict[str, Measure]:
    """Each measurement with its counts: the full ones, or tiny ones for the smoke."""
    wrk = shutil.which("wrk") is not None and not smoke
    ingest_cfg = (
        ingest.Config(seconds=1, pool=100, use_wrk=False, settle=0.3)
        if smoke
        else ingest.Config(seconds=10, pool=60_000 if wrk else 5_000, use_wrk=wrk)
    )
    cycles_cfg = cycles.Config(clients=4, seconds=1) if smoke else cycles.Config(20, 10)
    cycle_levers_cfg = (
        cycle_levers.Config(1, 2, 0.5, 0, False, cycle_levers.SMOKE)
        if smoke
        else cycle_levers.Config()
    )
    paused_cfg = (
        paused.Config(sizes=(10, 100), samples=3)
        if smoke
        else paused.Config(sizes=(1_000, 10_000, 100_000), samples=100)
    )
    inflight_cfg = inflight.Config(threads=20 if smoke else 300)
    steps_cfg = steps.Config(steps=3, at=(10, 40)) if smoke else steps.Config(50, (10, 500))
    ingest_levers_cfg = (
        levers.Config(rounds=1, count=50, smoke=True) if smoke else levers.Config(3, 3000)
    )
    busy_cfg = busy_ack.Config(rounds=1, seconds=0.5) if smoke else busy_ack.Config(2, 5)
    cpu_cfg = ingest_cpu.Config(pairs=1, block=20) if smoke else ingest_cpu.Config(20, 200)
    return {
        "ingest": lambda url, stand: ingest.run(url, stand, ingest_cfg),
        "ingest_levers": lambda url, stand: levers.run(url, stand, ingest_levers_cfg),
        "ingest_cpu": lambda url, stand: ingest_cpu.run(url, stand, cpu_cfg),
        "busy_ack": lambda url, stand: busy_ack.run(url, stand, busy_cfg),
        "cycles": lambda url, stand: cycles.run(url, stand, cycles_cfg),
        "cycle_levers": lambda url, stand: cycle_levers.run(url, stand, cycle_levers_cfg),
        "paused": lambda url, stand: paused.run(url, stand, paused_cfg),
        "inflight": lambda url, stand: inflight.run(url, stand, inflight_cfg),
        "steps": lambda url, stand: steps.run(url, steps_cfg),
    }


def write_results(text: str, loads: dict[str, float]) -> None:
    load = ", ".join(f"{name} {value:.1f}" for name, value in loads.items())
    block = "\n".join(
        [
            START,
            f"Last `make bench`: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            "",
            *machine.describe(),
            f"- Load average (1 min) as each measurement started: {load}",
            "",
            text,
            END,
        ]
    )
    old = (
        RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else f"# bench\n\n{START}\n{END}\n"
    )
    head, _, rest = old.partition(START)
    _, _, tail = rest.partition(END)
    RESULTS.write_text(head + block + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--smoke", action="store_true", help="tiny counts; writes nothing")
    parser.add_argument("--only", help="comma-separated subset: ingest,cycles,ingest_levers,...")
    args = parser.parse_args()
    chosen = measures(args.smoke)
    if args.only:
        names = args.only.split(",")
        unknown = set(names) - set(chosen)
        if unknown:
            parser.error(f"unknown measurement(s) {sorted(unknown)}; known: {sorted(chosen)}")
        chosen = {name: chosen[name] for name in names}
    rows: list[Row] = []
    loads: dict[str, float] = {}
    """The machine is shared: its load as each measurement started, beside the figures."""
    started = time.monotonic()
    with private_redis() as url, stack.standins() as stand:
        for name, measure in chosen.items():
            loads[name] = os.getloadavg()[0]
            print(f"bench: {name} (load {loads[name]:.1f}) ...", file=sys.stderr, flush=True)
            rows.extend(measure(url, stand))
    text = table(rows)
    print(text)
    print(f"\nbench: {time.monotonic() - started:.0f} s", file=sys.stderr)
    if not args.smoke and not args.only:
        write_results(text, loads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
