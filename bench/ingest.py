"""Slack ingest: signed `app_mention`s acked and durably stored, against a bare FastAPI endpoint.

Throughput with wrk (32 connections) when it is installed, else the Python load generator;
then ack latency at a fixed 200 events/s (open loop). Every acked mention must be a stored
thread: the throughput run compares the 200s with the threads in Redis, the fixed-rate run
checks each acked event's Slack-thread link and its thread.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from redis import Redis

from bench import slack_pool
from bench.procs import PYTHON, ROOT, run_json
from bench.profile import sampled
from bench.stack import SIGNING_SECRET, StandIns, bare_web, hitlbot_env, web
from bench.stats import Row, percentile
from bot.standins.slack_signing import TEAM_ID
from bot.store.keys import Keys

FIXED_RATE = 200.0


@dataclass(frozen=True)
class Config:
    seconds: float
    """Length of a throughput run (wrk) and of the fixed-rate run."""
    pool: int
    """Distinct signed mentions available to one throughput run."""
    use_wrk: bool
    settle: float = 1.0
    """Seconds to let the web process finish what it does after its acks, before counting."""


@dataclass(frozen=True)
class Throughput:
    rate: float
    p50: float
    p99: float
    ok: int
    other: int
    wrapped: bool


def throughput(url: str, pool: Path, cfg: Config, tag: str) -> Throughput:
    """Closed loop, 32 connections, as fast as the server answers."""
    if cfg.use_wrk:
        wrk = shutil.which("wrk")
        assert wrk is not None
        argv = [wrk, "-t1", "-c32", f"-d{int(cfg.seconds)}s", "--timeout", "10s"]
        argv += ["-s", str(ROOT / "bench" / "slack.lua"), url + "/slack/events", "--", str(pool)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=cfg.seconds + 60)
        result = json.loads(done.stdout.strip().splitlines()[-1])
        return Throughput(
            rate=result["requests"] / (result["duration_us"] / 1e6),
            p50=result["p50_us"] / 1e6,
            p99=result["p99_us"] / 1e6,
            ok=result["ok"],
            other=result["other"] + result["socket_errors"],
            wrapped=bool(result["wrapped"]),
        )
    count = cfg.pool
    argv = [PYTHON, "-m", "bench.loadgen", url + "/slack/events", str(pool), "--count", str(count)]
    result = json.loads(run_json(f"loadgen-{tag}", argv, timeout=300))
    latencies = result["latencies"]
    return Throughput(
        rate=count / result["elapsed"],
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        ok=len(result["acked"]),
        other=count - len(result["acked"]),
        wrapped=False,
    )


def fixed_rate(url: str, pool: Path, count: int, tag: str) -> dict:
    argv = [PYTHON, "-m", "bench.loadgen", url + "/slack/events", str(pool)]
    argv += ["--count", str(count), "--rate", str(FIXED_RATE)]
    return json.loads(run_json(f"loadgen-fixed-{tag}", argv, timeout=count / FIXED_RATE + 120))


def _lost_of(redis: Redis, keys: Keys, pool: Path, acked: list[int]) -> int:
    """Acked events whose Slack thread has no stored hitlbot thread."""
    lines = pool.read_text(encoding="utf-8").splitlines()
    where = [(TEAM_ID, slack_pool.CHANNEL, slack_pool.thread_ts(lines[i])) for i in acked]
    links = [keys.slack_thread(*w) for w in where]
    # Code from before the one-round-trip ingest (HITLBOT_BENCH_CODE) keeps links untagged.
    legacy = [f"{keys.prefix}:slack:thread:{':'.join(w)}" for w in where]
    found = redis.mget(links) if links else []
    old = redis.mget(legacy) if legacy else []
    thread_ids = [new or before for new, before in zip(found, old, strict=True)]
    pipe = redis.pipeline(transaction=False)
    for thread_id in thread_ids:
        pipe.exists(keys.thread(thread_id.decode()) if thread_id else "missing")
    return sum(1 for found in pipe.execute() if not found)


def _slow(result: dict, over: float = 0.05) -> str:
    """How many acks took over `over` s, and when (s into the run): one stall of the web
    process (or of the machine) shows as a short span, queueing as a spread one."""
    late = [i / FIXED_RATE for i, latency in enumerate(result["latencies"]) if latency > over]
    if not late:
        return f"none over {over * 1e3:.0f} ms"
    return f"{len(late)} over {over * 1e3:.0f} ms, at {late[0]:.1f}–{late[-1]:.1f} s"


def _p99_ratio(ours: dict, bare: dict) -> float:
    return percentile(ours["latencies"], 99) / percentile(bare["latencies"], 99)


def run(redis_url: str, stand: StandIns, cfg: Config) -> list[Row]:
    """The ingest rows of the table."""
    redis = Redis.from_url(redis_url)
    keys = Keys()
    fixed_count = int(FIXED_RATE * cfg.seconds)
    with tempfile.TemporaryDirectory(prefix="hitlbot-bench-") as tmp:
        folder = Path(tmp)
        with bare_web() as bare:
            bare_pool = slack_pool.build(
                folder / "bare.pool", min(cfg.pool, 5000), SIGNING_SECRET, "B"
            )
            bare_thr = throughput(bare.url, bare_pool, cfg, "bare")
            bare_fixed = fixed_rate(bare.url, bare_pool, fixed_count, "bare")
        redis.flushall()
        with web(hitlbot_env(redis_url, stand)) as served:
            warm = slack_pool.build(folder / "warm.pool", 50, SIGNING_SECRET, "W")
            fixed_rate(served.url, warm, 50, "warmup")
            time.sleep(cfg.settle / 2)
            before = redis.zcard(keys.index)
            pool = slack_pool.build(folder / "ours.pool", cfg.pool, SIGNING_SECRET, "H")
            with sampled("web-ingest", served.pid, cfg.seconds):
                ours = throughput(served.url, pool, cfg, "ours")
            time.sleep(cfg.settle)
            stored = redis.zcard(keys.index) - before
            lost_thr = None if ours.wrapped else max(0, ours.ok - stored)
            fixed_pool = slack_pool.build(folder / "fixed.pool", fixed_count, SIGNING_SECRET, "F")
            fixed = fixed_rate(served.url, fixed_pool, fixed_count, "ours")
            time.sleep(cfg.settle)
            lost_fixed = _lost_of(redis, keys, fixed_pool, fixed["acked"])
    redis.close()
    tool = "wrk" if cfg.use_wrk else "aiohttp"
    lost = "?" if lost_thr is None else str(lost_thr)
    return [
        Row(
            f"Slack ingest, signed app_mention, {tool} 32 conns: events/s (acked + stored)",
            f"{ours.rate:,.0f}/s, p50 {ours.p50 * 1e3:.1f} ms, p99 {ours.p99 * 1e3:.1f} ms; "
            f"{ours.ok} acked, {ours.other} not, {lost} lost",
            f"bare FastAPI {bare_thr.rate:,.0f}/s, p50 {bare_thr.p50 * 1e3:.1f} ms, "
            f"p99 {bare_thr.p99 * 1e3:.1f} ms",
            f"{ours.rate / bare_thr.rate:.2f}×",
            "≥ 0.50×, 0 lost",
        ),
        Row(
            f"Slack ack latency at a fixed {FIXED_RATE:.0f} events/s ({fixed_count} events)",
            f"p50 {percentile(fixed['latencies'], 50) * 1e3:.1f} ms, "
            f"p99 {percentile(fixed['latencies'], 99) * 1e3:.1f} ms; "
            f"{len(fixed['acked'])} acked, {lost_fixed} lost; {_slow(fixed)}",
            f"bare p50 {percentile(bare_fixed['latencies'], 50) * 1e3:.1f} ms, "
            f"p99 {percentile(bare_fixed['latencies'], 99) * 1e3:.1f} ms",
            f"{_p99_ratio(fixed, bare_fixed):.1f}× (p99)",
            "p99 < 50 ms, 0 lost",
        ),
    ]
