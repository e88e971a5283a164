"""The core's decision of what a human's word becomes (`bot.core.respond`), with plain data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.decide import follow_up
from bot.core.events import (
    ApprovalVote,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    ToolCall,
    UserMessage,
)
from bot.core.policy import Rule
from bot.core.refusals import AlreadyVoted, Forbidden, Invalid, NotAccepting, TooLarge
from bot.core.respond import Answer, Approvers, Deciding, check_decider, message, respond
from bot.core.thread import SlackOrigin, Thread
from bot.core.tools import REQUEST_CHOICE
from tests.helpers import T0

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ORIGIN = SlackOrigin(channel="C1", thread_ts="1.0", user="UBEN")
CALL = ToolCall(call_id="c1", name="deploy_service", args={"service": "api"}, at=T0)


def waiting(request: HumanRequest, *more: object) -> Thread:
    events = [UserMessage(text="go", user="UBEN", at=T0), CALL, request, *more]
    return Thread(id="th_1", agent="deploy", origin=ORIGIN, events=events, created_at=T0)  # type: ignore[arg-type]


def ctx(approvers: Approvers | None, max_chars: int = 1000) -> Deciding:
    return Deciding(now=NOW, max_chars=max_chars, approvers=approvers)


def test_an_approval_becomes_a_vote_a_response_or_a_typed_refusal() -> None:
    request = HumanRequest(
        request_id="th_1.r1", kind="approval", message="ok?", call_id="c1", quorum=2,
        excluded=["UBEN"], at=T0,
    )  # fmt: skip
    who = Approvers(frozenset({"UA", "UB", "UBEN"}))
    thread = waiting(request)
    vote = respond(thread, Answer(request_id="th_1.r1", user="UA", approved=True), ctx(who))
    assert isinstance(vote, ApprovalVote) and vote.at == NOW
    thread = thread.appended(vote)
    with pytest.raises(AlreadyVoted):
        respond(thread, Answer(request_id="th_1.r1", user="UA", approved=True), ctx(who))
    with pytest.raises(Forbidden) as refused:
        respond(thread, Answer(request_id="th_1.r1", user="UBEN", approved=True), ctx(who))
    assert refused.value.why == "requester" and refused.value.status == 403
    with pytest.raises(Forbidden) as refused:
        respond(thread, Answer(request_id="th_1.r1", user="UX", approved=True), ctx(who))
    assert refused.value.why == "not_approver" and refused.value.allowed == {"UA", "UB", "UBEN"}
    with pytest.raises(Invalid):
        respond(thread, Answer(request_id="th_1.r1", user="UB", answer="yes"), ctx(who))
    with pytest.raises(TooLarge):
        long = Answer(request_id="th_1.r1", user="UB", approved=False, comment="x" * 11)
        respond(thread, long, ctx(who, max_chars=10))
    done = respond(thread, Answer(request_id="th_1.r1", user="UB", approved=True), ctx(who))
    assert isinstance(done, HumanResponse) and done.approved is True
    # Trusted (no approvers given): anyone's word counts, the requester's too.
    trusted = respond(thread, Answer(request_id="th_1.r1", user="UBEN", approved=True), ctx(None))
    assert isinstance(trusted, HumanResponse)


def test_a_vote_of_someone_who_left_the_approvers_no_longer_counts() -> None:
    request = HumanRequest(
        request_id="th_1.r1", kind="approval", message="ok?", call_id="c1", quorum=2, at=T0
    )
    thread = waiting(request, ApprovalVote(request_id="th_1.r1", user="UA", at=T0))
    before = Approvers(frozenset({"UA", "UB", "UC"}))
    answer = Answer(request_id="th_1.r1", user="UB", approved=True)
    assert isinstance(respond(thread, answer, ctx(before)), HumanResponse)
    after = Approvers(frozenset({"UB", "UC"}))  # UA left SLACK_APPROVERS since voting
    assert isinstance(respond(thread, answer, ctx(after)), ApprovalVote)
    # The same for a group: a member who left it no longer counts.
    grouped = request.model_copy(update={"approver_groups": ["SOPS"]})
    thread = waiting(grouped, ApprovalVote(request_id="th_1.r1", user="UA", at=T0))
    stale = Approvers(frozenset(), members=frozenset({"UB"}))
    assert isinstance(respond(thread, answer, ctx(stale)), ApprovalVote)


def test_a_groups_only_choice_rule_narrows_who_may_pick() -> None:
    call = ToolCall(
        call_id="c2",
        name=REQUEST_CHOICE.name,
        args={"message": "which?", "choices": ["a", "b"]},
        at=T0,
    )
    base = waiting(HumanRequest(request_id="th_1.r0", kind="question", message="x", at=T0))
    [request] = follow_up(base, call, False, Rule(groups=("SOPS",)), "th_1.r2", NOW)
    assert isinstance(request, HumanRequest) and request.approver_groups == ["SOPS"]
    thread = base.appended(call, request)
    who = Approvers(frozenset({"UA"}), members=frozenset({"UOPS"}))
    pick = Answer(request_id="th_1.r2", user="UA", answer="a")
    with pytest.raises(Forbidden) as refused:
        respond(thread, pick, ctx(who))  # a deployment approver, but not in the group
    assert refused.value.why == "not_picker" and refused.value.allowed == {"UOPS"}
    ops = respond(thread, pick.model_copy(update={"user": "UOPS"}), ctx(who))
    assert isinstance(ops, HumanResponse) and ops.answer == "a"
    held = message(thread, "a", "UBEN", None, ctx(who))  # the thread's human: not either
    assert isinstance(held, HeldMessage)


def test_a_message_answers_starts_a_turn_or_is_refused_during_an_approval() -> None:
    question = HumanRequest(request_id="th_1.r1", kind="question", message="which?", at=T0)
    thread = waiting(question)
    who = Approvers(frozenset({"UA"}))
    assert isinstance(message(thread, "1.4.2", "UBEN", None, ctx(who)), HumanResponse)
    stranger = message(thread, "1.4.2", "UZ", None, ctx(who), answerers=frozenset({"UA"}))
    assert isinstance(stranger, HeldMessage)
    approval = HumanRequest(
        request_id="th_1.r1", kind="approval", message="ok?", call_id="c1", at=T0
    )
    with pytest.raises(NotAccepting):
        message(waiting(approval), "hello", "UBEN", None, ctx(who))
    with pytest.raises(Forbidden, match="may not decide"):
        check_decider(approval, "UZ", who)
