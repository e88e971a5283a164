"""A local HTTP stand-in for the Anthropic Messages API, for tests.

Script replies, point the real SDK at it, then read what it was sent::

    async with AnthropicStub() as stub:
        stub.reply_tool("lookup", {"q": "x"})
        client = AsyncAnthropic(base_url=stub.base_url, api_key="test")
        ...
        assert stub.requests[0].body["model"] == "claude-test"

Replies are played first in, first out; `responder` computes one when the queue is empty.
Each answered request meets a prompt cache (`bot.standins.prompt_cache`): its `usage` says what
it read from the cache, wrote to it and paid in full, and `requests[i].cache` says so too, with
how many of its leading blocks repeat the request before it. The same server answers as AWS
Bedrock (`POST /model/{model}/invoke`, SigV4 or a bearer key) and Google Vertex AI
(`POST /v1/projects/{p}/locations/{r}/publishers/anthropic/models/{model}:rawPredict`) do,
the model named in the path and `anthropic_version` in the body; `POST /token` stands in for
Google's OAuth token endpoint (a service account file's `token_uri`).
For code under test that runs in another thread or process, use
`with AnthropicStub.run_in_thread() as stub:` (the server loop lives on a daemon thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any, Literal, Self

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.standins import anthropic_sse as sse
from bot.standins import clouds
from bot.standins.anthropic_replies import (
    ERROR_TYPES,
    ErrorReply,
    Reply,
    Responder,
    TextReply,
    ToolReply,
    new_id,
)
from bot.standins.prompt_cache import CacheUsage, PromptCache


class RecordedRequest(BaseModel):
    """One request the stub received, valid or not."""

    model_config = ConfigDict(frozen=True)

    body: dict[str, Any]
    """The parsed JSON body; empty when the body was not a JSON object."""
    headers: dict[str, str]
    """The request headers, names lower-cased."""
    path: str = "/v1/messages"
    """Where it was sent (the Messages API's, Bedrock's or Vertex's path)."""
    cache: CacheUsage | None = None
    """How it met the prompt cache, for a request the model answered."""

    @property
    def context(self) -> str:
        """The first message's text, its blocks joined (cache breakpoints split the log)."""
        return _text(self.body["messages"][0]["content"])

    @property
    def system(self) -> str:
        """The system prompt's text, its blocks joined."""
        return _text(self.body.get("system", ""))


def _text(content: str | list[dict[str, Any]]) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content)


class _InputMessage(BaseModel):
    # SDK 2.x types allow a "system" turn inside `messages` as well.
    role: Literal["user", "assistant", "system"]
    content: str | list[dict[str, Any]]


class _MessagesRequest(BaseModel):
    """The part of the request schema our code relies on; other fields pass unchecked."""

    model: str = Field(strict=True)
    max_tokens: int = Field(strict=True, ge=1)
    messages: list[_InputMessage] = Field(min_length=1)


