"""A loopback TCP proxy that can lose one reply: the connection drops after the server acted.

It stands between a client and Redis. `cut_reply_to(marker)` makes it forward the next
request containing `marker`, wait for Redis's reply, then close the client's connection
without passing the reply on — what a client sees when the network fails at that moment.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from bot.dev.embedded_redis import free_port


class CuttingProxy:
    """Proxies every connection to `upstream`; cuts one reply on request."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.db = parts.path or "/0"
        self.port = free_port()
        self.marker: bytes | None = None
        self.cut = asyncio.Event()
        """Set once a reply was cut."""

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}{self.db}"

    def cut_reply_to(self, marker: bytes) -> None:
        """Lose the reply to the next request that contains `marker` (once)."""
        self.marker = marker

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        armed = asyncio.Event()

        async def upstream() -> None:
            while data := await reader.read(65536):
                if self.marker is not None and self.marker in data and not self.cut.is_set():
                    armed.set()
                up_writer.write(data)
                await up_writer.drain()

        async def downstream() -> None:
            while data := await up_reader.read(65536):
                if armed.is_set() and not self.cut.is_set():
                    self.cut.set()  # Redis has run the command; its client never hears so
                    return
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.create_task(upstream()), asyncio.create_task(downstream())]
        with contextlib.suppress(ConnectionError):
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[CuttingProxy]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        async with server:
            yield self
