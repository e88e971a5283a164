"""Rows from `bench.step_cost` (its own process): step overhead, Redis per step, context tokens;
and from `bench.billed_tokens`: billed input tokens per step, cached or not."""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis

from bench.procs import PYTHON, run_json
from bench.stats import Row, percentile


@dataclass(frozen=True)
class Config:
    steps: int
    at: tuple[int, int]


def run(redis_url: str, cfg: Config) -> list[Row]:
    Redis.from_url(redis_url).flushall()
    argv = [PYTHON, "-m", "bench.step_cost", redis_url, "--steps", str(cfg.steps)]
    argv += ["--at", ",".join(str(n) for n in cfg.at)]
    result = json.loads(run_json("step_cost", argv, timeout=600))
    short, long = result[str(cfg.at[0])], result[str(cfg.at[1])]

    def per_step(r: dict) -> str:
        cycle = r["cycle_s"]  # model step + tool step
        return (
            f"event {r['events']}: p50 {percentile(cycle, 50) * 500:.1f} ms, "
            f"p99 {percentile(cycle, 99) * 500:.1f} ms per step"
        )

    def redis_work(r: dict) -> str:
        return (
            f"event {r['events']}: {r['round_trips_per_step']:.2f} round trips, "
            f"{r['commands_per_step']:.1f} commands per step"
        )

    def tokens(r: dict) -> str:
        t = r["tokens"]
        return (
            f"{t['events']} events: event log {t['ours']:,} tokens "
            f"({t['ours_uncompacted']:,} uncompacted)"
        )

    def plain(r: dict) -> str:
        return f"{r['tokens']['events']} events: {r['tokens']['plain']:,} tokens"

    growth = percentile(long["cycle_s"], 50) / percentile(short["cycle_s"], 50)
    rows = [
        Row(
            "framework overhead per step, model excluded (half a model+tool cycle)",
            per_step(long),
            per_step(short),
            f"{growth:.2f}× (event {long['events']} vs {short['events']})",
            "< 5 ms, flat (≈1.0×)",
        ),
        Row(
            "Redis per step (client round trips; server commands incl. inside scripts)",
            redis_work(long),
            redis_work(short),
            f"{long['commands_per_step'] / short['commands_per_step']:.2f}× commands",
            "≤ 4 round trips",
        ),
        Row(
            "context tokens of one thread (same counter as our budget)",
            f"{tokens(short)}; {tokens(long)}",
            f"plain message list: {plain(short)}; {plain(long)}",
            f"{short['tokens']['ours'] / short['tokens']['plain']:.2f}× / "
            f"{long['tokens']['ours'] / long['tokens']['plain']:.2f}×",
            "fewer than plain",
        ),
    ]
    return [*rows, billed(redis_url)]


def billed(redis_url: str, steps: int = 30) -> Row:
    """The billed-tokens row: `bench.billed_tokens`, in its own process."""
    argv = [PYTHON, "-m", "bench.billed_tokens", redis_url, "--steps", str(steps)]
    result = json.loads(run_json("billed_tokens", argv, timeout=600))
    last = result["per_step"][-1]
    return Row(
        f"billed input tokens of step {steps} of one thread (cache write 1.25×, read 0.1×)",
        f"cached: {last['cached_at_full_price']:,} of {last['prompt_tokens']:,} "
        f"(last 10 steps: {result['last10_share']:.0%} of uncached)",
        f"uncached: {last['uncached']:,}; plain message list: {last['plain']:,}",
        f"{last['cached_at_full_price'] / last['uncached']:.2f}× / "
        f"{last['cached_at_full_price'] / last['plain']:.2f}× plain",
        "≤ 25 % of the step's input at full price",
    )
