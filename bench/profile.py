"""py-spy around a measurement: folded stacks (a flame graph's input) of one process of one process.

Optional: when py-spy is not installed, or `HITLBOT_BENCH_PROFILE` is unset, nothing runs.
The SVGs and raw samples stay in the logs folder; their summary goes in RESULTS.md by hand.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator

from bench.procs import LOGS


@contextlib.contextmanager
def sampled(name: str, pid: int, seconds: float) -> Iterator[None]:
    """Record `pid` for about `seconds` while the body runs (py-spy, 100 Hz)."""
    spy = shutil.which("py-spy") or _venv_spy()
    if not os.environ.get("HITLBOT_BENCH_PROFILE") or spy is None:
        yield
        return
    LOGS.mkdir(parents=True, exist_ok=True)
    common = ["--pid", str(pid), "--duration", str(max(1, int(seconds))), "--rate", "100"]
    # Folded stacks (flamegraph.pl turns them into an SVG); one sampler, so half the cost.
    raw = subprocess.Popen(
        [spy, "record", "-f", "raw", "-o", str(LOGS / f"{name}.txt"), *common],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        for proc in (raw,):
            try:
                proc.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _venv_spy() -> str | None:
    import sys
    from pathlib import Path

    candidate = Path(sys.executable).parent / "py-spy"
    return str(candidate) if candidate.exists() else None
