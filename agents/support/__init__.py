"""The `support` agent: look orders up and refund them; every refund needs approval."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bot.agent import Agent
from bot.tools import Tool, ToolContext, ToolError

HERE = Path(__file__).parent
ORDERS_ENV = "HITLBOT_SUPPORT_ORDERS"
"""Path of a JSON file that replaces the bundled `orders.json`."""


def load_orders() -> dict[str, dict[str, Any]]:
    """The orders the agent knows, from HITLBOT_SUPPORT_ORDERS or the bundled sample."""
    path = Path(os.environ.get(ORDERS_ENV) or HERE / "orders.json")
    orders: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return orders


class OrderArg(BaseModel):
    order_id: str = Field(description="The order number, e.g. A1001.")


class RefundArgs(BaseModel):
    order_id: str = Field(description="The order number.")
    amount: Decimal = Field(gt=0, max_digits=10, decimal_places=2, description="Amount to refund.")
    reason: str = Field(min_length=3, max_length=500, description="Why, for the reviewer.")


async def lookup_order(args: OrderArg, ctx: ToolContext) -> dict[str, Any]:
    order_id, order = _order(args.order_id)
    refunded = await _refunded(ctx, order_id)
    return {"order_id": order_id, **order, "refunded": str(refunded)}


async def issue_refund(args: RefundArgs, ctx: ToolContext) -> dict[str, Any]:
    """Record the refund once per call id (a real shop would call its payment provider here)."""
    order_id, order = _order(args.order_id)
    key = ctx.deps.keys.refunds(order_id)
    done = await ctx.deps.redis.hget(key, ctx.call_id)
    if done is not None:  # this very call refunded already (a worker died before recording it)
        earlier: dict[str, Any] = json.loads(done)
        return earlier
    left = Decimal(str(order["total"])) - await _refunded(ctx, order_id)
    if args.amount > left:
        raise ToolError(f"refund of {args.amount} is over what is left on the order ({left})")
    record = {
        "order_id": order_id,
        "amount": str(args.amount),
        "currency": order["currency"],
        "call_id": ctx.call_id,
        "status": "refunded",
    }
    await ctx.deps.redis.hsetnx(key, ctx.call_id, json.dumps(record))
    return record


async def _refunded(ctx: ToolContext, order_id: str) -> Decimal:
    rows = await ctx.deps.redis.hvals(ctx.deps.keys.refunds(order_id))
    return sum((Decimal(json.loads(row)["amount"]) for row in rows), Decimal(0))


def _order(order_id: str) -> tuple[str, dict[str, Any]]:
    key = order_id.strip().upper()
    order = load_orders().get(key)
    if order is None:
        raise ToolError(f"no order {order_id!r}")
    return key, order


AGENT = Agent(
    name="support",
    description="Answers customers about their orders and refunds them, with approval.",
    prompt=HERE / "prompt.md",
    tools=(
        Tool("lookup_order", "Look an order up by its number.", OrderArg, lookup_order),
        Tool(
            "issue_refund",
            "Refund part or all of an order. A human approves every refund first.",
            RefundArgs,
            issue_refund,
            approval=True,
        ),
    ),
)
