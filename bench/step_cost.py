"""Per-step framework overhead, model excluded, and Redis work per step, at event 10 and 500.

Runs in its own process against a private Redis: the real runner (`bot.runtime.loop.advance`) with
an in-process scripted model that answers at once, so what is timed is ours: lease, load,
decide, render the context, validate, run a trivial tool, commit. The model asks for
`list_services` over and over (a model step then a tool step each time), then a question,
which pauses the thread. Measured: the interval between consecutive model calls (two steps),
Redis round trips (client side: each send of a command or pipeline) and Redis commands
(server side, `INFO commandstats`, commands inside scripts included) per step; and the
context tokens of the thread at the end of each round (`bench.context_tokens`).

`python -m bench.step_cost REDIS_URL --steps 20 --at 10,500`; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from redis import Redis as SyncRedis
from redis.asyncio.connection import AbstractConnection

from bench.context_tokens import compare
from bot.config import Settings
from bot.core.model import ModelCall
from bot.core.thread import ApiOrigin
from bot.logs import configure
from bot.runtime.loop import advance
from bot.runtime.service import Service
from bot.runtime.wiring import runtime

try:
    from bot.runtime.wiring import freeze_heap
except ImportError:  # HITLBOT_BENCH_CODE names a checkout from before it: its worker did not

    def freeze_heap() -> None:
        pass


ROUND_TRIPS = 0
_send = AbstractConnection.send_packed_command


async def _counting_send(self: AbstractConnection, *args: Any, **kwargs: Any) -> None:
    global ROUND_TRIPS
    ROUND_TRIPS += 1
    await _send(self, *args, **kwargs)


AbstractConnection.send_packed_command = _counting_send  # type: ignore[method-assign]

LIST = ModelCall("list_services", {})
ASK = ModelCall("request_more_information", {"message": "Which one?"})


class Scripted:
    """A model that answers at once from a plan, noting when each call came."""

    def __init__(self) -> None:
        self.plan: deque[ModelCall] = deque()
        self.calls: list[float] = []

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        self.calls.append(time.perf_counter())
        return self.plan.popleft()

    async def aclose(self) -> None:
        pass


def commands(redis: SyncRedis) -> int:
    stats = redis.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k != "cmdstat_info")


async def main(url: str, steps: int, at: list[int]) -> dict[str, object]:
    model = Scripted()
    settings = Settings(_env_file=None, REDIS_URL=url, HITLBOT_STEP_LEASE_S=30)
    sync = SyncRedis.from_url(url)
    out: dict[str, object] = {}
    async with runtime(settings, model=model) as (deps, _):
        freeze_heap()  # as the worker process does
        service = Service(deps)
        thread = await service.launch("deploy", "which services are there?", ApiOrigin(), "u")
        model.plan.append(ASK)  # pause once, so each round below starts from an answer
        await advance(deps, thread.id)
        await service.post_message(thread.id, "go on", "u")
        for target in at:
            length = len((await service.get(thread.id)).events)
            grow = max(0, (target - length) // 2)
            if grow:
                model.plan.extend([LIST] * grow + [ASK])
                await advance(deps, thread.id)
                await service.post_message(thread.id, "go on", "u")
            length = len((await service.get(thread.id)).events)
            model.plan.extend([LIST] * steps + [ASK])
            model.calls.clear()
            trips, before = ROUND_TRIPS, commands(sync)
            started = time.perf_counter()
            await advance(deps, thread.id)
            elapsed = time.perf_counter() - started
            assert not model.plan, "the thread stopped before its script ran out"
            after = commands(sync)
            final = await service.get(thread.id)
            await service.post_message(thread.id, "go on", "u")
            taken = 2 * steps + 1  # a model step and a tool step per LIST, one for ASK
            intervals = [b - a for a, b in zip(model.calls, model.calls[1:], strict=False)]
            out[str(target)] = {
                "events": length,
                "cycle_s": intervals,
                "per_step_s": elapsed / taken,
                "round_trips_per_step": (ROUND_TRIPS - trips) / taken,
                "commands_per_step": (after - before) / taken,
                "tokens": compare(final, settings.context_token_budget),
            }
    sync.close()
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--at", default="10,500")
    args = parser.parse_args()
    targets = [int(part) for part in args.at.split(",")]
    configure("WARNING")  # logs to stderr; stdout carries the JSON alone
    print(json.dumps(asyncio.run(main(args.url, args.steps, targets))))