def _accept(
    headers: dict[str, str],
    body: dict[str, Any] | None,
    provider: str = "anthropic",
    model: str | None = None,
) -> dict[str, Any] | ErrorReply:
    """The request body if the real API would accept the request, else its error (a cloud's
    body gets its `model` from the path)."""
    if provider != "anthropic":
        refused = clouds.refusal(provider, headers, body)
        if refused is not None:
            return ErrorReply(status=refused[0], message=refused[1])
        if body is not None and model is not None:
            body = {**body, "model": model}
    else:
        bearer = headers.get("authorization", "").removeprefix("Bearer ").strip()
        # SDK 2.x sends the api key as a bearer token; curl users and older SDKs send x-api-key.
        if not headers.get("x-api-key") and not bearer:
            return ErrorReply(status=401, message="x-api-key header is required")
        if not headers.get("anthropic-version"):
            return ErrorReply(status=400, message="anthropic-version: header is required")
    if body is None:
        return ErrorReply(status=400, message="The request body is not a valid JSON object")
    try:
        _MessagesRequest.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return ErrorReply(status=400, message=f"{where}: {first['msg']}")
    return body


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _message(
    reply: ToolReply | TextReply, body: dict[str, Any], cache: CacheUsage | None = None
) -> dict[str, Any]:
    """The Messages API response for a successful reply."""
    content: list[dict[str, Any]] = []
    if reply.text is not None:
        content.append({"type": "text", "text": reply.text})
    if isinstance(reply, ToolReply):
        content.append(
            {"type": "tool_use", "id": reply.id, "name": reply.name, "input": reply.input}
        )
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": "tool_use" if isinstance(reply, ToolReply) else "end_turn",
        "stop_sequence": None,
        # Rough, but non-zero and growing with size, which is what budgets look at.
        "usage": {
            "input_tokens": cache.input_tokens if cache else len(json.dumps(body)) // 4,
            "cache_read_input_tokens": cache.cache_read_input_tokens if cache else 0,
            "cache_creation_input_tokens": cache.cache_creation_input_tokens if cache else 0,
            "output_tokens": max(1, len(json.dumps(content)) // 4),
        },
    }


def _respond(reply: Reply, body: dict[str, Any], cache: CacheUsage | None = None) -> web.Response:
    request_id = new_id("req_")
    headers = {"request-id": request_id}
    if not isinstance(reply, ErrorReply):
        return web.json_response(_message(reply, body, cache), headers=headers)
    default_type = "api_error" if reply.status >= 500 else "invalid_request_error"
    error_type = reply.error_type or ERROR_TYPES.get(reply.status, default_type)
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after:g}"
    if reply.should_retry is not None:
        headers["x-should-retry"] = str(reply.should_retry).lower()
    envelope = {
        "type": "error",
        "error": {"type": error_type, "message": reply.message or f"stub {error_type}"},
        "request_id": request_id,
    }
    return web.json_response(envelope, status=reply.status, headers=headers)


