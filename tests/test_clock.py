"""One clock: what a process stamps and scores comes from the clock wiring is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.clock import FakeClock
from bot.config import Settings
from bot.core.thread import ApiOrigin
from bot.runtime.service import Service
from bot.runtime.wiring import runtime

WHEN = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
"""Years from the wall clock: a time read anywhere else shows."""


def test_a_fake_clock_reads_one_instant_both_ways_and_moves_when_told() -> None:
    clock = FakeClock(WHEN)
    assert clock.now() == WHEN and clock.time() == WHEN.timestamp()
    assert clock.advance(90) == WHEN + timedelta(seconds=90)
    assert clock.time() == WHEN.timestamp() + 90
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2031, 5, 6))  # naive


async def test_a_launch_is_stamped_and_marked_by_the_injected_clock(
    settings: Settings, redis_client: Redis
) -> None:
    clock = FakeClock(WHEN)
    async with runtime(settings, clock=clock) as (deps, _):
        thread = await Service(deps).launch("deploy", "hello", ApiOrigin(), "u")
        index = await redis_client.zscore(deps.keys.index, thread.id)
        queued = await redis_client.zscore(deps.keys.queued, thread.id)
        stored = await deps.store.get(thread.id)
    assert thread.created_at == WHEN and thread.events[0].at == WHEN
    assert stored is not None and stored.created_at == WHEN and stored.events[0].at == WHEN
    # The thread index and the sweeper's queued mark: the same clock, in epoch seconds.
    assert index == queued == WHEN.timestamp()
