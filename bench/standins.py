"""The stand-ins' process: the Anthropic Messages API (scripted like a deploy conversation),
the Slack Web API, and a small control server the bench asks for arrival times.

Run as `python -m bench.standins ANTHROPIC_PORT SLACK_PORT CONTROL_PORT`; it serves until
SIGTERM. Arrival times are `time.monotonic()`, which is one clock for every process here, so
the bench can subtract a click's send time from the next model request's arrival.
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bot.slack.cards import APPROVE
from bot.standins.anthropic_stub import AnthropicStub, Reply, ToolReply
from bot.standins.slack_stub import SlackStub

DEPLOY = {"service": "api", "version": "1.4.2", "environment": "production"}
"""The scripted first reply of every thread: a deploy that needs approval."""
DONE = {"message": "Deployed api 1.4.2 to production."}
"""The scripted reply once the deploy's result is in the context."""


class CardWatch(SlackStub):
    """The Slack stand-in, also noting each approval card: thread id -> (request, channel, ts).

    The cycle bench waits for the card as a person would before clicking Approve on it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.cards: dict[str, tuple[str, str, str]] = {}
        self.changed = asyncio.Event()

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        answer = super()._answer(method, args, token)
        if method == "chat.postMessage" and answer.get("ok"):
            text = json.dumps(args.get("blocks", []))
            thread = _THREAD.search(text)
            button = _APPROVE_VALUE.search(text)
            if thread and button:
                self.cards[thread.group(1)] = (button.group(1), answer["channel"], answer["ts"])
                self.changed.set()
        return answer

    async def card(self, thread_id: str, timeout: float) -> tuple[str, str, str] | None:
        if not await _until(lambda: thread_id in self.cards, self.changed, timeout):
            return None
        return self.cards.pop(thread_id)


async def _until(done: Callable[[], bool], changed: asyncio.Event, timeout: float) -> bool:
    """Wait until `done()`, woken by `changed`; False if `timeout` passes first."""
    deadline = time.monotonic() + timeout
    while not done():
        changed.clear()
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        try:
            await asyncio.wait_for(changed.wait(), left)
        except TimeoutError:
            return False
    return True


_THREAD = re.compile(r"thread `(th_[0-9a-f-]+)`")
_APPROVE_VALUE = re.compile(r'"action_id": "' + re.escape(APPROVE) + r'", "value": "([^"]+)"')


class Script:
    """Same replies for hitlbot and LangGraph: deploy first, done once the result is back."""

    def __init__(self) -> None:
        self.delay = 0.0
        self.arrivals: list[float] = []
        self.changed = asyncio.Event()

    def __call__(self, body: dict[str, Any]) -> Reply:
        self.arrivals.append(time.monotonic())
        self.changed.set()
        seen = json.dumps(body.get("messages", []))
        if "deploy_service_result" in seen:
            return ToolReply(name="done_for_now", input=DONE, delay=self.delay)
        return ToolReply(name="deploy_service", input=DEPLOY, delay=self.delay)

    async def wait(self, count: int, timeout: float) -> float | None:
        """The arrival time of request number `count` (1-based), waiting up to `timeout`."""
        if not await _until(lambda: len(self.arrivals) >= count, self.changed, timeout):
            return None
        return self.arrivals[count - 1]


def control_app(script: Script, slack: CardWatch) -> web.Application:
    async def count(request: web.Request) -> web.Response:
        return web.json_response({"count": len(script.arrivals)})

    async def wait(request: web.Request) -> web.Response:
        n, timeout = int(request.query["n"]), float(request.query.get("timeout", "10"))
        return web.json_response({"at": await script.wait(n, timeout)})

    async def arrivals(request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        return web.json_response({"arrivals": script.arrivals[since:]})

    async def config(request: web.Request) -> web.Response:
        script.delay = float(request.query.get("delay", "0"))
        return web.json_response({"delay": script.delay})

    async def card(request: web.Request) -> web.Response:
        found = await slack.card(request.query["thread"], float(request.query.get("timeout", "10")))
        if found is None:
            return web.json_response({"card": None}, status=404)
        request_id, channel, ts = found
        return web.json_response({"request_id": request_id, "channel": channel, "ts": ts})

    app = web.Application()
    app.router.add_get("/card", card)
    app.router.add_get("/count", count)
    app.router.add_get("/wait", wait)
    app.router.add_get("/arrivals", arrivals)
    app.router.add_post("/config", config)
    return app


async def main(anthropic_port: int, slack_port: int, control_port: int) -> None:
    script = Script()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    anthropic = AnthropicStub(port=anthropic_port)
    anthropic.responder = script
    slack = CardWatch(port=slack_port)
    runner = web.AppRunner(control_app(script, slack), access_log=None)
    await runner.setup()
    async with anthropic, slack:
        await web.TCPSite(runner, "127.0.0.1", control_port).start()
        await stop.wait()
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(*(int(arg) for arg in sys.argv[1:4])))
