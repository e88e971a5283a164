"""The support agent through the API: lookups, refunds behind approval, bounds on refunds."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.standins.anthropic_stub import AnthropicStub
from tests.helpers import tool_results, types, wait_for


async def launch(api: httpx.AsyncClient, text: str) -> str:
    reply = await api.post(
        "/threads", json={"agent": "support", "message": text, "user": "ana@example.com"}
    )
    assert reply.status_code == 202, reply.text
    return str(reply.json()["thread_id"])


async def test_refund_waits_for_approval_and_happens_once(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("lookup_order", {"order_id": "a1001"})
    anthropic_stub.reply_tool(
        "issue_refund", {"order_id": "A1001", "amount": "49.00", "reason": "dented"}
    )
    thread_id = await launch(api, "My machine arrived dented, order A1001")
    view = await wait_for(api, thread_id, "waiting_approval")
    [order] = tool_results(view, "lookup_order")
    assert order["result"]["total"] == 249.0 and order["result"]["refunded"] == "0.00"
    assert view["pending_request"]["tool"]["args"] == {
        "order_id": "A1001",
        "amount": "49.00",
        "reason": "dented",
    }

    anthropic_stub.reply_tool(
        "issue_refund", {"order_id": "A1001", "amount": "201", "reason": "more"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "Refunded 49 EUR."})
    approve = {"request_id": view["pending_request"]["request_id"], "user": "U1", "approved": True}
    assert (await api.post(f"/threads/{thread_id}/responses", json=approve)).status_code == 202
    view = await wait_for(api, thread_id, "waiting_approval")  # the second refund waits too
    [refund] = tool_results(view, "issue_refund")
    assert refund["result"]["amount"] == "49.00" and refund["result"]["status"] == "refunded"

    approve["request_id"] = view["pending_request"]["request_id"]
    assert (await api.post(f"/threads/{thread_id}/responses", json=approve)).status_code == 202
    view = await wait_for(api, thread_id, "done")
    errors = [e for e in view["events"] if e["type"] == "error"]
    assert "over what is left on the order (200.00)" in errors[0]["message"]
    assert types(view)[-1] == "done"


async def test_unknown_order_is_an_error_the_model_sees(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("lookup_order", {"order_id": "Z9"})
    anthropic_stub.reply_tool(
        "request_more_information", {"message": "Could you check the order number?"}
    )
    thread_id = await launch(api, "where is order Z9?")
    view = await wait_for(api, thread_id, "waiting_human")
    assert [e["message"] for e in view["events"] if e["type"] == "error"] == ["no order 'Z9'"]
    assert (
        "<error>\ntool: lookup_order\nmessage: no order 'Z9'\n</error>"
        in anthropic_stub.requests[1].context
    )


async def test_orders_file_can_be_replaced(
    api: httpx.AsyncClient,
    anthropic_stub: AnthropicStub,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orders = tmp_path / "orders.json"
    orders.write_text(
        json.dumps(
            {
                "X1": {
                    "customer": "x@example.com",
                    "item": "Cup",
                    "total": 5,
                    "currency": "USD",
                    "status": "new",
                    "placed": "2026-11-01",
                }
            }
        )
    )
    monkeypatch.setenv("HITLBOT_SUPPORT_ORDERS", str(orders))
    anthropic_stub.reply_tool("lookup_order", {"order_id": "x1"})
    anthropic_stub.reply_tool("done_for_now", {"message": "It is new."})
    thread_id = await launch(api, "order X1?")
    view = await wait_for(api, thread_id, "done")
    assert tool_results(view, "lookup_order")[0]["result"]["item"] == "Cup"
