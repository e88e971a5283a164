"""Pure tests of what is derived from the events: status, pending request, errors, open call."""

from __future__ import annotations

from bot.core.events import (
    Done,
    Error,
    Failed,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.core.thread import (
    ApiOrigin,
    Thread,
    consecutive_errors,
    open_call,
    pending_request,
    status_of,
    undelivered,
)

ASK = HumanRequest(request_id="t.r1", kind="question", message="which?", call_id="c1")
DEPLOY = ToolCall(call_id="c2", name="deploy_service", args={"environment": "production"})
APPROVAL = HumanRequest(request_id="t.r2", kind="approval", message="prod", call_id="c2")


def test_status_follows_the_last_decisive_event() -> None:
    hello = UserMessage(text="hi")
    assert status_of([]) == "running"
    assert status_of([hello]) == "running"
    assert status_of([hello, ASK]) == "waiting_human"
    assert status_of([hello, DEPLOY, APPROVAL]) == "waiting_approval"
    assert (
        status_of([hello, ASK, HumanResponse(request_id="t.r1", user="u", answer="x")]) == "running"
    )
    assert status_of([hello, Done(message="ok")]) == "done"
    assert status_of([hello, Done(message="ok"), UserMessage(text="again")]) == "running"
    assert status_of([hello, Failed(reason="boom")]) == "failed"
    # Delivery records and results after a pause do not change it.
    assert status_of([hello, ASK, RequestSent(ref="t.r1", channel="slack")]) == "waiting_human"


def test_pending_request_is_the_unanswered_last_one() -> None:
    answered = HumanResponse(request_id="t.r1", user="u", answer="x")
    assert pending_request([ASK]) == ASK
    assert pending_request([ASK, answered]) is None
    assert pending_request([ASK, answered, DEPLOY, APPROVAL]) == APPROVAL
    thread = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=[ASK, answered])
    assert thread.pending_request is None and thread.response_to("t.r1") == answered


def test_error_streak_resets_on_success_or_human_word() -> None:
    err = Error(kind="validation", message="bad")
    ok = ToolResult(call_id="c", name="x", result=1)
    assert consecutive_errors([err, err]) == 2
    assert consecutive_errors([err, ok, err]) == 1
    assert consecutive_errors([err, err, UserMessage(text="try again")]) == 0
    assert consecutive_errors([err, Error(kind="delivery", message="slack down")]) == 1


def test_open_call_needs_no_result_error_or_rejection() -> None:
    assert open_call([DEPLOY]) == DEPLOY
    assert open_call([DEPLOY, ToolResult(call_id="c2", name="deploy_service", result={})]) is None
    assert open_call([DEPLOY, Error(kind="tool", call_id="c2", message="x")]) is None
    approved = HumanResponse(request_id="t.r2", user="u", approved=True)
    rejected = HumanResponse(request_id="t.r2", user="u", approved=False)
    assert open_call([DEPLOY, APPROVAL, approved]) == DEPLOY
    assert open_call([DEPLOY, APPROVAL, rejected]) is None
    ask = ToolCall(call_id="c1", name="request_more_information", args={"message": "which?"})
    assert open_call([ask, ASK]) is None
    done = ToolCall(call_id="c3", name="done_for_now", args={"message": "ok"})
    assert open_call([done, Done(message="ok", call_id="c3")]) is None


def test_undelivered_lists_outbound_events_without_a_record() -> None:
    events = [
        UserMessage(text="hi"),
        ASK,
        RequestSent(ref="t.r1", channel="slack"),
        Done(message="ok"),
    ]
    assert undelivered(events) == [("done:3", events[3])]
    assert undelivered([*events, RequestSent(ref="done:3", channel="slack")]) == []


def test_held_messages_and_delivery_errors_leave_status_and_streak_alone() -> None:
    held = HeldMessage(text="hi", sender="m@evil.example", reason="other sender")
    assert status_of([UserMessage(text="hi"), ASK, held]) == "waiting_human"
    assert status_of([UserMessage(text="hi"), Done(message="ok"), held]) == "done"
    gave_up = Error(kind="delivery", message="550", ref="t.r1")
    assert status_of([UserMessage(text="hi"), ASK, gave_up]) == "waiting_human"
    assert consecutive_errors([gave_up, gave_up]) == 0
    assert undelivered([UserMessage(text="hi"), ASK, gave_up]) == []
