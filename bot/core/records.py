"""What a tool may keep: the agent's own records, keyed by the call id, and the atomic
primitives a re-run must go through (pure: the protocol and its values only).

`bot.store.agentstore.AgentStore` keeps them in Redis, namespaced per agent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from bot.core.jsondata import Json


class OverLimit(Exception):
    """A reservation would take the total past its limit; nothing was reserved."""

    def __init__(self, total: Decimal, limit: Decimal, amount: Decimal) -> None:
        self.total, self.limit, self.amount = total, limit, amount
        super().__init__(f"{amount} is over what is left ({limit - total} of {limit})")


@dataclass(frozen=True)
class Reservation:
    """What `reserve` recorded for this call."""

    record: Json
    """The record stored with the reservation (the earlier one, if the call had reserved)."""
    total: Decimal
    """The ledger's total after it."""
    first: bool
    """False when this call id had reserved before (a re-run after a crash)."""


class AgentRecords(Protocol):
    """One agent's records as one tool call sees them: every write is keyed by its call id,
    so a call run again after a crash finds its own earlier record instead of acting twice."""

    async def reserve(
        self, ledger: str, amount: Decimal, limit: Decimal, record: Json
    ) -> Reservation:
        """Add `amount` to `ledger`'s total unless that passes `limit`, atomically; OverLimit
        if it would. A call that reserved before gets its earlier reservation back."""
        ...

    async def reserved(self, ledger: str) -> Decimal:
        """`ledger`'s total so far."""
        ...

    async def once(self, name: str, record: Json) -> tuple[bool, Json]:
        """Record `record` for this call in `name` unless it has one; (first time?, stored)."""
        ...

    async def recorded(self, name: str) -> Json | None:
        """This call's record in `name`, if it made one (it is being run again)."""
        ...

    async def records(self, name: str) -> dict[str, Json]:
        """Every call's record in `name`, by call id."""
        ...
