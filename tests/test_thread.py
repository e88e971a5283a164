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
from tests.helpers import T0

ASK = HumanRequest(request_id="t.r1", kind="question", message="which?", call_id="c1", at=T0)
DEPLOY = ToolCall(call_id="c2", name="deploy_service", args={"environment": "production"}, at=T0)
APPROVAL = HumanRequest(request_id="t.r2", kind="approval", message="prod", call_id="c2", at=T0)


def test_status_follows_the_last_decisive_event() -> None:
    hello = UserMessage(text="hi", at=T0)
    assert status_of([]) == "running"
    assert status_of([hello]) == "running"
    assert status_of([hello, ASK]) == "waiting_human"
    assert status_of([hello, DEPLOY, APPROVAL]) == "waiting_approval"
    assert (
        status_of([hello, ASK, HumanResponse(request_id="t.r1", user="u", answer="x", at=T0)])
        == "running"
    )
    assert status_of([hello, Done(message="ok", at=T0)]) == "done"
    assert (
        status_of([hello, Done(message="ok", at=T0), UserMessage(text="again", at=T0)]) == "running"
    )
    assert status_of([hello, Failed(reason="boom", at=T0)]) == "failed"
    # Delivery records and results after a pause do not change it.
    assert (
        status_of([hello, ASK, RequestSent(ref="t.r1", channel="slack", at=T0)]) == "waiting_human"
    )


def test_pending_request_is_the_unanswered_last_one() -> None:
    answered = HumanResponse(request_id="t.r1", user="u", answer="x", at=T0)
    assert pending_request([ASK]) == ASK
    assert pending_request([ASK, answered]) is None
    assert pending_request([ASK, answered, DEPLOY, APPROVAL]) == APPROVAL
    thread = Thread(
        id="t", agent="deploy", origin=ApiOrigin(), events=[ASK, answered], created_at=T0
    )
    assert thread.pending_request is None and thread.response_to("t.r1") == answered


def test_error_streak_resets_on_success_or_human_word() -> None:
    err = Error(kind="validation", message="bad", at=T0)
    ok = ToolResult(call_id="c", name="x", result=1, at=T0)
    assert consecutive_errors([err, err]) == 2
    assert consecutive_errors([err, ok, err]) == 1
    assert consecutive_errors([err, err, UserMessage(text="try again", at=T0)]) == 0
    assert consecutive_errors([err, Error(kind="delivery", message="slack down", at=T0)]) == 1


def test_open_call_needs_no_result_error_or_rejection() -> None:
    assert open_call([DEPLOY]) == DEPLOY
    assert (
        open_call([DEPLOY, ToolResult(call_id="c2", name="deploy_service", result={}, at=T0)])
        is None
    )
    assert open_call([DEPLOY, Error(kind="tool", call_id="c2", message="x", at=T0)]) is None
    approved = HumanResponse(request_id="t.r2", user="u", approved=True, at=T0)
    rejected = HumanResponse(request_id="t.r2", user="u", approved=False, at=T0)
    assert open_call([DEPLOY, APPROVAL, approved]) == DEPLOY
    assert open_call([DEPLOY, APPROVAL, rejected]) is None
    ask = ToolCall(call_id="c1", name="request_more_information", args={"message": "which?"}, at=T0)
    assert open_call([ask, ASK]) is None
    done = ToolCall(call_id="c3", name="done_for_now", args={"message": "ok"}, at=T0)
    assert open_call([done, Done(message="ok", call_id="c3", at=T0)]) is None


def test_undelivered_lists_outbound_events_without_a_record() -> None:
    events = [
        UserMessage(text="hi", at=T0),
        ASK,
        RequestSent(ref="t.r1", channel="slack", at=T0),
        Done(message="ok", at=T0),
    ]
    assert undelivered(events) == [("done:3", events[3])]
    assert undelivered([*events, RequestSent(ref="done:3", channel="slack", at=T0)]) == []


def test_held_messages_and_delivery_errors_leave_status_and_streak_alone() -> None:
    held = HeldMessage(text="hi", sender="m@evil.example", reason="other sender", at=T0)
    assert status_of([UserMessage(text="hi", at=T0), ASK, held]) == "waiting_human"
    assert status_of([UserMessage(text="hi", at=T0), Done(message="ok", at=T0), held]) == "done"
    gave_up = Error(kind="delivery", message="550", ref="t.r1", at=T0)
    assert status_of([UserMessage(text="hi", at=T0), ASK, gave_up]) == "waiting_human"
    assert consecutive_errors([gave_up, gave_up]) == 0
    assert undelivered([UserMessage(text="hi", at=T0), ASK, gave_up]) == []