class AnthropicStub:
    """A scripted Messages API server on 127.0.0.1; see the module docstring."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, min_cache_tokens: int = 1024
    ) -> None:
        self.host = host
        self.port = port
        self.cache = PromptCache(min_cache_tokens)
        self.google_token = new_id("ya29.")
        """The access token `POST /token` hands out, as Google's OAuth endpoint would."""
        """The prompt cache requests meet (`min_cache_tokens`: the least prefix it keeps)."""
        self.responder: Responder | None = None
        """Computes a reply from the request body when the queue is empty."""
        # The server loop and the scripting test may be on different threads.
        self._lock = threading.Lock()
        self._queue: deque[Reply] = deque()
        self._requests: list[RecordedRequest] = []
        self._held: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None
        self._base_url: str | None = None

    @property
    def base_url(self) -> str:
        """What to pass to the SDK as `base_url` (or set as ANTHROPIC_BASE_URL)."""
        if self._base_url is None:
            raise RuntimeError("AnthropicStub is not started")
        return self._base_url

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def calls(self) -> int:
        """How many requests were received."""
        with self._lock:
            return len(self._requests)

    @property
    def pending(self) -> int:
        """How many queued replies have not been played yet."""
        with self._lock:
            return len(self._queue)

    def queue(self, *replies: Reply) -> None:
        """Append replies to the script."""
        with self._lock:
            self._queue.extend(replies)

    def reply_tool(
        self,
        name: str,
        input: dict[str, Any],
        *,
        id: str | None = None,
        text: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue a `tool_use` reply calling `name` with `input`."""
        extra = {} if id is None else {"id": id}
        self.queue(ToolReply(name=name, input=input, text=text, delay=delay, **extra))

    def reply_text(self, text: str, *, delay: float = 0.0) -> None:
        """Queue a plain text, `end_turn` reply."""
        self.queue(TextReply(text=text, delay=delay))

    def fail(
        self,
        status: int,
        *,
        times: int = 1,
        retry_after: float | None = None,
        error_type: str | None = None,
        message: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue `times` error replies with the API's error envelope."""
        reply = ErrorReply(
            status=status,
            error_type=error_type,
            message=message,
            retry_after=retry_after,
            delay=delay,
        )
        self.queue(*[reply] * times)

    async def start(self) -> None:
        """Listen on `host:port` (port 0 picks a free one)."""
        app = web.Application()
        app.router.add_post("/v1/messages", self._handle)
        for route in clouds.ROUTES:
            app.router.add_post(route, self._handle)
        app.router.add_post("/token", self._google_token)
        self._closing = asyncio.Event()
        # A short grace period: delayed handlers are woken by `_closing` anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        host, port = self._runner.addresses[0][:2]
        self._base_url = f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop listening; delayed replies still waiting are released at once."""
        if self._closing is not None:
            self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @classmethod
    @contextlib.contextmanager
    def run_in_thread(cls, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[Self]:
        """A started stub whose event loop runs on a daemon thread, for sync tests."""
        stub = cls(host=host, port=port)
        loop = asyncio.new_event_loop()
        thread = threading.Thread(
            target=_run_loop, args=(loop,), daemon=True, name="anthropic-stub"
        )
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(stub.start(), loop).result(timeout=10)
            yield stub
        finally:
            asyncio.run_coroutine_threadsafe(stub.stop(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)

    async def _google_token(self, request: web.Request) -> web.Response:
        form = await request.post()  # a service account's signed JWT (not checked), or a refresh
        if not (form.get("assertion") or form.get("refresh_token")):
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = {"access_token": self.google_token, "expires_in": 3600, "token_type": "Bearer"}
        return web.json_response(token)

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        if self.responder is None:
            # Not retryable, so an under-scripted test fails on its first extra call.
            message = "AnthropicStub has no scripted reply: the queue is empty and no responder"
            return ErrorReply(status=500, message=message, should_retry=False)
        try:
            return self.responder(body)
        except Exception as exc:  # surfaced to the client: the test sees what broke
            return ErrorReply(status=500, message=f"responder raised {exc!r}", should_retry=False)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = _parse(await request.read())
        headers = {name.lower(): value for name, value in request.headers.items()}
        provider, model = clouds.provider(request.path, dict(request.match_info))
        recorded = RecordedRequest(body=body or {}, headers=headers, path=request.path)
        # A rejected request never consumes the script, as the model never ran.
        accepted = _accept(headers, body, provider, model)
        if isinstance(accepted, ErrorReply):
            with self._lock:
                self._requests.append(recorded)
            return _respond(accepted, {})
        reply = self._next_reply(accepted)
        cache = None if isinstance(reply, ErrorReply) else self.cache.account(accepted)
        with self._lock:
            self._requests.append(recorded.model_copy(update={"cache": cache}))
        hold = (lambda: self._hold(reply.delay)) if reply.delay > 0 else None
        if accepted.get("stream") and not isinstance(reply, ErrorReply):
            return await sse.stream(request, _message(reply, accepted, cache), hold)
        if hold is not None:
            await hold()
        return _respond(reply, accepted, cache)

    async def _hold(self, delay: float) -> None:
        """Wait `delay` seconds, or less: until `release` or `stop`."""
        if self._closing is None:
            return
        released = asyncio.Event()
        with self._lock:
            self._held.append((asyncio.get_running_loop(), released))
        waits = {
            asyncio.ensure_future(self._closing.wait()),
            asyncio.ensure_future(released.wait()),
        }
        _, pending = await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()

    def release(self) -> None:
        """Answer every reply held by its `delay` now: a test's barrier (hold the model's
        answer with a long delay, act meanwhile, then release it)."""
        with self._lock:
            held, self._held = self._held, []
        for loop, released in held:
            loop.call_soon_threadsafe(released.set)


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Thread body for `run_in_thread`: serve until stopped, then close the loop cleanly."""
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
