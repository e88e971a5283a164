"""Launch → approval card → Approve → tool → done, 20 clients, vs LangGraph + SQLite.

hitlbot: the real web process and one worker process; the clients (own process) launch over
the API, wait for the approval card at the Slack stand-in, click Approve with a signed
`block_actions`, and poll the thread until done. LangGraph: `bench.langgraph_cycle`, the same
scripted model replies from the same stand-in. One worker: on 2 cores, web + worker + Redis
+ stand-ins already share them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from redis import Redis

from bench.procs import PYTHON, cpu_seconds, run_json
from bench.profile import sampled
from bench.stack import StandIns, hitlbot_env, web, worker
from bench.stats import Row, ms


@dataclass(frozen=True)
class Config:
    clients: int
    seconds: float


def _row_text(result: dict, cpu: str) -> str:
    rate = len(result["latencies"]) / result["elapsed"]
    failed = f", {result['failed']} failed" if result["failed"] else ""
    return f"{rate:,.1f} cycles/s, {ms(result['latencies'])}{failed}; CPU per cycle: {cpu}"


def _per_cycle(seconds: float, result: dict) -> str:
    return f"{seconds * 1000 / max(1, len(result['latencies'])):.1f} ms"


def run(redis_url: str, stand: StandIns, cfg: Config) -> list[Row]:
    redis = Redis.from_url(redis_url)
    redis.flushall()
    base = [str(cfg.clients), "--seconds", str(cfg.seconds)]
    lg = json.loads(
        run_json(
            "langgraph",
            [PYTHON, "-m", "bench.langgraph_cycle", stand.anthropic_url, "--clients", *base],
            timeout=cfg.seconds + 120,
        )
    )
    dbos = json.loads(
        run_json(
            "dbos",
            [PYTHON, "-m", "bench.dbos_cycle", stand.anthropic_url, "--clients", *base],
            timeout=cfg.seconds + 180,
        )
    )
    env = hitlbot_env(redis_url, stand)
    with web(env) as served, worker(env) as worker_pid:
        argv = [PYTHON, "-m", "bench.cycle_client", served.url, stand.control_url]
        # A short warm-up (imports, connections, Bolt's first auth.test) outside the figure.
        run_json("cycles-warmup", [*argv, "--clients", "2", "--seconds", "1"], timeout=120)
        with (
            sampled("worker-cycles", worker_pid, cfg.seconds),
            sampled("web-cycles", served.pid, cfg.seconds),
        ):
            cpu = [cpu_seconds(served.pid), cpu_seconds(worker_pid)]
            ours = json.loads(
                run_json("cycles", [*argv, "--clients", *base], timeout=cfg.seconds + 120)
            )
            web_cpu = cpu_seconds(served.pid) - cpu[0]
            worker_cpu = cpu_seconds(worker_pid) - cpu[1]
    redis.close()
    ours_rate = len(ours["latencies"]) / ours["elapsed"]
    lg_rate = len(lg["latencies"]) / lg["elapsed"]
    dbos_rate = len(dbos["latencies"]) / dbos["elapsed"]
    best = max(lg_rate, dbos_rate)
    figure = f"{ours_rate:,.1f} cycles/s ({ours_rate / best:.2f}× the best durable peer)"
    return [
        Row(
            f"launch → approval card → Approve → tool → done, {cfg.clients} clients, 1 worker",
            _row_text(
                ours, f"web {_per_cycle(web_cpu, ours)} + worker {_per_cycle(worker_cpu, ours)}"
            ),
            "LangGraph interrupt/resume + SQLite: "
            + _row_text(lg, f"{_per_cycle(lg['cpu_s'], lg)} (clients and graph)"),
            f"{ours_rate / lg_rate:.2f}×" if lg_rate else "n/a",
            "≥ 3× (the best durable peer)",
        ),
        Row(
            "the same cycle, the second peer",
            figure,
            f"DBOS workflow + {dbos['database']}: "
            + _row_text(dbos, f"{_per_cycle(dbos['cpu_s'], dbos)} (clients and workflows)"),
            f"{ours_rate / dbos_rate:.2f}×" if dbos_rate else "n/a",
            "≥ 3× (the best durable peer)",
        ),
    ]
