"""The atomic primitives tools build on, and the refund race they close."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.core.records import OverLimit
from bot.core.tools import ToolContext, ToolError
from bot.store.agentstore import AgentStore
from bot.store.keys import Keys
from hitlbot_agents.support.agent import RefundArgs, issue_refund

READS = {"get", "hget", "hvals", "hgetall", "hmget", "exists", "script_exists", "get_encoder"}


class HeldWrites:
    """A Redis client whose first write (any command that is not a plain read) waits for `go`.

    Two tool calls are then interleaved the worst way, deterministically: the first reads,
    and is held at its write until the second has run to the end.
    """

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.go = asyncio.Event()
        self.held = asyncio.Event()

    def register_script(self, script: str) -> AsyncScript:
        return AsyncScript(self, script)  # its EVALSHA goes through this client too

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._redis, name)
        if name in READS or not callable(target):
            return target

        async def held(*args: Any, **kwargs: Any) -> Any:
            if not self.go.is_set():
                self.held.set()
                await self.go.wait()
            return await target(*args, **kwargs)

        return held


def context(redis: Any, prefix: str, call_id: str) -> ToolContext:
    store = AgentStore(redis, Keys(prefix), "support", call_id)
    unused: Any = None  # the refund tools use only their store
    return ToolContext(
        call_id=call_id, thread_id="th_" + call_id, store=store, http=unused, settings=unused
    )


async def test_two_concurrent_refunds_of_one_order_cannot_both_pass(
    redis_client: Redis, prefix: str
) -> None:
    # Order A1001 totals 249.00: either refund fits alone, both together do not.
    args = RefundArgs(order_id="A1001", amount=Decimal("200.00"), reason="broken on arrival")
    slow = HeldWrites(redis_client)
    first = asyncio.create_task(issue_refund(args, context(slow, prefix, "call_first")))
    await slow.held.wait()  # the first has read what it needs and is about to write
    second = await issue_refund(args, context(redis_client, prefix, "call_second"))
    slow.go.set()
    with pytest.raises(ToolError, match="over what is left on the order \\(49.00\\)"):
        await first
    assert second["amount"] == "200.00" and second["call_id"] == "call_second"
    store = AgentStore(redis_client, Keys(prefix), "support", "reader")
    assert await store.reserved("refunds:A1001") == Decimal("200")


async def test_a_rerun_of_the_same_call_gets_its_own_refund_back(
    redis_client: Redis, prefix: str
) -> None:
    args = RefundArgs(order_id="A1001", amount=Decimal("249.00"), reason="never arrived")
    once = await issue_refund(args, context(redis_client, prefix, "call_1"))
    again = await issue_refund(args, context(redis_client, prefix, "call_1"))
    assert once == again  # the order is fully refunded, yet the same call is not refused
    with pytest.raises(ToolError, match="over what is left"):
        await issue_refund(args, context(redis_client, prefix, "call_2"))


async def test_reserve_and_once(redis_client: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    a = AgentStore(redis_client, keys, "agent", "call_a")
    b = AgentStore(redis_client, keys, "agent", "call_b")
    first = await a.reserve("budget", Decimal("0.10"), Decimal("0.30"), {"who": "a"})
    assert first.first and first.total == Decimal("0.1") and first.record == {"who": "a"}
    assert (
        await a.reserve("budget", Decimal("0.10"), Decimal("0.30"), {"who": "x"})
    ).first is False
    assert (await b.reserve("budget", Decimal("0.20"), Decimal("0.30"), {})).total == Decimal("0.3")
    with pytest.raises(OverLimit) as refused:
        await AgentStore(redis_client, keys, "agent", "call_c").reserve(
            "budget", Decimal("0.000001"), Decimal("0.30"), {}
        )
    assert refused.value.total == Decimal("0.3")
    with pytest.raises(ValueError, match="decimals"):
        await a.reserve("budget", Decimal("0.0000001"), Decimal("1"), {})
    assert await a.once("sent", {"n": 1}) == (True, {"n": 1})
    assert await a.once("sent", {"n": 2}) == (False, {"n": 1})
    assert await a.recorded("sent") == {"n": 1} and await b.recorded("sent") is None
    assert await b.records("sent") == {"call_a": {"n": 1}}
    # Agents are namespaced: another agent's `budget` is its own.
    other = AgentStore(redis_client, keys, "other", "call_a")
    assert await other.reserved("budget") == Decimal(0)
    assert a.key("budget") == f"{prefix}:agent:agent:budget"
