"""The processes a measurement talks to: Redis, the stand-ins, hitlbot's web and worker.

Each is its own OS process on a loopback port, so the process measured shares its event loop
with nothing else of the bench.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from bench.procs import LOGS, PYTHON, ExitedAtStart, answers, child
from bot.dev.embedded_redis import free_port

SIGNING_SECRET = "bench-signing-secret"
API_TOKEN = "bench"
APPROVER = "U0BOSS"
APPROVAL_CHANNEL = "C0APPROVE"


@dataclass(frozen=True)
class StandIns:
    """Where the stand-ins listen."""

    anthropic_url: str
    slack_api_url: str
    control_url: str

    def control(self, path: str, method: str = "GET") -> dict[str, object]:
        """Ask the stand-ins' control server (blocking; used between measurements)."""
        request = urllib.request.Request(self.control_url + path, method=method)
        with urllib.request.urlopen(request, timeout=120) as reply:
            answer: dict[str, object] = json.loads(reply.read())
            return answer


@contextlib.contextmanager
def standins() -> Iterator[StandIns]:
    """The Anthropic and Slack stand-ins in a process of their own."""
    with _on_free_ports(
        "standins",
        3,
        lambda ports: [PYTHON, "-m", "bench.standins", *(str(p) for p in ports)],
        None,
        lambda ports: answers(f"http://127.0.0.1:{ports[2]}/count", '"count"'),
    ) as (_, ports):
        yield StandIns(
            anthropic_url=f"http://127.0.0.1:{ports[0]}",
            slack_api_url=f"http://127.0.0.1:{ports[1]}/api/",
            control_url=f"http://127.0.0.1:{ports[2]}",
        )


def hitlbot_env(redis_url: str, stand: StandIns, **extra: str) -> dict[str, str]:
    """The environment of the real processes: everything pointed at loopback stand-ins."""
    return {
        "REDIS_URL": redis_url,
        "ANTHROPIC_BASE_URL": stand.anthropic_url,
        "ANTHROPIC_API_KEY": "bench-key",
        "HITLBOT_MODEL": "claude-bench",
        "HITLBOT_API_TOKEN": API_TOKEN,
        "SLACK_BOT_TOKEN": "xoxb-bench",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": stand.slack_api_url,
        "SLACK_APPROVAL_CHANNEL": APPROVAL_CHANNEL,
        "SLACK_APPROVERS": APPROVER,
        "HITLBOT_STEP_LEASE_S": "30",
        **extra,
    }


@dataclass(frozen=True)
class Served:
    """A web process under test."""

    url: str
    pid: int


@contextlib.contextmanager
def web(
    env: dict[str, str],
    name: str = "web",
    *,
    hiredis: bool = True,
    serve: Sequence[str] = (),
    args: Sequence[str] = (),
) -> Iterator[Served]:
    """`hitlbot web` on a free loopback port. A lever switched off (`bench.serve`):
    `hiredis=False`, redis-py's Python reply parser; `serve`, its other switches
    (`--no-coalesce`); `args`: more options of `hitlbot web` (`--no-access-log`)."""
    off = [*([] if hiredis else ["--no-hiredis"]), *serve]
    cli = ["bench.serve", *off] if off else ["bot.cli"]
    with _on_free_ports(
        name,
        1,
        lambda p: [PYTHON, "-m", *cli, "web", "--host", "127.0.0.1", "--port", str(p[0]), *args],
        env,
        lambda p: answers(f"http://127.0.0.1:{p[0]}/healthz", '"redis"'),
    ) as (proc, ports):
        yield Served(f"http://127.0.0.1:{ports[0]}", proc.pid)


@contextlib.contextmanager
def bare_web(redis_url: str | None = None) -> Iterator[Served]:
    """The bare FastAPI baseline (`bench.bare`) on a free loopback port; with `redis_url`, it
    writes each body to Redis before answering."""
    with _on_free_ports(
        "bare",
        1,
        lambda p: [PYTHON, "-m", "bench.bare", str(p[0]), *([redis_url] if redis_url else [])],
        None,
        lambda p: answers(f"http://127.0.0.1:{p[0]}/openapi.json", "/slack/events"),
    ) as (proc, ports):
        yield Served(f"http://127.0.0.1:{ports[0]}", proc.pid)


@contextlib.contextmanager
def _on_free_ports(
    name: str,
    count: int,
    argv: Callable[[list[int]], list[str]],
    env: dict[str, str] | None,
    ready: Callable[[list[int]], Callable[[], bool]],
    attempts: int = 3,
) -> Iterator[tuple[subprocess.Popen[bytes], list[int]]]:
    """A server child on `count` free ports, tried again on new ports if it dies at start
    (a free port can be taken by another process before the child binds it)."""
    for attempt in range(attempts):
        ports = [free_port() for _ in range(count)]
        try:
            with child(name, argv(ports), env, ready=ready(ports)) as proc:
                yield proc, ports
                return
        except ExitedAtStart:
            if attempt == attempts - 1:
                raise


@contextlib.contextmanager
def worker(
    env: dict[str, str], name: str = "worker", *, serve: Sequence[str] = ()
) -> Iterator[int]:
    """`hitlbot worker`, once it listens (a loaded machine takes many seconds to start one,
    which a measurement must not count); yields its pid (for py-spy). `serve`: levers
    switched off (`bench.serve`, e.g. `--sdk-reply`)."""
    log = LOGS / f"{name}.log"

    def listening() -> bool:
        return log.exists() and b"worker listening" in log.read_bytes()

    argv = [PYTHON, "-m", *(["bench.serve", *serve] if serve else ["bot.cli"]), "worker"]
    with child(name, argv, env, ready=listening, ready_timeout=120) as proc:
        yield proc.pid
