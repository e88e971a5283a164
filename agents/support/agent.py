"""The `support` agent: look orders up and refund them; every refund needs approval."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bot.core.agent import Agent, SuggestedPrompt
from bot.core.records import OverLimit
from bot.core.tools import Tool, ToolContext, ToolError

HERE = Path(__file__).parent
CENTS = Decimal("0.01")
ORDERS_ENV = "HITLBOT_SUPPORT_ORDERS"
"""Path of a JSON file that replaces the bundled `orders.json`."""


def load_orders() -> dict[str, dict[str, Any]]:
    """The orders the agent knows, from HITLBOT_SUPPORT_ORDERS or the bundled sample."""
    path = Path(os.environ.get(ORDERS_ENV) or HERE / "orders.json")
    try:
        orders = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the orders file: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(orders, dict) or not all(isinstance(o, dict) for o in orders.values()):
        raise ValueError(f"{path}:1: expected {{order id: {{total, currency, ...}}}}")
    return orders


class OrderArg(BaseModel):
    order_id: str = Field(description="The order number, e.g. A1001.")


class RefundArgs(BaseModel):
    order_id: str = Field(description="The order number.")
    amount: Decimal = Field(gt=0, max_digits=10, decimal_places=2, description="Amount to refund.")
    reason: str = Field(min_length=3, max_length=500, description="Why, for the reviewer.")


async def lookup_order(args: OrderArg, ctx: ToolContext) -> dict[str, Any]:
    order_id, order = _order(args.order_id)
    refunded = await ctx.store.reserved(_ledger(order_id))
    return {"order_id": order_id, **order, "refunded": str(refunded.quantize(CENTS))}


async def issue_refund(args: RefundArgs, ctx: ToolContext) -> dict[str, Any]:
    """Refund once per call id, never past the order's total, however many threads try at once.

    The check and the write are one atomic reservation (a real shop would then call its
    payment provider with `ctx.call_id` as the idempotency key).
    """
    order_id, order = _order(args.order_id)
    record = {
        "order_id": order_id,
        "amount": str(args.amount),
        "currency": order["currency"],
        "call_id": ctx.call_id,
        "status": "refunded",
    }
    total = Decimal(str(order["total"]))
    try:
        reservation = await ctx.store.reserve(_ledger(order_id), args.amount, total, record)
    except OverLimit as exc:
        left = (exc.limit - exc.total).quantize(CENTS)
        message = f"refund of {args.amount} is over what is left on the order ({left})"
        raise ToolError(message) from None
    return reservation.record


def _ledger(order_id: str) -> str:
    """The refunds of one order: their total and one record per call."""
    return f"refunds:{order_id}"


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
            prose=("reason",),
        ),
    ),
    suggested_prompts=(
        SuggestedPrompt("Where is my order?", "Where is my order A1001?"),
        SuggestedPrompt("Ask for a refund", "I would like a refund for order A1001."),
    ),
    check=load_orders,
)
