"""Socket Mode: the same listeners, fed over a WebSocket the app opens itself.

A small Socket Mode server stands in for Slack's (`apps.connections.open` on the Web API
stand-in hands out its URL); the SDK's own Socket Mode client connects to it over a real socket.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
from aiohttp import WSMsgType, web

from bot.config import Settings
from bot.core.jsondata import Json
from bot.standins import slack_signing as signing
from bot.standins import slack_workspace
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.web.app import create_app
from tests.conftest import APPROVER, SLACK_SECRET, SlackDriver, serve
from tests.helpers import wait_for


class SocketModeServer:
    """Accepts one Socket Mode connection, sends envelopes on it and collects the acks."""

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.acks: dict[str, Json] = {}
        self._socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/link"

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def send(self, kind: str, payload: Json, timeout: float = 5) -> Json:
        """Send an envelope; the app's ack for it."""
        assert self._socket is not None
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self._socket.send_str(json.dumps(envelope))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while envelope_id not in self.acks:
            assert loop.time() < deadline, "the app did not ack the envelope"
            await asyncio.sleep(0.01)
        return self.acks[envelope_id]

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        self.connected.set()
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.acks[ack["envelope_id"]] = ack
        return socket


@pytest.fixture
async def socket_server(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SocketModeServer]:
    server = SocketModeServer()
    await server.start()
    # The Web API stand-in answers `apps.connections.open` with this server's URL.
    monkeypatch.setitem(
        slack_workspace.METHODS, "apps.connections.open", lambda ws, args: {"url": server.url}
    )
    yield server
    await server.stop()


async def test_socket_mode_shares_every_listener(
    slack_settings: Settings,
    slack_stub: SlackStub,
    anthropic_stub: AnthropicStub,
    socket_server: SocketModeServer,
) -> None:
    settings = slack_settings.model_copy(
        update={"slack_app_token": "xapp-test", "slack_signing_secret": None}
    )
    async with serve(create_app(settings, with_worker=True)) as url:
        headers = {"Authorization": "Bearer test-token"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
            await asyncio.wait_for(socket_server.connected.wait(), 10)
            [opened] = slack_stub.calls_to("apps.connections.open")
            assert opened.token == "xapp-test"
            slack = SlackDriver(api=api, stub=slack_stub)

            # No Request URL in Socket Mode: the route says so.
            body, signed = signing.url_verification("x", signing_secret=SLACK_SECRET)
            assert (
                await api.post("/slack/events", content=body, headers=signed)
            ).status_code == 503

            anthropic_stub.reply_tool(
                "deploy_service",
                {"service": "api", "version": "1.4.2", "environment": "production"},
            )
            event = signing.app_mention_event("UASKER", "<@U0BOT> deploy api", "CDEPLOY")
            mention, _ = signing.event_callback(event)
            ack = await socket_server.send("events_api", json.loads(mention))
            assert set(ack) == {"envelope_id"}
            view, card = await slack.pending()

            anthropic_stub.reply_tool("done_for_now", {"message": "deployed"})
            click, _ = signing.block_actions(
                APPROVER,
                [{"action_id": "approve", "value": view["pending_request"]["request_id"]}],
                channel_id=card.channel,
                message_ts=card.ts,
                message=card.payload(),
            )
            payload = json.loads(parse_qs(click.decode())["payload"][0])
            await socket_server.send("interactive", payload)
            done = await wait_for(api, view["id"], "done")
            assert [e["user"] for e in done["events"] if e["type"] == "human_response"] == [
                APPROVER
            ]
            await slack_stub.wait_for("chat.update")
