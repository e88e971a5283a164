"""Fencing: a worker that stalled past its lease cannot commit onto the thread's new holder."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from pydantic import BaseModel
from redis.asyncio import Redis

from agents.deploy.agent import AGENT as DEPLOY
from bot.config import Settings
from bot.core.agent import Agent
from bot.core.events import ToolCall, ToolResult, UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.core.tools import Tool, ToolContext
from bot.runtime.loop import advance
from bot.runtime.wiring import runtime
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.threads import Fenced
from tests.helpers import T0


class NoArgs(BaseModel):
    """No arguments."""


def thread_with_open_call(thread_id: str) -> Thread:
    call = ToolCall(call_id="call_slow", name="slow", args={}, at=T0)
    return Thread(
        id=thread_id,
        agent="stall",
        origin=ApiOrigin(),
        events=[UserMessage(text="go", at=T0), call],
        created_at=T0,
    )


async def test_tokens_grow_and_a_lapsed_holders_commit_is_refused(
    settings: Settings, redis_client: Redis
) -> None:
    async with runtime(settings) as (deps, _):
        await deps.store.create(thread_with_open_call("th_f1"))
        first = deps.leases.lease("th_f1")
        acquired, thread = await first.acquire()
        assert acquired and thread is not None
        await redis_client.delete(deps.keys.lease("th_f1"))  # its lease lapsed
        second = deps.leases.lease("th_f1")
        assert (await second.acquire())[0]
        assert int(second.token) > int(first.token)
        result = [ToolResult(call_id="call_slow", name="slow", result="late", at=T0)]
        with pytest.raises(Fenced):
            await deps.store.commit(thread, result, fence=first.token)
        assert (await deps.store.get("th_f1")) == thread  # nothing written
        await deps.store.commit(thread, result, fence=second.token)


async def test_a_stalled_workers_tool_result_is_not_committed(
    settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    """The worker runs a tool, stalls past its lease, another worker takes the thread over;
    when the first one comes back, its result is refused, and the new holder's run is the one
    recorded: the call ran again (same call id), never recorded twice."""
    anthropic_stub.reply_tool("done_for_now", {"message": "done"})
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def slow(args: NoArgs, ctx: ToolContext) -> str:
        runs.append(ctx.call_id)
        started.set()
        await release.wait()
        return f"run {len(runs)}"

    stall = Agent(
        name="stall",
        description="",
        prompt=DEPLOY.prompt,
        tools=(Tool("slow", "Takes a while.", NoArgs, slow),),
    )
    async with runtime(settings) as (base, _):
        deps = dataclasses.replace(base, agents={"stall": stall})
        await deps.store.create(thread_with_open_call("th_f2"))
        first = asyncio.create_task(advance(deps, "th_f2"))
        await started.wait()
        # The first worker's event loop stalls (here: its lease simply lapses) and a second
        # worker takes the thread.
        await redis_client.delete(deps.keys.lease("th_f2"))
        takeover = deps.leases.lease("th_f2")
        assert (await takeover.acquire())[0]
        release.set()
        await first  # comes back, tries to commit, is refused, leaves the thread alone
        stored = await deps.store.get("th_f2")
        assert stored is not None
        assert [e for e in stored.events if isinstance(e, ToolResult)] == []
        assert await redis_client.get(deps.keys.lease("th_f2")) == takeover.token.encode()
        # The new holder lets go; the next step runs the open call once more and records it.
        await takeover.drop()
        await advance(deps, "th_f2")
        stored = await deps.store.get("th_f2")
        assert stored is not None
        results: list[Any] = [e for e in stored.events if isinstance(e, ToolResult)]
    assert runs == ["call_slow", "call_slow"]
    assert [r.result for r in results] == ["run 2"]
