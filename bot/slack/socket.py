"""Socket Mode: Slack's events and clicks over a WebSocket the process opens itself.

For development behind a firewall (`SLACK_APP_TOKEN`): no public Request URL is needed. The
same Bolt app handles what arrives, so every listener is shared with HTTP mode; Slack needs
no signature here, the WebSocket is authenticated by the app-level token.
"""

from __future__ import annotations

import asyncio

import structlog
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.tasks import stopped

log = structlog.get_logger(__name__)


class SocketMode:
    """One Socket Mode connection for the process; it reconnects by itself."""

    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        # `apps.connections.open` goes through the app's client, so SLACK_API_URL applies.
        self.handler = AsyncSocketModeHandler(bolt, app_token=app_token, web_client=bolt.client)
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Connect in the background: the web process starts even while Slack is unreachable."""
        self._connecting = asyncio.create_task(self._connect())

    async def stop(self) -> None:
        """Close the connection and its session."""
        if self._connecting is not None:
            await stopped(self._connecting)
        await self.handler.close_async()  # type: ignore[no-untyped-call]

    async def _connect(self) -> None:
        # The client retries by itself until connected or closed.
        await self.handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("slack socket mode connected")
