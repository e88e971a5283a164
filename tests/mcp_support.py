"""The example incidents MCP server, run for real: over stdio (as the worker runs it) or as
an HTTP server process on a free port; and its state file, read as the server wrote it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from bot.dev.embedded_redis import free_port


def state(path: Path) -> dict[str, Any]:
    """The server's state as it last saved it."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


async def wait_for_state(path: Path, check: Any, timeout: float = 15) -> dict[str, Any]:
    """Poll the state file until `check(state)` holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if path.exists():
            with contextlib.suppress(ValueError):
                found = state(path)
                if check(found):
                    return found
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"state never matched: {path.read_text() if path.exists() else ''}"
            )
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def http_server(state_file: Path) -> AsyncIterator[str]:
    """The incidents server over streamable HTTP in a process of its own; yields its URL."""
    port = free_port()
    command = [sys.executable, "-m", "hitlbot_agents.oncall.incidents_server", "--http", "--port"]
    process = subprocess.Popen(
        [*command, str(port), "--state", str(state_file)], stderr=subprocess.DEVNULL
    )
    try:
        deadline = asyncio.get_running_loop().time() + 20
        while not _listening(port):
            if process.poll() is not None:
                raise AssertionError(f"the MCP server exited with {process.returncode}")
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("the MCP server did not start listening")
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def down_url() -> str:
    """An MCP URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}/mcp"
