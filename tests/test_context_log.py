"""The incremental event log: `render_events` renders exactly what `render_events_full` does,
however the thread's events grew between renders (appends, a render of an earlier moment, a
branch, a list rebuilt from other objects), at any budget."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.context import ContextCache, render_events, render_events_full
from bot.core.events import Done, Error, Event, HumanRequest, HumanResponse, ToolCall, ToolResult
from bot.core.events import UserMessage as Message
from bot.core.thread import ApiOrigin, Thread
from tests.helpers import T0

_ids = itertools.count()
CACHE = ContextCache()
"""The logs kept between renders, as a process keeps them (each test's threads have ids of
their own)."""

event = st.one_of(
    st.builds(Message, text=st.text(alphabet="ab ", max_size=40)),
    st.builds(ToolCall, call_id=st.just("c1"), name=st.just("list_services"), args=st.just({})),
    # Results short and long: compacting a short one would lengthen it, so it stays whole.
    st.builds(
        ToolResult,
        call_id=st.just("c1"),
        name=st.just("list_services"),
        result=st.lists(st.text(alphabet="xyz", min_size=1, max_size=60), max_size=6),
    ),
    st.builds(
        Error,
        kind=st.sampled_from(["validation", "tool"]),
        message=st.text(alphabet="err ", min_size=1, max_size=60),
        name=st.none() | st.just("deploy_service"),
    ),
    st.builds(
        HumanRequest, request_id=st.just("t.r1"), kind=st.just("approval"), message=st.just("?")
    ),
    st.builds(HumanResponse, request_id=st.just("t.r1"), user=st.just("u"), approved=st.booleans()),
    st.builds(Done, message=st.just("ok")),
)
budgets = st.integers(min_value=0, max_value=300)


def _thread(thread_id: str, events: list[Event]) -> Thread:
    return Thread(id=thread_id, agent="deploy", origin=ApiOrigin(), events=events, created_at=T0)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(event, max_size=40),
    st.lists(st.integers(min_value=0, max_value=40), max_size=6),
    st.lists(budgets, min_size=1, max_size=3),
)
def test_incremental_render_equals_the_full_one(
    events: list[Event], cuts: list[int], budgets_: list[int]
) -> None:
    """Renders at growing, shrinking and repeated lengths of one thread, as steps and the
    playground make them, each at several budgets."""
    thread_id = f"t{next(_ids)}"
    thread = _thread(thread_id, [])
    for cut in [*cuts, len(events)]:
        if cut >= len(thread.events):
            thread = thread.appended(*events[len(thread.events) : cut])
        else:  # an earlier moment of the same thread
            thread = thread.model_copy(update={"events": thread.events[:cut]})
        for budget in budgets_:
            assert render_events(thread, budget, CACHE) == render_events_full(thread, budget)


@settings(max_examples=200, deadline=None)
@given(st.lists(event, max_size=30), st.lists(event, max_size=10), budgets)
def test_a_branch_or_a_rebuilt_list_is_not_read_as_an_extension(
    events: list[Event], other: list[Event], budget: int
) -> None:
    """Another history under the same thread id (a conflict's fresh load, a reload from
    Redis: equal events, other objects) renders as its own."""
    thread_id = f"b{next(_ids)}"
    head = _thread(thread_id, events)
    assert render_events(head, budget, CACHE) == render_events_full(head, budget)
    split = len(events) // 2
    branch = _thread(thread_id, [*events[:split], *other])
    assert render_events(branch, budget, CACHE) == render_events_full(branch, budget)
    copies = [e.model_copy() for e in events]
    reloaded = _thread(thread_id, [*copies, *other])
    assert render_events(reloaded, budget, CACHE) == render_events_full(reloaded, budget)
    longer = head.appended(*other)
    assert render_events(longer, budget, CACHE) == render_events_full(longer, budget)


def test_every_length_of_a_long_thread_at_a_tight_budget() -> None:
    """A thread like the step bench's (results, errors now and then), rendered after every
    append under budgets that drop errors and compact results: the same text as the full one."""
    long_result = [f"service-{n:03d}" for n in range(12)]
    events: list[Event] = [Message(text="deploy api", at=T0)]
    for n in range(120):
        events.append(ToolCall(call_id=f"c{n}", name="list_services", args={}, at=T0))
        if n % 7 == 3:
            events.append(Error(kind="tool", message=f"timeout {n}", name="list_services", at=T0))
        result = long_result if n % 3 else ["api"]
        events.append(ToolResult(call_id=f"c{n}", name="list_services", result=result, at=T0))
    thread = _thread(f"l{next(_ids)}", [])
    compacted = dropped = 0
    for event in events:
        thread = thread.appended(event)
        for budget in (150, 600, 2000):
            text = render_events(thread, budget, CACHE)
            assert text == render_events_full(thread, budget)
            compacted += 'compacted="true"' in text
            dropped += "<error>" not in text and any(isinstance(e, Error) for e in thread.events)
    assert compacted and dropped  # both paths were taken
