"""The whole of hitlbot for one agent test: a private Redis, the real web app and a worker on a
loopback port, your agents' folders, and the offline model or the Anthropic stand-in.

    async with hitlbot(agent_paths=[HERE.parent]) as bot:
        thread_id = await bot.launch("inventory", "order 10 of A-100")
        view = await bot.settled(thread_id)          # waits while it runs
        assert view["pending_request"]["kind"] == "approval"
        view = await bot.decide(thread_id, approved=True)
        assert view["status"] == "done"

`model="offline"` (the default) plays the agent's own offline rules, its scripted default or
`HITLBOT_OFFLINE_SCRIPT`; `anthropic=stub` (an `AnthropicStub`) points the real Claude adapter
at scripted replies instead. Nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from bot.config import Settings
from bot.dev.ports import free_port
from bot.dev.server import private_store
from bot.standins.anthropic_stub import AnthropicStub

TOKEN = "harness-token"
"""The API token of the harness's app."""


@dataclass
class Harness:
    """A running hitlbot and an API client on it."""

    api: httpx.AsyncClient
    """The HTTP API, bearer token set."""
    settings: Settings
    """What it runs with."""

    async def launch(self, agent: str, message: str, user: str = "tester") -> str:
        """Start a thread; its id."""
        reply = await self.api.post(
            "/threads", json={"agent": agent, "message": message, "user": user}
        )
        reply.raise_for_status()
        thread_id: str = reply.json()["thread_id"]
        return thread_id

    async def settled(self, thread_id: str, timeout: float = 15) -> dict[str, Any]:
        """The thread once it no longer runs (it waits for a human, or has ended)."""
        params: dict[str, str | float] = {"wait": min(timeout, 25), "while_status": "running"}
        reply = await self.api.get(f"/threads/{thread_id}", params=params, timeout=timeout + 5)
        reply.raise_for_status()
        view: dict[str, Any] = reply.json()
        if view["status"] == "running":
            raise AssertionError(f"thread {thread_id} still runs after {timeout} s: {view}")
        return view

    async def decide(
        self, thread_id: str, *, approved: bool | None = None, answer: str | None = None
    ) -> dict[str, Any]:
        """Answer the thread's pending request (approve, reject or answer), as `approver`;
        the thread once it settles again."""
        view = await self.settled(thread_id)
        pending = view.get("pending_request")
        if not pending:
            raise AssertionError(f"thread {thread_id} has nothing to answer: {view['status']}")
        body: dict[str, Any] = {"request_id": pending["request_id"], "user": "approver"}
        if approved is not None:
            body["approved"] = approved
        if answer is not None:
            body["answer"] = answer
        reply = await self.api.post(f"/threads/{thread_id}/responses", json=body)
        reply.raise_for_status()
        return await self.settled(thread_id)


@contextlib.asynccontextmanager
async def hitlbot(
    agent_paths: Sequence[str | Path] = (),
    *,
    model: str = "offline",
    anthropic: AnthropicStub | None = None,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """Run hitlbot (web and worker) for a test; `settings` are more variables by name."""
    from bot.runtime.wiring import check_configuration, load_agents, model_from
    from bot.web.app import create_app

    values: dict[str, Any] = {
        "HITLBOT_API_TOKEN": TOKEN,
        "HITLBOT_API_TRUSTED_DECISIONS": True,
        "HITLBOT_AGENT_PATHS": ":".join(str(path) for path in agent_paths),
        "HITLBOT_MODEL": model if anthropic is None else "claude-test",
        "HITLBOT_LLM_RETRY_SCHEDULE": "0.05",
        **settings,
    }
    saved = {name: os.environ.get(name) for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY")}
    if anthropic is not None:
        os.environ["ANTHROPIC_BASE_URL"] = anthropic.base_url
        os.environ["ANTHROPIC_API_KEY"] = "sk-test"
        values["ANTHROPIC_API_KEY"] = "sk-test"
    try:
        with contextlib.ExitStack() as stack:
            config = Settings(_env_file=None, REDIS_URL=private_store(stack), **values)
            # What the app checks at start, here first: its StartupError, not uvicorn's exit.
            check_configuration(config, load_agents(config))
            await model_from(config).aclose()
            async with serve(create_app(config, with_worker=True)) as url:
                headers = {"Authorization": f"Bearer {TOKEN}"}
                async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
                    yield Harness(api, config)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextlib.asynccontextmanager
async def serve(app: Any, port: int | None = None) -> AsyncIterator[str]:
    """Run an ASGI app under uvicorn on loopback (`port`, or a free one) until the block ends;
    yields its base URL. Signals stay the caller's (Ctrl-C is not swallowed)."""
    port = port or free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]  # keep Ctrl-C
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
