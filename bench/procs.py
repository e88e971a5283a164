"""Child processes of a bench run: started on loopback ports, waited for, always stopped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
LOGS = Path(os.environ.get("HITLBOT_BENCH_LOGS", "/tmp/hitlbot-bench"))
"""Where each child's output goes (read them when a figure looks wrong)."""
CODE = os.environ.get("HITLBOT_BENCH_CODE")
"""Another checkout whose `bot/` and `agents/` the children run, for a before/after in one
venv (`git archive REV | tar -x -C DIR`); the bench's own modules still come from here."""
PYTHONPATH = os.pathsep.join([CODE, str(ROOT)] if CODE else [str(ROOT)])
CWD = Path(CODE) if CODE else ROOT
"""Children start here: `python -m` puts its working directory first on `sys.path`."""


class ExitedAtStart(RuntimeError):
    """The child died before it was ready (e.g. its free port was taken meanwhile)."""


def answers(url: str, needle: str) -> Callable[[], bool]:
    """A readiness check: GET `url` answers 200 with `needle` in the body. Someone else's
    server on the port (a free port can be taken between choosing and binding it) fails it."""

    def check() -> bool:
        with contextlib.suppress(OSError, ValueError):
            with urllib.request.urlopen(url, timeout=1) as reply:
                return bool(reply.status == 200 and needle in reply.read().decode())
        return False

    return check


def wait_ready(
    ready: Callable[[], bool], proc: subprocess.Popen[bytes], name: str, timeout: float = 30
) -> None:
    """Block until `ready()`, or fail saying the child died (ExitedAtStart) or took too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ExitedAtStart(f"{name} exited at start (code {proc.returncode}); see {LOGS}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{name} was not ready within {timeout} s")


def port_open(port: int) -> Callable[[], bool]:
    """A readiness check: something accepts on 127.0.0.1:`port`."""

    def check() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    return check


@contextlib.contextmanager
def child(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    ready: Callable[[], bool] | None = None,
    ready_timeout: float = 30,
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `argv` with `env` added to ours; wait until `ready()` if given; stop it on exit."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = open(LOGS / f"{name}.log", "wb")  # closed below, after the child
    full_env = {**os.environ, "PYTHONPATH": PYTHONPATH, **(env or {})}
    proc = subprocess.Popen(list(argv), env=full_env, stdout=log, stderr=subprocess.STDOUT, cwd=CWD)
    try:
        if ready is not None:
            wait_ready(ready, proc, name, ready_timeout)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) process `pid` has used so far, from `/proc` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_json(name: str, argv: Sequence[str], timeout: float) -> str:
    """Run a bounded child to completion and return its stdout (a JSON document)."""
    LOGS.mkdir(parents=True, exist_ok=True)
    with open(LOGS / f"{name}.log", "wb") as log:
        done = subprocess.run(
            list(argv),
            env={**os.environ, "PYTHONPATH": PYTHONPATH},
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=CWD,
            timeout=timeout,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed (code {done.returncode}); see {LOGS / name}.log")
    return done.stdout.decode()
