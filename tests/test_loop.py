"""Pure tests of `decide`: what the loop does next, from plain data."""

from __future__ import annotations

from agents.deploy.agent import AGENT as DEPLOY_AGENT
from bot.core.agent import Agent
from bot.core.decide import AskForHelp, CallModel, Deliver, RunPrefetch, RunTool, Stop, decide
from bot.core.events import (
    Done,
    Error,
    Event,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.core.thread import ApiOrigin, Thread
from tests.helpers import T0

PLAIN = Agent(name="plain", description="", prompt=DEPLOY_AGENT.prompt, tools=DEPLOY_AGENT.tools)
LISTED = ToolCall(call_id="c0", name="list_services", args={}, at=T0)
LISTED_OK = ToolResult(call_id="c0", name="list_services", result=["api"], at=T0)


def thread(*events: Event) -> Thread:
    return Thread(
        id="t",
        agent="deploy",
        origin=ApiOrigin(),
        events=[UserMessage(text="go", at=T0), *events],
        created_at=T0,
    )


def test_first_step_prefetches_then_calls_the_model() -> None:
    assert decide(thread(), DEPLOY_AGENT, delivers=False) == RunPrefetch(DEPLOY_AGENT.prefetch)
    assert decide(thread(LISTED, LISTED_OK), DEPLOY_AGENT, delivers=False) == CallModel()
    assert decide(thread(), PLAIN, delivers=False) == CallModel()


def test_recorded_call_runs_unless_it_waits_for_approval() -> None:
    call = ToolCall(call_id="c1", name="deploy_service", args={}, at=T0)
    request = HumanRequest(request_id="t.r1", kind="approval", message="", call_id="c1", at=T0)
    assert decide(thread(call), PLAIN, delivers=False) == RunTool(call)
    assert decide(thread(call, request), PLAIN, delivers=False) == Stop("waiting_approval")
    yes = HumanResponse(request_id="t.r1", user="u", approved=True, at=T0)
    assert decide(thread(call, request, yes), PLAIN, delivers=False) == RunTool(call)
    no = HumanResponse(request_id="t.r1", user="u", approved=False, comment="no", at=T0)
    assert decide(thread(call, request, no), PLAIN, delivers=False) == CallModel()


def test_finished_call_never_runs_again() -> None:
    call = ToolCall(call_id="c1", name="deploy_service", args={}, at=T0)
    result = ToolResult(call_id="c1", name="deploy_service", result={}, at=T0)
    assert decide(thread(call, result), PLAIN, delivers=False) == CallModel()


def test_three_errors_ask_for_help() -> None:
    errors = [Error(kind="validation", message=f"bad {i}", at=T0) for i in range(3)]
    assert decide(thread(*errors[:2]), PLAIN, delivers=False) == CallModel()
    assert decide(thread(*errors), PLAIN, delivers=False) == AskForHelp("bad 2")


def test_outbound_events_are_delivered_before_stopping() -> None:
    request = HumanRequest(request_id="t.r1", kind="question", message="?", at=T0)
    assert decide(thread(request), PLAIN, delivers=True) == Deliver("t.r1", request)
    assert decide(thread(request), PLAIN, delivers=False) == Stop("waiting_human")
    sent = RequestSent(ref="t.r1", channel="slack", at=T0)
    assert decide(thread(request, sent), PLAIN, delivers=True) == Stop("waiting_human")
    done = Done(message="ok", at=T0)
    assert decide(thread(done), PLAIN, delivers=True) == Deliver("done:1", done)
    assert decide(thread(done), PLAIN, delivers=False) == Stop("done")


def test_an_outbound_event_given_up_on_is_not_delivered_again() -> None:
    request = HumanRequest(request_id="t.r1", kind="question", message="?", at=T0)
    gave_up = Error(kind="delivery", message="550 no such user", ref="t.r1", at=T0)
    assert decide(thread(request, gave_up), PLAIN, delivers=True) == Stop("waiting_human")
    done = Done(message="ok", at=T0)
    assert decide(
        thread(done, Error(kind="delivery", message="x", ref="done:1", at=T0)), PLAIN, True
    ) == (Stop("done"))


def test_a_held_message_resumes_nothing() -> None:
    request = HumanRequest(request_id="t.r1", kind="question", message="?", at=T0)
    sent = RequestSent(ref="t.r1", channel="email", at=T0)
    held = HeldMessage(text="hi", sender="m@evil.example", reason="not the thread's human", at=T0)
    assert decide(thread(request, sent, held), PLAIN, delivers=True) == Stop("waiting_human")
    assert decide(thread(Done(message="ok", at=T0), held), PLAIN, delivers=False) == Stop("done")
