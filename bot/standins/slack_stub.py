"""A local HTTP stand-in for the Slack Web API, for tests and for trying hitlbot offline.

    async with SlackStub() as slack:
        client = AsyncWebClient(token="xoxb-test", base_url=slack.api_url)
        await client.chat_postMessage(channel="C1", text="hi")
        assert slack.messages[0].text == "hi"

It answers over real HTTP as Slack does (HTTP 200 with `ok: false` for API errors), so the
official clients, their retry handlers and Bolt run unchanged against it. It records every call,
keeps the messages a person would now see, and can be told to fail (`fail`). The methods
themselves live in `slack_workspace.py`; this module is the HTTP shell around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import threading
import time
from collections import deque
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from bot.core.jsondata import Json
from bot.standins.slack_agent import METHODS
from bot.standins.slack_agent_state import AgentSurface
from bot.standins.slack_workspace import (
    Ephemeral,
    Message,
    MethodError,
    Workspace,
    channel_object,
    user_object,
)

# Arguments Slack takes as JSON text inside a form or query string.
_JSON_ARGS = ("blocks", "view", "attachments", "metadata", "prompts", "loading_messages", "chunks")
_TOKEN_PREFIXES = ("xoxb-", "xapp-")


@dataclass(frozen=True)
class Call:
    """One request the stub received."""

    method: str
    """Web API method, e.g. `chat.postMessage`; `response_url` for posts to `response_url`."""
    args: Json
    """Query, form and JSON body merged; `blocks`/`view` decoded; `token` moved to `token`."""
    headers: Mapping[str, str]
    """Request headers (case-insensitive)."""
    token: str | None
    """The token the call authenticated with, from `Authorization` or a `token=` field."""
    http_method: str
    """`GET` or `POST`."""


@dataclass
class _Fault:
    status: int
    retry_after: int
    error: str | None
    remaining: int

    def response(self) -> web.Response:
        if self.error is not None:
            return web.json_response({"ok": False, "error": self.error})
        if self.status == 429:
            headers = {"Retry-After": str(self.retry_after)}
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers=headers
            )
        return web.json_response({"ok": False, "error": "fatal_error"}, status=self.status)


class SlackStub:
    """A fake Slack Web API on `127.0.0.1`; start it with `async with` or `run_in_thread()`.

    `tokens` are the accepted tokens (default: any `xoxb-`/`xapp-` token). `users` maps user
    ids to real names and `channels` channel ids to names; when given, other ids answer
    `user_not_found` / `channel_not_found`, otherwise every id exists.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Collection[str] | None = None,
        users: Mapping[str, str] | None = None,
        channels: Mapping[str, str] | None = None,
        workspace: Workspace | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._tokens = None if tokens is None else frozenset(tokens)
        self._ws = workspace or Workspace()
        if users is not None:
            self._ws.users = {uid: user_object(uid, name) for uid, name in users.items()}
        if channels is not None:
            self._ws.channels = {cid: channel_object(cid, name) for cid, name in channels.items()}
        # The loop thread writes and the test thread reads in run_in_thread() mode; handlers
        # are synchronous under it, so it is never held across an await.
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._faults: dict[str, deque[_Fault]] = {}
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen; afterwards `api_url` is known."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/hooks/{path:.*}", self._handle_hook)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self._host, self._port).start()
        self._runner = runner
        self._port = runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening; calls and messages stay readable, and `start()` reuses the port."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> SlackStub:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def run_in_thread(self) -> Iterator[SlackStub]:
        """Serve from an event loop on a daemon thread, for sync tests or another process."""
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="slack-stub", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout=10)
            yield self
        finally:
            try:
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout=10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=10)
                loop.close()

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:<port>`, once started."""
        if self._runner is None:
            raise RuntimeError("SlackStub is not started")
        return f"http://{self._host}:{self._port}"

    @property
    def api_url(self) -> str:
        """What to pass as `AsyncWebClient(base_url=...)` or `SLACK_API_URL`; ends in `/api/`."""
        return f"{self.base_url}/api/"

    @property
    def response_url(self) -> str:
        """A `response_url` for interactivity payloads; posts to it are recorded as calls."""
        return f"{self.base_url}/hooks/actions/{self._ws.team_id}/1/stub"

    # -- scripting ---------------------------------------------------------------------

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Make the next `times` calls to `method` (`"*"`: any method) fail.

        With `error`, they answer HTTP 200 `{"ok": false, "error": error}`; otherwise HTTP
        `status`: 429 with `Retry-After: retry_after` as Slack rate-limits, or e.g. 500/503.
        Failures queue up in the order they are scripted; failed calls are still recorded.
        """
        with self._lock:
            fault = _Fault(status=status, retry_after=retry_after, error=error, remaining=times)
            self._faults.setdefault(method, deque()).append(fault)

    def set_usergroup(self, group: str, users: list[str]) -> None:
        """Make `users` the members of user group `group` (as `usergroups.users.list` says)."""
        with self._lock:
            self._ws.usergroups[group] = list(users)

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str,
        ts: str | None = None,
        thread_ts: str | None = None,
    ) -> Message:
        """Seed a person's message, so `conversations.replies` sees a thread it started."""
        with self._lock:
            message = Message(
                channel=channel,
                ts=ts or self._ws.next_ts(),
                text=text,
                thread_ts=thread_ts,
                user=user,
                bot_id=None,
                team=self._ws.team_id,
            )
            self._ws.messages.append(message)
            return message

    def reset(self) -> None:
        """Forget calls, messages, views, reactions and scripted failures."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._ws.messages.clear()
            self._ws.ephemerals.clear()
            self._ws.views.clear()
            self._ws.reactions.clear()
            self._ws.agent = AgentSurface()

    # -- inspection (each returns a snapshot) ------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request received, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        """The requests to one method, oldest first."""
        with self._lock:
            return [call for call in self._calls if call.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until `method` was called at least `count` times; its calls, or TimeoutError."""
        deadline = time.monotonic() + timeout
        while len(calls := self.calls_to(method)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{method} called {len(calls)} times, expected {count}")
            # Polling works whichever loop or thread the stub serves from.
            await asyncio.sleep(0.01)
        return calls

    @property
    def messages(self) -> list[Message]:
        """Messages in the workspace, in posting order, as they read now."""
        with self._lock:
            return list(self._ws.messages)

    def message(self, channel: str, ts: str) -> Message | None:
        """The message `ts` in `channel`, as it reads now."""
        with self._lock:
            found = self._ws.find(channel, ts)
            return None if found is None else found[1]

    @property
    def ephemerals(self) -> list[Ephemeral]:
        """Messages shown to one person only, in posting order."""
        with self._lock:
            return list(self._ws.ephemerals)

    @property
    def views(self) -> dict[str, Json]:
        """Modals opened (and updated), by view id."""
        with self._lock:
            return dict(self._ws.views)

    @property
    def agent(self) -> AgentSurface:
        """Statuses, titles, suggested prompts and streams, as a snapshot; a test sets
        `refuse_status` to take the status line away."""
        with self._lock:
            return copy.deepcopy(self._ws.agent)

    def refuse_status(self, channel: str = "*", error: str = "missing_scope") -> None:
        """Make `assistant.threads.setStatus` fail in `channel` ("*": everywhere)."""
        with self._lock:
            self._ws.agent.status_refused[channel] = error

    def reactions(self, channel: str, ts: str) -> list[str]:
        """Names of the bot's reactions on a message."""
        with self._lock:
            return list(self._ws.reactions.get((channel, ts), []))

    # -- HTTP --------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            args, token = await _read_args(request)
        except ValueError:
            return web.json_response({"ok": False, "error": "invalid_json"})
        with self._lock:
            self._calls.append(_call(method, args, token, request))
            fault = self._take_fault(method)
            if fault is not None:
                return fault.response()
            return web.json_response(self._answer(method, args, token))

    async def _handle_hook(self, request: web.Request) -> web.Response:
        try:
            args, _ = await _read_args(request)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        with self._lock:
            self._calls.append(_call("response_url", args, None, request))
        return web.json_response({"ok": True})

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    def _answer(self, method: str, args: Json, token: str | None) -> Json:
        handler = METHODS.get(method)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        if not token:
            return {"ok": False, "error": "not_authed"}
        if not self._accepts(token):
            return {"ok": False, "error": "invalid_auth"}
        try:
            return {"ok": True} | handler(self._ws, args)
        except MethodError as e:
            return {"ok": False, "error": e.code}

    def _accepts(self, token: str) -> bool:
        if self._tokens is None:
            return token.startswith(_TOKEN_PREFIXES)
        return token in self._tokens


async def _read_args(request: web.Request) -> tuple[Json, str | None]:
    """The call's arguments and token; raises ValueError for a JSON body that is not an object.

    Like Slack, a JSON body authenticates only by `Authorization: Bearer`, while a form or
    query string may carry `token=` instead.
    """
    args: Json = dict(request.query)
    if request.can_read_body and request.content_type == "application/json":
        body = json.loads(await request.read())
        if not isinstance(body, dict):
            raise ValueError("JSON body is not an object")
        token = args.pop("token", None)
        args |= body
    else:
        if request.can_read_body:
            form = await request.post()
            args |= {k: v for k, v in form.items() if isinstance(v, str)}
        token = args.pop("token", None)
        for name in _JSON_ARGS:
            if name in args:
                args[name] = _maybe_json(args[name])
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return args, token


def _maybe_json(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value  # left as sent; the method then answers invalid_blocks / invalid_arguments


def _call(method: str, args: Json, token: str | None, request: web.Request) -> Call:
    headers = CIMultiDictProxy(CIMultiDict(request.headers))
    return Call(method=method, args=args, headers=headers, token=token, http_method=request.method)
