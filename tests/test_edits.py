"""Edit before approve, the pure parts: the modal as plain dicts, parsing, validation, display."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from agents.deploy.agent import AGENT
from bot.core.audit import args_digest, audit_entries
from bot.core.context import render_events
from bot.core.decide import RunTool, decide
from bot.core.edits import EditError, changes, validated
from bot.core.events import HumanRequest, HumanResponse, ToolCall
from bot.core.thread import ApiOrigin, Thread
from bot.mcp.schema import args_model
from bot.slack.cards import decided_card
from bot.slack.editform import edit_modal, editable, error_blocks, submitted_args
from tests.helpers import T0


class Refund(BaseModel):
    order_id: str
    amount: Decimal
    currency: Literal["EUR", "USD"] = "EUR"
    tags: list[str] = []
    note: str | None = None


PROPOSED = {"service": "api", "version": "1.4.2", "environment": "production"}


def _thread(*more: Any) -> Thread:
    call = ToolCall(call_id="c1", name="deploy_service", args=PROPOSED, at=T0)
    request = HumanRequest(request_id="t.r1", kind="approval", message="ok?", call_id="c1", at=T0)
    return Thread(
        id="t", agent="deploy", origin=ApiOrigin(), events=[call, request, *more], created_at=T0
    )


def _state(**values: str) -> dict[str, Any]:
    return {
        f"arg:{k}": {"value": {"type": "plain_text_input", "value": v}} for k, v in values.items()
    }


def test_the_modal_has_one_prefilled_input_per_field() -> None:
    args = {"order_id": "A1", "amount": "249.90", "currency": "USD", "tags": ["x"], "note": None}
    view = edit_modal("issue_refund", Refund, args, "meta")
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert list(inputs) == ["arg:order_id", "arg:amount", "arg:currency", "arg:tags", "arg:note"]
    assert inputs["arg:amount"]["element"]["initial_value"] == "249.90"
    assert inputs["arg:tags"]["element"]["initial_value"] == '["x"]'
    assert "initial_value" not in inputs["arg:note"]["element"]  # Slack refuses an empty one
    currency = inputs["arg:currency"]["element"]
    assert currency["type"] == "static_select" and currency["initial_option"]["value"] == "USD"
    assert [o["value"] for o in currency["options"]] == ["EUR", "USD"]
    assert inputs["arg:order_id"]["optional"] is False and inputs["arg:note"]["optional"] is True
    assert view["callback_id"] == "hitlbot_edit" and view["private_metadata"] == "meta"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ({"amount": "0.10"}, {"amount": "0.10"}),  # a Decimal kept exact, not a float
        ({"tags": '["a", "b"]'}, {"tags": ["a", "b"]}),
        ({"order_id": "42"}, {"order_id": "42"}),  # a text field is never parsed
        ({"note": "null"}, {"note": "null"}),
    ],
)
def test_typed_text_is_read_for_the_field(typed: dict[str, str], expected: dict[str, Any]) -> None:
    base = {"order_id": "A1", "amount": "1"}
    args = validated(Refund, submitted_args(Refund, _state(**{**base, **typed})))
    assert {k: args[k] for k in expected} == expected


def test_errors_come_back_per_field_by_block_id() -> None:
    with pytest.raises(EditError) as raised:
        validated(Refund, submitted_args(Refund, _state(amount="lots", tags="[1")))
    assert set(raised.value.fields) == {"order_id", "amount", "tags"}
    errors = error_blocks(Refund, raised.value.fields)
    assert set(errors) == {"arg:order_id", "arg:amount", "arg:tags"}
    assert "required" in errors["arg:order_id"].lower()


def test_a_value_too_long_to_prefill_is_not_editable() -> None:
    assert editable(Refund, {"order_id": "A1"})
    assert not editable(Refund, {"order_id": "x" * 3001})


def test_an_edit_runs_shows_and_is_audited() -> None:
    edited = {**PROPOSED, "version": "1.4.1"}
    response = HumanResponse(request_id="t.r1", user="U1", approved=True, edited_args=edited, at=T0)
    thread = _thread(response)
    action = decide(thread, AGENT, delivers=False)
    assert isinstance(action, RunTool) and action.call.args == edited
    proposed = thread.call("c1")
    assert proposed is not None and proposed.args == PROPOSED  # the record stays as proposed
    assert changes(PROPOSED, edited) == {"version": ("1.4.2", "1.4.1")}
    assert "approved: true\nedited_args:\n  service: api\n  version: 1.4.1" in render_events(
        thread, 10_000
    )
    request = thread.request("t.r1")
    assert request is not None
    card = str(decided_card(thread, request, response).blocks)
    assert "Approved with edits by" in card and "1.4.1 _(was 1.4.2)_" in card
    [entry] = audit_entries(_thread(), [response])
    assert entry["args_sha256"] == args_digest(edited) != args_digest(PROPOSED)
    assert entry["proposed_args_sha256"] == args_digest(PROPOSED)
    # Without an edit, nothing changes: the proposal runs and is what the digest names.
    plain = HumanResponse(request_id="t.r1", user="U1", approved=True, at=T0)
    action = decide(_thread(plain), AGENT, delivers=False)
    assert isinstance(action, RunTool) and action.call.args == PROPOSED
    [entry] = audit_entries(_thread(), [plain])
    assert entry["args_sha256"] == args_digest(PROPOSED) and "edited_args" not in entry


MCP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "class": {"type": "string"},  # a keyword: the field is `field_0`
        "_id": {"type": "string"},  # private in pydantic: `field_1`
        "ratio": {"type": "number", "minimum": 0},
        "count": {"type": "integer"},
        "limit": {"anyOf": [{"type": "number"}, {"type": "null"}]},
    },
    "required": ["class", "_id", "ratio"],
    "additionalProperties": False,
}


def test_an_mcp_tools_renamed_and_fractional_arguments_round_trip_unchanged() -> None:
    """Once: `class` and `_id` were shown empty and their inputs named `field_N`, and 0.25
    came back as the text "0.25", which the strict `number` refused; an unchanged
    submission could not be approved."""
    model = args_model("tune", MCP_SCHEMA)
    proposed = {"class": "gold", "_id": "A-1", "ratio": 0.25, "count": 3, "limit": 1.5}
    assert validated(model, proposed) == proposed
    view = edit_modal("tune", model, proposed, "meta")
    inputs = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert {key: element.get("initial_value") for key, element in inputs.items()} == {
        "arg:class": "gold",
        "arg:_id": "A-1",
        "arg:ratio": "0.25",
        "arg:count": "3",
        "arg:limit": "1.5",
    }
    unchanged = _state(**{key[4:]: element["initial_value"] for key, element in inputs.items()})
    assert validated(model, submitted_args(model, unchanged)) == proposed
    edited = _state(**{"class": "silver", "_id": "A-1", "ratio": "2"})
    assert validated(model, submitted_args(model, edited)) == {
        "class": "silver",
        "_id": "A-1",
        "ratio": 2,
    }
    with pytest.raises(EditError) as raised:
        validated(model, submitted_args(model, _state(**{"class": "x", "ratio": "-0.5"})))
    assert set(error_blocks(model, raised.value.fields)) == {"arg:_id", "arg:ratio"}
