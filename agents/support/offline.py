"""Offline rules for the `support` agent: find the order, propose a refund if asked, answer.

Rules, in order: report a refund this turn already led to (refunded, rejected with its reason,
refused); ask for the order number; look the order up (asking again if it is unknown); propose
a refund when the customer asks for one (the amount they name, or what is left); else say
where the order stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.model import ModelCall
from bot.llm.offline.eventlog import Entry, Outcome, current_turn, human_text, last_match, outcomes
from bot.llm.offline.rules import MARK, Rules, ask, call, done

SIGN_OFF = "\n\n— The support team"
_ORDER = re.compile(r"\b([A-Za-z]\d{4})\b")
_REFUND = re.compile(r"\b(refund|money back|reimburse|broken|damaged|return)", re.IGNORECASE)
_AMOUNT = re.compile(
    r"(?:€|EUR\s?)(\d+(?:[.,]\d{1,2})?)|(\d+(?:[.,]\d{1,2})?)\s?(?:€|EUR|euros?)\b", re.IGNORECASE
)


def decide(entries: Sequence[Entry]) -> ModelCall:
    """The support agent's next call."""
    turn = current_turn(entries)
    refunds = outcomes(turn, "issue_refund")
    if refunds:
        return _report(refunds[-1])
    text = human_text(turn)
    order_id = last_match(_ORDER, text)
    if order_id is None:
        return ask("Could you send me your order number? It looks like A1001." + SIGN_OFF)
    order_id = order_id.upper()
    lookup = _lookup(turn, order_id)
    if lookup is None:
        return call("lookup_order", f"the customer wrote about order {order_id}", order_id=order_id)
    if lookup.error is not None or not isinstance(lookup.result, dict):
        return ask(f"I could not find order {order_id}. Could you check the number?" + SIGN_OFF)
    order = lookup.result
    if _REFUND.search(text):
        return _propose_refund(order, text)
    return done(
        f"Your order {order_id} ({order.get('item')}) is {order.get('status')}; "
        f"it was placed on {order.get('placed')}." + SIGN_OFF
    )


def _propose_refund(order: dict[str, Any], text: str) -> ModelCall:
    order_id = str(order.get("order_id"))
    left = _decimal(order.get("total")) - _decimal(order.get("refunded"))
    if left <= 0:
        return done(f"Order {order_id} has already been refunded in full." + SIGN_OFF)
    amount = min(_asked_amount(text) or left, left).quantize(Decimal("0.01"))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    first_line = next((line for line in lines if _REFUND.search(line)), lines[0] if lines else "")
    return call(
        "issue_refund",
        f"the customer asks for a refund of order {order_id}",
        order_id=order_id,
        amount=str(amount),
        reason=f"{MARK} customer asks for a refund: {first_line[:200]}",
    )


def _report(outcome: Outcome) -> ModelCall:
    args = outcome.args
    currency = outcome.result.get("currency", "") if isinstance(outcome.result, dict) else ""
    what = f"{args.get('amount')} {currency}".strip() + f" on order {args.get('order_id')}"
    if outcome.rejected:
        why = f" The reviewer's reason: {outcome.comment}." if outcome.comment else ""
        return done(f"I am sorry, we cannot refund {what}.{why}" + SIGN_OFF)
    if outcome.error is not None:
        return done(f"I could not refund {what}: {outcome.error}." + SIGN_OFF)
    if isinstance(outcome.result, dict):
        return done(f"We have refunded {what}." + SIGN_OFF)
    return done(f"The refund of {what} is being processed." + SIGN_OFF)


def _lookup(turn: Sequence[Entry], order_id: str) -> Outcome | None:
    for outcome in reversed(outcomes(turn, "lookup_order")):
        args = outcome.args
        if str(args.get("order_id", "")).upper() == order_id and (
            outcome.result is not None or outcome.error is not None
        ):
            return outcome
    return None


def _asked_amount(text: str) -> Decimal | None:
    match = _AMOUNT.search(text)
    if match is None:
        return None
    amount = _decimal((match.group(1) or match.group(2)).replace(",", "."))
    return amount if amount > 0 else None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return Decimal(0)


RULES = Rules(
    agent="support",
    tools=frozenset({"lookup_order", "issue_refund"}),
    decide=decide,
)
