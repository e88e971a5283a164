"""Property tests of the reducer: any event history yields a coherent status and action."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agents.deploy.agent import AGENT
from bot.core.decide import Deliver, RunTool, Stop, decide
from bot.core.events import (
    EVENTS,
    ApprovalVote,
    Cancelled,
    DeadlinePassed,
    Done,
    Error,
    Event,
    Failed,
    Feedback,
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
    edited_args,
    open_call,
    pending_request,
    status_of,
    undelivered,
)
from tests.helpers import T0

ids = st.sampled_from(["c1", "c2", "c3"])
requests = st.sampled_from(["t.r1", "t.r2"])
event = st.one_of(
    st.builds(UserMessage, text=st.text(max_size=5)),
    st.builds(
        ToolCall,
        call_id=ids,
        name=st.sampled_from(["deploy_service", "list_services"]),
        args=st.just({}),
    ),
    st.builds(ToolResult, call_id=ids, name=st.just("list_services"), result=st.just([])),
    st.builds(
        Error,
        kind=st.sampled_from(["validation", "tool"]),
        message=st.just("x"),
        call_id=st.none() | ids,
    ),
    st.builds(
        HumanRequest,
        request_id=requests,
        kind=st.sampled_from(["question", "approval"]),
        message=st.just("?"),
        call_id=ids,
    ),
    st.builds(
        HumanResponse,
        request_id=requests,
        user=st.just("u"),
        approved=st.none() | st.booleans(),
        edited_args=st.none() | st.just({"version": "1.4.1"}),
    ),
    st.builds(RequestSent, ref=requests, channel=st.just("slack")),
    st.builds(Done, message=st.just("ok")),
    st.builds(Failed, reason=st.just("boom")),
    st.builds(Error, kind=st.just("delivery"), message=st.just("550"), ref=requests),
    st.builds(HeldMessage, text=st.just("hi"), sender=st.just("m@x"), reason=st.just("other")),
    st.builds(ApprovalVote, request_id=requests, user=st.just("u")),
    st.builds(DeadlinePassed, request_id=requests, step=st.sampled_from(["remind", "expire"])),
    st.builds(
        Cancelled,
        user=st.just("u"),
        via=st.just("api"),
        withdrawn=st.lists(requests, max_size=2),
    ),
    st.builds(Feedback, user=st.just("u"), rating=st.just("down"), ref=st.just("done:0")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=12), st.booleans())
def test_decide_is_total_and_consistent(events: list[Event], delivers: bool) -> None:
    thread = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=events, created_at=T0)
    action = decide(thread, AGENT, delivers)
    status = thread.status
    if status.startswith("waiting"):
        assert thread.pending_request is not None
    if isinstance(action, Stop):
        assert action.reason == status != "running"
    if isinstance(action, RunTool):
        assert status == "running"
        assert not any(
            isinstance(e, ToolResult) and e.call_id == action.call.call_id for e in events
        )
        # What runs is the approver's edit if there is one, else the call as proposed.
        proposed = thread.call(action.call.call_id)
        assert proposed is not None
        assert action.call.args == (edited_args(events, proposed.call_id) or proposed.args)
    if not delivers:
        assert not isinstance(action, Deliver)
    if isinstance(action, Deliver):  # an event given up on is never tried again
        assert not any(isinstance(e, Error) and e.ref == action.ref for e in events)
    assert EVENTS.validate_json(EVENTS.dump_json(events)) == events


@settings(max_examples=500, deadline=None)
@given(st.lists(event, max_size=16), st.integers(min_value=0, max_value=16))
def test_folded_facts_agree_with_the_scans(events: list[Event], split: int) -> None:
    """`Thread`'s derived state (folded once, extended on append) is exactly what scanning the
    whole event list says, however the list was built up."""
    whole = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=events, created_at=T0)
    built = whole.model_copy(update={"events": events[:split]}).appended(*events[split:])
    for thread in (whole, built):
        assert thread.status == status_of(events)
        assert thread.pending_request == pending_request(events)
        assert thread.consecutive_errors == consecutive_errors(events)
        assert thread.open_call == open_call(events)
        assert thread.undelivered == undelivered(events)
        for request_id in ("t.r1", "t.r2"):
            assert thread.request(request_id) == next(
                (e for e in events if isinstance(e, HumanRequest) and e.request_id == request_id),
                None,
            )
            assert thread.response_to(request_id) == next(
                (e for e in events if isinstance(e, HumanResponse) and e.request_id == request_id),
                None,
            )
        for call_id in ("c1", "c2", "c3"):
            assert thread.call(call_id) == next(
                (e for e in events if isinstance(e, ToolCall) and e.call_id == call_id), None
            )
            assert thread.edited_args(call_id) == edited_args(events, call_id)
    assert whole == built


@settings(max_examples=300, deadline=None)
@given(st.lists(event, max_size=16), st.integers(min_value=0, max_value=16))
def test_a_thread_appended_from_still_answers_for_its_own_events(
    events: list[Event], split: int
) -> None:
    """An append folds the new events into the derived state it takes over; the thread it
    came from, and a copy sharing its state, still answer for their own, shorter, list."""
    short = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=events[:split], created_at=T0)
    assert short.status == status_of(events[:split])  # its state is folded, then taken over
    copy = short.model_copy(update={"version": 3})
    longer = short.appended(*events[split:])
    again = short.appended(*events[split:])
    for thread, seen in ((short, events[:split]), (copy, events[:split]), (longer, events)):
        assert thread.status == status_of(seen)
        assert thread.open_call == open_call(seen)
        assert thread.undelivered == undelivered(seen)
        assert thread.consecutive_errors == consecutive_errors(seen)
    assert again.undelivered == longer.undelivered == undelivered(events)
