"""Golden tests: the prompt and the event log exactly as the model reads them."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agents.deploy.agent import AGENT
from bot.core.context import render_events, render_prompt
from bot.core.events import (
    Done,
    Error,
    Event,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.core.thread import SlackOrigin, Thread
from tests.helpers import T0

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
BIG = [{"name": f"service-{i}", "owner": "platform", "versions": ["1.0", "1.1"]} for i in range(40)]

THREAD = Thread(
    id="th_1",
    agent="deploy",
    origin=SlackOrigin(channel="C1", thread_ts="1.0", user="U1"),
    events=[
        UserMessage(text="deploy api to production", user="U1", at=T0),
        ToolCall(call_id="c0", name="list_services", args={}, at=T0),
        ToolResult(call_id="c0", name="list_services", result=BIG, at=T0),
        ToolCall(call_id="c1", name="list_versions", args={"service": "apx"}, at=T0),
        Error(
            kind="tool", call_id="c1", name="list_versions", message="unknown service 'apx'", at=T0
        ),
        ToolCall(call_id="c2", name="list_versions", args={"service": "api"}, at=T0),
        ToolResult(call_id="c2", name="list_versions", result=["1.4.1", "1.4.2"], at=T0),
        ToolCall(call_id="c2b", name="list_versions", args={"service": "web"}, at=T0),
        ToolResult(call_id="c2b", name="list_versions", result=["2.0.0", "2.1.0"], at=T0),
        ToolCall(
            call_id="c3", name="request_more_information", args={"message": "Which version?"}, at=T0
        ),
        HumanRequest(
            request_id="th_1.r1", kind="question", message="Which version?", call_id="c3", at=T0
        ),
        RequestSent(ref="th_1.r1", channel="slack", at=T0),
        HumanResponse(request_id="th_1.r1", user="U1", answer="1.4.2", at=T0),
        ToolCall(
            call_id="c4",
            name="deploy_service",
            args={"service": "api", "version": "1.4.2", "environment": "production"},
            reason="asked by U1",
            at=T0,
        ),
        HumanRequest(
            request_id="th_1.r2", kind="approval", message="asked by U1", call_id="c4", at=T0
        ),
        HumanResponse(
            request_id="th_1.r2", user="U2", approved=False, comment="freeze: after 17:00", at=T0
        ),
        ToolCall(call_id="c5", name="done_for_now", args={"message": "Not deployed."}, at=T0),
        Done(message="Not deployed.", call_id="c5", at=T0),
    ],
    created_at=T0,
)


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; HITLBOT_UPDATE_GOLDEN=1 rewrites it."""
    path = GOLDEN / name
    if os.environ.get("HITLBOT_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_full_log_within_budget() -> None:
    check_golden("events_full.txt", render_events(THREAD, budget=100_000))


def test_compacted_log_over_budget() -> None:
    text = render_events(THREAD, budget=300)
    check_golden("events_compacted.txt", text)
    # The resolved error is gone, the big old result shortened; recent results stay whole.
    assert "apx" in text and "<error>" not in text
    assert '<list_services_result compacted="true">' in text
    assert "<list_versions_result>\n- 1.4.1\n- 1.4.2\n</list_versions_result>" in text


def test_unresolved_errors_are_kept() -> None:
    thread = THREAD.model_copy(update={"events": THREAD.events[:5]})
    assert (
        "<error>\ntool: list_versions\nmessage: unknown service 'apx'\n</error>"
        in render_events(thread, budget=10)
    )


def test_prompt_template() -> None:
    check_golden(
        "deploy_prompt.md",
        render_prompt(AGENT, THREAD, NOW, prompt=AGENT.prompt.read_text(encoding="utf-8")),
    )


@pytest.mark.parametrize("budget", [50, 500, 5000])
def test_compaction_never_grows_the_log(budget: int) -> None:
    assert len(render_events(THREAD, budget)) <= len(render_events(THREAD, 100_000))


def test_short_results_are_never_compacted_into_longer_ones() -> None:
    events: list[Event] = [UserMessage(text="go", at=T0)]
    for n in range(40):
        events.append(ToolCall(call_id=f"c{n}", name="list_services", args={}, at=T0))
        events.append(ToolResult(call_id=f"c{n}", name="list_services", result=["api"], at=T0))
    thread = THREAD.model_copy(update={"events": events})
    assert len(render_events(thread, budget=10)) <= len(render_events(thread, budget=100_000))
