"""An agent's own records in Redis, and the atomic primitives its tools build on.

A tool that reads a total, checks it and then writes races with itself: two threads refunding
one order both pass the check. Here the check and the write are one Lua script, and every
record is keyed by the tool call's `call_id`, so a call that is run again after a crash finds
its own earlier record instead of acting twice. Names are namespaced per agent
(`Keys.agent`), so agents never share or collide on keys.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from bot.core.jsondata import Json
from bot.core.records import OverLimit, Reservation
from bot.store.connect import RedisClient
from bot.store.keys import Keys
from bot.store.scripts import source

UNITS = Decimal(1_000_000)
"""Amounts are kept as integer millionths, exact in Redis and in Lua's doubles below 2**53."""
MAX_UNITS = 2**53


class AgentRecordsStore:
    """The agents' records in Redis: an `AgentStore` per tool call (`Deps.records`)."""

    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    def for_call(self, agent: str, call_id: str) -> AgentStore:
        """`agent`'s records, as seen by the tool call `call_id`."""
        return AgentStore(self.redis, self.keys, agent, call_id)


class AgentStore:
    """One agent's records, as seen by one tool call (`bot.core.records.AgentRecords`)."""

    def __init__(self, redis: RedisClient, keys: Keys, agent: str, call_id: str) -> None:
        # redis-py types every reply as a wide union; the shapes here are fixed by the scripts.
        self.redis: Any = redis
        self.keys = keys
        self.agent = agent
        self.call_id = call_id

    def key(self, name: str) -> str:
        """The Redis key of the agent's record `name`."""
        return self.keys.agent(self.agent, name)

    async def reserve(
        self, ledger: str, amount: Decimal, limit: Decimal, record: Json
    ) -> Reservation:
        """Add `amount` to `ledger`'s total unless that passes `limit`, atomically; OverLimit
        if it would. A call that reserved before gets its earlier reservation back."""
        script = self.redis.register_script(source("reserve"))  # only hashes the source; cheap
        reply = await script(
            keys=[self.key(ledger)],
            args=[self.call_id, _units(amount), _units(limit), json.dumps(record)],
        )
        status, stored, total = int(reply[0]), reply[1], Decimal(reply[2].decode()) / UNITS
        if status == 0:
            raise OverLimit(total, limit, amount)
        return Reservation(record=json.loads(stored), total=total, first=status == 1)

    async def reserved(self, ledger: str) -> Decimal:
        """`ledger`'s total so far."""
        total = await self.redis.hget(self.key(ledger), "total")
        return Decimal(total.decode()) / UNITS if total is not None else Decimal(0)

    async def once(self, name: str, record: Json) -> tuple[bool, Json]:
        """Record `record` for this call in `name` unless it has one; (first time?, stored)."""
        script = self.redis.register_script(source("once"))
        reply = await script(keys=[self.key(name)], args=[self.call_id, json.dumps(record)])
        return int(reply[0]) == 1, json.loads(reply[1])

    async def recorded(self, name: str) -> Json | None:
        """This call's record in `name`, if it made one (it is being run again)."""
        found = await self.redis.hget(self.key(name), self.call_id)
        return json.loads(found) if found is not None else None

    async def records(self, name: str) -> dict[str, Json]:
        """Every call's record in `name`, by call id."""
        rows = await self.redis.hgetall(self.key(name))
        return {k.decode(): json.loads(v) for k, v in rows.items()}


def _units(amount: Decimal) -> str:
    units = amount * UNITS
    if units != units.to_integral_value() or abs(units) >= MAX_UNITS:
        raise ValueError(f"amount {amount} has more than 6 decimals or is too large")
    return str(int(units))
