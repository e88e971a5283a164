"""`hitlbot dev --reload`: web and worker start again when an agent's files change, in the same
process, so the private Redis and the playground's state (its Slack workspace, the mail) stay.

Each round builds the app anew from the agents' folders (their modules imported afresh), serves
it on a duplicate of the one listening socket, and stops it gracefully at the next change. A
change that breaks an agent is reported and waited out: the next good save serves again.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import uvicorn
import watchfiles

from bot.runtime.discovery import BUNDLED

WATCHED = (".py", ".md", ".json", ".yaml", ".yml", ".toml")
"""The files of an agent folder whose change restarts web and worker."""


def forget_agents() -> None:
    """Drop the agents' modules, so the next discovery imports them from their files again."""
    for name in [name for name in sys.modules if name.startswith(f"{BUNDLED}.")]:
        del sys.modules[name]


def _relevant(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(WATCHED) and "__pycache__" not in path


async def serve_reloading(
    build: Callable[[], Any],
    listener: socket.socket,
    folders: Iterable[Path],
    echo: Callable[[str], None],
) -> None:
    """Serve what `build` makes until stopped, building again after each change under
    `folders`."""
    folders = [folder for folder in folders if folder.is_dir()]
    echo(f"  Reload: on changes under {', '.join(str(f) for f in folders)}")
    while True:
        try:
            app = build()
        except Exception as exc:  # a broken agent: say so, and wait for the fix
            echo(f"reload: not serving, {exc}; waiting for the next change")
            app = None
        server = None
        serving: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if app is not None:
            server = uvicorn.Server(
                uvicorn.Config(app, log_config=None, timeout_graceful_shutdown=5)
            )
            serving = asyncio.ensure_future(server.serve(sockets=[listener.dup()]))
        changed = asyncio.ensure_future(_next_change(folders))
        await asyncio.wait({serving, changed}, return_when=asyncio.FIRST_COMPLETED)
        if serving.done():  # stopped by a signal (or failed): done
            changed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await changed
            serving.result()
            return
        files = sorted(Path(path).name for path in changed.result())
        echo(f"reload: {', '.join(files)} changed; web and worker start again")
        if server is not None:
            server.should_exit = True
            await serving
        forget_agents()


async def _next_change(folders: list[Path]) -> set[str]:
    async for changes in watchfiles.awatch(*folders, watch_filter=_relevant, debounce=300):
        return {path for _, path in changes}
    return set()
