"""Coalesced script calls against a real Redis: each caller gets its own reply, or its own error."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.store.coalesce import CoalescedScript
from tests.tcp_proxy import CuttingProxy

# Counts its calls in KEYS[1]; ARGV[1] 'fail' makes it fail after counting (its write stays,
# as a failing script's writes do).
SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if ARGV[1] == 'fail' then return redis.error_reply('asked to fail: ' .. ARGV[2]) end
return {n, ARGV[2]}
"""


@pytest.fixture
async def counter(redis_client: Redis, prefix: str) -> AsyncIterator[str]:
    yield f"{prefix}:count"


async def _waves(script: CoalescedScript, key: str, waves: int, per_wave: int) -> list[object]:
    """Calls made in waves, a little apart, so several batches form; replies in call order."""
    calls: list[asyncio.Task[object]] = []
    for wave in range(waves):
        for i in range(per_wave):
            calls.append(asyncio.create_task(script([key], ["ok", f"{wave}-{i}"])))
        await asyncio.sleep(0.001)
    return list(await asyncio.gather(*calls))


async def test_concurrent_calls_each_get_their_own_reply_in_call_order(
    redis_client: Redis, counter: str
) -> None:
    script = CoalescedScript(redis_client, SCRIPT)
    replies = await _waves(script, counter, waves=20, per_wave=25)
    expected = [f"{w}-{i}".encode() for w in range(20) for i in range(25)]
    assert [reply[1] for reply in replies] == expected  # type: ignore[index]
    # Redis ran them in the order they were made, across batches too.
    assert [reply[0] for reply in replies] == list(range(1, 501))  # type: ignore[index]
    assert 1 < script.batches < 500  # coalesced, and not all in one batch


async def test_a_call_alone_is_sent_at_once(redis_client: Redis, counter: str) -> None:
    script = CoalescedScript(redis_client, SCRIPT)
    for n in range(1, 4):
        assert await script([counter], ["ok", "x"]) == [n, b"x"]
    assert script.batches == 3


async def test_a_failing_call_fails_alone_with_the_error_a_direct_call_raises(
    redis_client: Redis, counter: str
) -> None:
    script = CoalescedScript(redis_client, SCRIPT)
    outcomes = await asyncio.gather(
        script([counter], ["ok", "a"]),
        script([counter], ["fail", "b"]),
        script([counter], ["ok", "c"]),
        return_exceptions=True,
    )
    assert script.batches == 1
    assert outcomes[0] == [1, b"a"]
    assert outcomes[2] == [3, b"c"]
    failed = outcomes[1]
    assert isinstance(failed, ResponseError)
    with pytest.raises(ResponseError) as direct:
        await redis_client.register_script(SCRIPT)(keys=[counter], args=["fail", "b"])
    assert str(failed) == str(direct.value) == "asked to fail: b"


async def test_noscript_loads_the_script_and_sends_only_those_calls_again(
    redis_client: Redis, counter: str
) -> None:
    script = CoalescedScript(redis_client, SCRIPT)
    await redis_client.script_flush()
    replies = await asyncio.gather(*(script([counter], ["ok", str(i)]) for i in range(10)))
    assert replies == [[i + 1, str(i).encode()] for i in range(10)]  # each ran once
    await redis_client.script_flush()  # a Redis restarted between calls
    assert await script([counter], ["ok", "after"]) == [11, b"after"]


async def test_a_connection_lost_mid_batch_fails_that_batch_and_the_next_batch_works(
    redis_url: str, counter: str
) -> None:
    async with CuttingProxy(redis_url).running() as proxy:
        # No retries: the callers see the drop itself (the app's client would retry).
        client = Redis.from_url(proxy.url, retry=Retry(NoBackoff(), 0))
        try:
            script = CoalescedScript(client, SCRIPT)
            await script([counter], ["ok", "warm"])  # loaded; a connection is in the pool
            proxy.cut_reply_to(b"lost-reply")
            first = [
                asyncio.create_task(script([counter], ["ok", "lost-reply"])),
                asyncio.create_task(script([counter], ["ok", "same-batch"])),
            ]
            while script.batches < 2:  # the first batch is on its way
                await asyncio.sleep(0)
            second = [asyncio.create_task(script([counter], ["ok", f"next-{i}"])) for i in range(3)]
            lost = await asyncio.gather(*first, return_exceptions=True)
            assert proxy.cut.is_set()
            assert all(isinstance(outcome, RedisConnectionError) for outcome in lost)
            # Queued behind the lost batch, sent on a fresh connection after it failed.
            assert [reply[1] for reply in await asyncio.gather(*second)] == [
                b"next-0",
                b"next-1",
                b"next-2",
            ]
            assert script.batches == 3
            # The lost batch did run (its reply was what got lost): 1 + 2 + 3 calls counted.
            assert await client.get(counter) == b"6"
        finally:
            await client.aclose()


async def test_a_cancelled_caller_does_not_disturb_the_others(
    redis_client: Redis, counter: str
) -> None:
    script = CoalescedScript(redis_client, SCRIPT)
    calls = [asyncio.create_task(script([counter], ["ok", str(i)])) for i in range(5)]
    await asyncio.sleep(0)
    calls[2].cancel()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(outcomes[2], asyncio.CancelledError)
    assert [outcomes[i] for i in (0, 1, 3, 4)] == [[1, b"0"], [2, b"1"], [4, b"3"], [5, b"4"]]
    assert await script([counter], ["ok", "later"]) == [6, b"later"]
