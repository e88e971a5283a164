"""The offline model's rules, one by one, on contexts rendered by the real renderer."""

from __future__ import annotations

from typing import Any

import pytest

import agents
from bot.config import NotConfigured, Settings
from bot.core.context import render_events, render_prompt
from bot.core.events import (
    Error,
    Event,
    HumanRequest,
    HumanResponse,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.core.model import ModelCall
from bot.core.thread import ApiOrigin, Thread
from bot.llm.offline.eventlog import parse
from bot.llm.offline.model import OfflineModel
from bot.runtime.discovery import find, shipped
from bot.runtime.wiring import model_from
from tests.helpers import T0

AGENTS = shipped()

FOUND = find(agents)

SERVICES = ["api", "billing", "web"]


async def next_call(agent: str, events: list[Event], tools: list[str] | None = None) -> ModelCall:
    """What the offline model picks for a thread of `agent` with `events`."""
    thread = Thread(id="th_1", agent=agent, origin=ApiOrigin(), events=events, created_at=T0)
    spec = AGENTS[agent]
    schemas = [tool.schema() for tool in spec.local_tools.values()]
    if tools is not None:
        schemas = [{"name": name, "input_schema": {"type": "object"}} for name in tools]
    return await OfflineModel(FOUND.rules, FOUND.agents).next_call(
        system=render_prompt(spec, thread, T0, prompt=spec.prompt.read_text(encoding="utf-8")),
        context=render_events(thread, 6000),
        tools=schemas,
    )


def ran(name: str, args: dict[str, Any], result: Any, call_id: str = "c1") -> list[Event]:
    return [
        ToolCall(call_id=call_id, name=name, args=args, at=T0),
        ToolResult(call_id=call_id, name=name, result=result, at=T0),
    ]


def deploy_thread(text: str, *more: Event) -> list[Event]:
    return [UserMessage(text=text, at=T0), *ran("list_services", {}, SERVICES, "c0"), *more]


def versions(service: str = "api") -> list[Event]:
    return ran("list_versions", {"service": service}, ["1.4.0", "1.4.1", "1.4.2"], "c1")


def asked(message: str, request_id: str = "r1") -> HumanRequest:
    return HumanRequest(
        request_id=request_id, kind="question", message=message, call_id="q1", at=T0
    )


def answer(text: str, request_id: str = "r1") -> HumanResponse:
    return HumanResponse(request_id=request_id, user="ana", answer=text, at=T0)


# -- deploy ------------------------------------------------------------------------------


async def test_deploy_lists_services_when_it_does_not_know_them() -> None:
    call = await next_call("deploy", [UserMessage(text="deploy api 1.4.2 to production", at=T0)])
    assert call.name == "list_services"


async def test_deploy_lists_the_versions_of_the_named_service_first() -> None:
    call = await next_call("deploy", deploy_thread("please deploy API 1.4.2 to prod"))
    assert call.name == "list_versions" and call.args["service"] == "api"
    assert call.args["reason"].startswith("(offline model)")


async def test_deploy_deploys_a_known_version() -> None:
    call = await next_call("deploy", deploy_thread("deploy api 1.4.2 to production", *versions()))
    assert call.name == "deploy_service"
    assert {k: call.args[k] for k in ("service", "version", "environment")} == {
        "service": "api",
        "version": "1.4.2",
        "environment": "production",
    }


async def test_deploy_asks_for_the_service_with_the_known_ones_as_choices() -> None:
    call = await next_call("deploy", deploy_thread("deploy 1.4.2 to staging"))
    assert call.name == "request_more_information"
    assert call.args["choices"] == SERVICES


async def test_deploy_asks_for_a_version_newest_first() -> None:
    call = await next_call("deploy", deploy_thread("deploy api to staging", *versions()))
    assert call.name == "request_more_information"
    assert call.args["choices"] == ["1.4.2", "1.4.1", "1.4.0"]


async def test_deploy_asks_again_for_a_version_the_service_does_not_have() -> None:
    call = await next_call("deploy", deploy_thread("deploy api 9.9.9 to staging", *versions()))
    assert call.name == "request_more_information"
    assert "no version 9.9.9" in call.args["message"]


async def test_deploy_asks_for_the_environment_then_takes_the_answer() -> None:
    events = deploy_thread("deploy api 1.4.1", *versions())
    call = await next_call("deploy", events)
    assert call.name == "request_more_information"
    assert call.args["choices"] == ["staging", "production"]
    events += [ToolCall(call_id="q1", name=call.name, args={}, at=T0), asked(call.args["message"])]
    call = await next_call("deploy", [*events, answer("staging")])
    assert call.name == "deploy_service" and call.args["environment"] == "staging"
    assert call.args["version"] == "1.4.1"


async def test_deploy_reports_a_finished_deploy() -> None:
    args = {"service": "api", "version": "1.4.2", "environment": "staging"}
    events = deploy_thread("deploy api 1.4.2 to staging", *versions())
    events += ran("deploy_service", args, {"status": "deployed", **args}, "c2")
    call = await next_call("deploy", events)
    assert call.name == "done_for_now"
    assert call.args["message"] == "Deployed api 1.4.2 to staging."


async def test_deploy_reports_a_rejection_with_its_reason() -> None:
    args = {"service": "api", "version": "1.4.2", "environment": "production"}
    events = deploy_thread("deploy api 1.4.2 to production", *versions())
    events += [
        ToolCall(call_id="c2", name="deploy_service", args=args, at=T0),
        HumanRequest(request_id="r2", kind="approval", message="ok?", call_id="c2", at=T0),
        HumanResponse(
            request_id="r2", user="ana", approved=False, comment="freeze until Monday", at=T0
        ),
    ]
    call = await next_call("deploy", events)
    assert call.name == "done_for_now"
    assert "rejected" in call.args["message"] and "freeze until Monday" in call.args["message"]


async def test_deploy_reports_a_failed_deploy() -> None:
    args = {"service": "api", "version": "1.4.2", "environment": "staging"}
    events = deploy_thread("deploy api 1.4.2 to staging", *versions())
    events += [
        ToolCall(call_id="c2", name="deploy_service", args=args, at=T0),
        Error(
            kind="tool", call_id="c2", name="deploy_service", message="webhook answered 500", at=T0
        ),
    ]
    call = await next_call("deploy", events)
    assert call.name == "done_for_now" and "webhook answered 500" in call.args["message"]


async def test_deploy_a_new_turn_starts_afresh() -> None:
    args = {"service": "api", "version": "1.4.2", "environment": "staging"}
    events = deploy_thread("deploy api 1.4.2 to staging", *versions())
    events += ran("deploy_service", args, {"status": "deployed"}, "c2")
    call = await next_call("deploy", [*events, UserMessage(text="now web 2.1.0 to staging", at=T0)])
    assert call.name == "list_versions" and call.args["service"] == "web"


# -- support -----------------------------------------------------------------------------

ORDER = {
    "order_id": "A1001",
    "customer": "ana@example.com",
    "item": "Espresso machine",
    "total": 249.0,
    "currency": "EUR",
    "status": "delivered",
    "placed": "2026-10-02",
    "refunded": "0",
}


async def test_support_asks_for_the_order_number() -> None:
    call = await next_call("support", [UserMessage(text="My machine arrived broken", at=T0)])
    assert call.name == "request_more_information" and "order number" in call.args["message"]


async def test_support_looks_the_order_up() -> None:
    call = await next_call("support", [UserMessage(text="Refund for order a1001 please", at=T0)])
    assert call.name == "lookup_order" and call.args["order_id"] == "A1001"


async def test_support_asks_again_for_an_unknown_order() -> None:
    events: list[Event] = [
        UserMessage(text="Where is Z9999?", at=T0),
        ToolCall(call_id="c1", name="lookup_order", args={"order_id": "Z9999"}, at=T0),
        Error(kind="tool", call_id="c1", name="lookup_order", message="no order 'Z9999'", at=T0),
    ]
    call = await next_call("support", events)
    assert call.name == "request_more_information" and "Z9999" in call.args["message"]


async def test_support_proposes_a_refund_of_what_is_left() -> None:
    events = [
        UserMessage(text="A1001 arrived broken, I want a refund", at=T0),
        *ran("lookup_order", {"order_id": "A1001"}, ORDER | {"refunded": "49.00"}),
    ]
    call = await next_call("support", events)
    assert call.name == "issue_refund"
    assert call.args["order_id"] == "A1001" and call.args["amount"] == "200.00"
    assert "broken" in call.args["reason"]


async def test_support_refunds_the_amount_the_customer_names() -> None:
    events = [
        UserMessage(text="Please refund €20 on A1001, the box was damaged", at=T0),
        *ran("lookup_order", {"order_id": "A1001"}, ORDER),
    ]
    call = await next_call("support", events)
    assert call.name == "issue_refund" and call.args["amount"] == "20.00"


async def test_support_answers_with_the_order_status_when_no_refund_is_asked() -> None:
    events = [
        UserMessage(text="Where is A1001?", at=T0),
        *ran("lookup_order", {"order_id": "A1001"}, ORDER),
    ]
    call = await next_call("support", events)
    assert call.name == "done_for_now"
    assert "delivered" in call.args["message"] and call.args["message"].endswith("support team")


@pytest.mark.parametrize(
    ("follow", "expected"),
    [
        (
            [ToolResult(call_id="c2", name="issue_refund", result={"currency": "EUR"}, at=T0)],
            "We have refunded 249 EUR on order A1001.",
        ),
        ([HumanResponse(request_id="r2", user="x", approved=False, comment="used", at=T0)], "used"),
        ([Error(kind="tool", call_id="c2", name="issue_refund", message="over", at=T0)], "over"),
    ],
)
async def test_support_reports_the_refund(follow: list[Event], expected: str) -> None:
    events: list[Event] = [
        UserMessage(text="refund A1001", at=T0),
        *ran("lookup_order", {"order_id": "A1001"}, ORDER),
        ToolCall(
            call_id="c2", name="issue_refund", args={"order_id": "A1001", "amount": "249"}, at=T0
        ),
        HumanRequest(request_id="r2", kind="approval", message="ok?", call_id="c2", at=T0),
        *follow,
    ]
    call = await next_call("support", events)
    assert call.name == "done_for_now" and expected in call.args["message"]


# -- any other agent, and the log parser -------------------------------------------------


async def test_an_agent_without_rules_fails_saying_so() -> None:
    with pytest.raises(
        NotConfigured, match="offline model has no rules for agent 'deploy'.*ANTHROPIC"
    ):
        await next_call(
            "deploy", [UserMessage(text="hi", at=T0)], tools=["summarise", "done_for_now"]
        )


def test_the_parser_reads_tags_self_closing_tags_and_compacted_results() -> None:
    entries = parse(
        "<user_message>\nhello\n<b>not a tag</b>\n</user_message>\n<list_services />\n"
        '<list_services_result compacted="true">\n- api …\n</list_services_result>'
    )
    assert [(e.tag, e.data) for e in entries] == [
        ("user_message", None),
        ("list_services", None),
        ("list_services_result", None),
    ]
    assert entries[0].text == "hello\n<b>not a tag</b>"


@pytest.mark.parametrize(
    ("env", "offline", "model"),
    [
        ({}, True, "OfflineModel"),
        ({"HITLBOT_MODEL": "offline", "ANTHROPIC_API_KEY": "sk-x"}, True, "OfflineModel"),
        ({"ANTHROPIC_API_KEY": "sk-x"}, False, "AnthropicModel"),
        # A Claude model named without a key fails saying the key is missing, not offline.
        ({"HITLBOT_MODEL": "claude-x"}, False, "MissingCredentials"),
    ],
)
async def test_the_offline_model_is_the_default_without_a_key(
    env: dict[str, str], offline: bool, model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HITLBOT_MODEL", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings(_env_file=None)
    assert settings.offline_model() is offline
    assert settings.model_label() == ("offline" if offline else settings.model)
    chosen = model_from(settings)
    assert type(chosen).__name__ == model
    await chosen.aclose()
