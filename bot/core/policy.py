"""Approval policy as data, and the decision as a pure function of the thread's events.

A `Rule` says who may approve a tool's calls, how many distinct approvals it takes and
whether the requester may approve their own. The rule is resolved when the request is made
and recorded on the `HumanRequest` (approvers, quorum, excluded), so every later decision
reads only the thread: `tally` says where a request stands from its votes, in any order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from bot.core.events import ApprovalVote, Event, HumanRequest, HumanResponse
from bot.core.refusals import REASONS, Why


@dataclass(frozen=True)
class Rule:
    """Who may decide a tool's calls, and how."""

    approvers: tuple[str, ...] = ()
    """Slack user ids; empty (and no groups): the deployment's (`SLACK_APPROVERS`)."""
    groups: tuple[str, ...] = ()
    """Slack user group ids (`S…`) whose members approve like `approvers`."""
    quorum: int = 1
    """Distinct approvals needed; a single rejection rejects."""
    self_approval: bool = False
    """Whether the requester of a call (whoever asked for it) may approve it."""
    remind_after: float | None = None
    """Seconds after the request that its approvers are reminded, if it is still pending."""
    escalate_after: float | None = None
    """Seconds after the request that its card is posted again to `escalate_to`."""
    escalate_to: str | None = None
    """Slack channel or user id of the escalation."""
    expire_after: float | None = None
    """Seconds after the request that it expires (is rejected, "expired"), if still pending."""
    approval: bool | None = None
    """Whether calls need approval at all, over the tool's own say (its `approval`, or an MCP
    tool's annotations); None keeps the tool's."""


@dataclass(frozen=True)
class Tally:
    """Where an approval request stands."""

    outcome: Literal["pending", "approved", "rejected"]
    approvals: tuple[str, ...] = ()
    """Distinct approvers so far, in the order they approved."""
    needed: int = 1
    rejected_by: str | None = None


@dataclass(frozen=True)
class Vote:
    """One approver's word on a request."""

    user: str
    approved: bool


def tally(request: HumanRequest, votes: Iterable[Vote]) -> Tally:
    """The outcome of `votes` on `request` (pure): any rejection rejects; the quorum of
    distinct approvers approves; a person approving twice counts once."""
    approvals: list[str] = []
    for vote in votes:
        if not vote.approved:
            return Tally("rejected", tuple(approvals), request.quorum, rejected_by=vote.user)
        if vote.user not in approvals:
            approvals.append(vote.user)
    outcome: Literal["pending", "approved"] = (
        "approved" if len(approvals) >= max(request.quorum, 1) else "pending"
    )
    return Tally(outcome, tuple(approvals), request.quorum)


Step = Literal["remind", "escalate", "expire"]


def deadline_steps(request: HumanRequest) -> list[tuple[Step, float]]:
    """The request's deadlines, soonest first, as (step, epoch seconds)."""
    steps: list[tuple[Step, float]] = []
    if request.remind_at is not None:
        steps.append(("remind", request.remind_at.timestamp()))
    if request.escalate_at is not None and request.escalate_to:
        steps.append(("escalate", request.escalate_at.timestamp()))
    if request.expire_at is not None:
        steps.append(("expire", request.expire_at.timestamp()))
    return sorted(steps, key=lambda step: step[1])


def votes_on(events: Iterable[Event], request_id: str) -> list[Vote]:
    """The votes recorded on a request, oldest first (the deciding one last, if decided)."""
    found: list[Vote] = []
    for event in events:
        if isinstance(event, ApprovalVote) and event.request_id == request_id:
            found.append(Vote(event.user, True))
        elif isinstance(event, HumanResponse) and event.request_id == request_id:
            found.append(Vote(event.user, bool(event.approved)))
    return found


def allowed_approvers(
    request: HumanRequest,
    default_approvers: frozenset[str],
    group_members: frozenset[str] = frozenset(),
) -> set[str]:
    """Who the approvers of `request` are: the deployment's, narrowed by the request's own
    (its ids and the members of its groups); with none configured for the deployment, the
    request's own stand alone. A request's `responders` stand alone always."""
    if request.responders:
        return set(request.responders)
    if request.approvers or request.approver_groups:
        own = set(request.approvers) | set(group_members)
        return set(default_approvers) & own if default_approvers else own
    return set(default_approvers)


def refusal_why(
    request: HumanRequest,
    user: str,
    default_approvers: frozenset[str],
    group_members: frozenset[str] = frozenset(),
) -> Why | None:
    """Why `user` may not decide `request` (None if they may), as a `Why` (pure):
    not an approver, or the requester of the call (`excluded`)."""
    allowed = allowed_approvers(request, default_approvers, group_members)
    if not allowed:
        return "nobody"
    if user not in allowed:
        return "not_approver"
    if user in request.excluded:
        return "requester"
    return None


def refusal(
    request: HumanRequest,
    user: str,
    default_approvers: frozenset[str],
    group_members: frozenset[str] = frozenset(),
) -> str | None:
    """Why `user` may not decide `request`, in words, or None if they may (pure).
    `group_members`: the current members of the request's `approver_groups`."""
    why = refusal_why(request, user, default_approvers, group_members)
    return None if why is None else REASONS[why]


@dataclass(frozen=True)
class Policy:
    """The operator's rules by agent and tool (`HITLBOT_POLICY`), over the agents' own."""

    rules: dict[tuple[str, str], Rule] = field(default_factory=dict)

    def rule(self, agent: str, tool: str, declared: Rule) -> Rule:
        """The rule in force for `agent`'s `tool`: the operator's if set, else the agent's."""
        return self.rules.get((agent, tool), declared)


def match_choice(request: HumanRequest, text: str) -> str | None:
    """The choice `text` names (pure): one of the request's choices as written (case and
    surrounding space aside), or its number (`2`, `#2`, `2.`); None if it names none."""
    said = " ".join(text.split()).casefold().strip(" .!")
    for choice in request.choices:
        if " ".join(choice.split()).casefold().strip(" .!") == said:
            return choice
    number = said.lstrip("#").rstrip(".)")
    if number.isdigit() and 1 <= int(number) <= len(request.choices):
        return request.choices[int(number) - 1]
    return None


def pickers(
    request: HumanRequest,
    starter: str | None,
    approvers: frozenset[str],
    group_members: frozenset[str] = frozenset(),
) -> set[str]:
    """Who may answer a choice question: its own `answerers` and the members of its groups
    when it names either (they narrow), else the thread's human and the deployment's
    approvers."""
    if request.answerers or request.approver_groups:
        return {*request.answerers, *group_members}
    return {*approvers, *([starter] if starter else [])}


def pick_refusal(
    request: HumanRequest,
    user: str,
    starter: str | None,
    approvers: frozenset[str],
    group_members: frozenset[str] = frozenset(),
) -> str | None:
    """Why `user` may not answer the choice question `request`, or None if they may (pure)."""
    if not request.only_choices:
        return None
    if user in pickers(request, starter, approvers, group_members):
        return None
    return REASONS["not_picker"]
