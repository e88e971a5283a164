"""What a human's word becomes (pure): an answer, a vote, an edit, a pick or a message, turned
into the event to append or a typed refusal (`bot.core.refusals`).

Every channel asks here, and only here: the service before it commits (on the version it
commits on), and a channel's pre-check before it opens a form or marks a message (Slack's
buttons and modals). The shell resolves who the approvers are once (`Approvers`: the
deployment's list and the current members of the request's groups) and passes them in with
`now`; nothing here reads a setting, a clock or Slack. A cancel is one more entry point
(`cancel`), beside `respond` and `message`, with its refusals from the same set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from bot.core.edits import EditError, validated
from bot.core.events import (
    ApprovalVote,
    Cancelled,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    Response,
    UserMessage,
)
from bot.core.policy import (
    Tally,
    Vote,
    allowed_approvers,
    match_choice,
    pickers,
    refusal_why,
    tally,
    votes_on,
)
from bot.core.refusals import (
    NO_CHOICE,
    NOT_FOR_YOU,
    AlreadyAnswered,
    AlreadyVoted,
    Forbidden,
    Invalid,
    InvalidEdit,
    NotAccepting,
    NotFound,
    TooLarge,
    WasCancelled,
    Why,
)
from bot.core.thread import ExternalOrigin, Thread


class Answer(Response):
    """A human's response to a request, as received (not yet checked nor recorded)."""

    args: Mapping[str, Any] | None = None
    """For an approval: the call's arguments as the approver edited them (checked by the
    tool's model; the ones that run)."""


@dataclass(frozen=True)
class Approvers:
    """Who may decide, as the shell resolved it once for one word: the deployment's approvers
    (`SLACK_APPROVERS`) and the current members of the request's approver groups."""

    deployment: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()

    def of(self, request: HumanRequest) -> set[str]:
        """The approvers of `request`: the deployment's, narrowed by the request's own."""
        return allowed_approvers(request, self.deployment, self.members)

    def pickers(self, thread: Thread, request: HumanRequest) -> set[str]:
        """Who may answer the choice question `request`: its own answerers and the members
        of its groups when it names any (they narrow), else the thread's humans and the
        deployment's approvers."""
        found = pickers(request, None, self.deployment, self.members)
        narrowed = request.answerers or request.approver_groups
        return found if narrowed else found | thread.humans


@dataclass(frozen=True)
class Deciding:
    """What a word is decided with besides the thread, resolved by the shell."""

    now: datetime
    """The stamp of the event made."""
    max_chars: int
    """The longest text accepted (`HITLBOT_MAX_MESSAGE_CHARS`)."""
    approvers: Approvers | None = None
    """Who may decide; None: the caller is trusted to name the decider (no policy check)."""
    args_model: type[BaseModel] | None = None
    """The model of the arguments of the call an approval guards (for an edit), if known."""
    client: str | None = None
    """The API client a message came with (for the audit), if any."""


def decider_refusal(request: HumanRequest, user: str, approvers: Approvers) -> Why | None:
    """Why `user` may not decide `request` (None if they may)."""
    return refusal_why(request, user, approvers.deployment, approvers.members)


def check_decider(request: HumanRequest, user: str, approvers: Approvers) -> None:
    """Forbidden unless `user` may decide `request`: the approvers, never the requester."""
    why = decider_refusal(request, user, approvers)
    if why is not None:
        raise Forbidden(user, why, approvers.of(request))


def check_picker(thread: Thread, request: HumanRequest, user: str, approvers: Approvers) -> None:
    """Forbidden unless `user` may answer `request` (any question without `only_choices` is
    anyone's who may write to the thread)."""
    if not request.only_choices:
        return
    allowed = approvers.pickers(thread, request)
    if user not in allowed:
        raise Forbidden(user, "not_picker", allowed, verb="answer")


def current_tally(
    thread: Thread, request: HumanRequest, approvers: Approvers | None, extra: tuple[Vote, ...] = ()
) -> Tally:
    """Where `request` stands from its recorded votes (and `extra`), each voter checked
    against the approvers as they are now: a vote of someone who left counts no more."""
    votes = [*votes_on(thread.events, request.request_id), *extra]
    if approvers is not None:
        votes = [vote for vote in votes if decider_refusal(request, vote.user, approvers) is None]
    return tally(request, votes)


def respond(thread: Thread, answer: Answer, ctx: Deciding) -> HumanResponse | ApprovalVote:
    """The event `answer` makes on `thread`: the response, or a vote short of the quorum;
    a refusal (NotFound, AlreadyAnswered, Invalid, Forbidden, AlreadyVoted...) otherwise."""
    request = thread.request(answer.request_id)
    if request is None:
        raise NotFound(f"thread {thread.id} has no request {answer.request_id!r}")
    earlier = thread.response_to(request.request_id)
    if earlier is not None:
        raise AlreadyAnswered(earlier)
    withdrawn = thread.withdrawn_by(request.request_id)
    if withdrawn is not None:
        raise WasCancelled(withdrawn)
    if request.kind == "approval" and answer.approved is None:
        raise Invalid("this request is an approval: send approved true or false")
    if request.kind == "question":
        if answer.approved is not None or not (answer.answer or "").strip():
            raise Invalid("this request is a question: send a non-empty answer")
        _check_text(answer.answer or "", ctx)
        named = request.responders
        if named and ctx.approvers is not None and answer.user not in named:
            # An external caller named who answers (`allowed_responder_ids`): only they.
            raise Forbidden(answer.user, "not_picker", named, verb="answer")
        if request.only_choices:
            answer = _picked(thread, request, answer, ctx)
    _check_text(answer.comment or "", ctx)
    pending = request.kind == "approval" and _pending_vote(thread, request, answer, ctx)
    edited = _edited(thread, request, answer, ctx) if answer.args is not None else None
    if pending:
        return ApprovalVote(
            request_id=request.request_id,
            user=answer.user,
            comment=answer.comment,
            client=answer.client,
            at=ctx.now,
        )
    return HumanResponse(
        request_id=request.request_id,
        user=answer.user,
        answer=answer.answer if request.kind == "question" else None,
        approved=answer.approved if request.kind == "approval" else None,
        comment=answer.comment,
        ref=answer.ref,
        client=answer.client,
        edited_args=edited,
        at=ctx.now,
    )


def message(
    thread: Thread,
    text: str,
    user: str | None,
    ref: str | None,
    ctx: Deciding,
    answerers: frozenset[str] | None = None,
) -> HumanResponse | ApprovalVote | UserMessage | HeldMessage:
    """What a new message from the human is on `thread`: the answer to its pending
    question, or the first message of its next turn; NotAccepting during an approval.

    `answerers`: besides the thread's humans, who may answer its question (a Slack thread's
    approvers); anyone else's message is kept as a `held_message`, resuming nothing.
    """
    _check_text(text, ctx)
    pending = thread.pending_request
    if pending is not None and isinstance(thread.origin, ExternalOrigin):
        # An external call's question: anyone may answer, unless its caller named who.
        answerers = frozenset(pending.responders) if pending.responders else None
    if pending is not None and pending.kind == "question":
        if answerers is not None and user not in thread.humans and user not in answerers:
            reason = "not the thread's human or an approver, so not taken as the answer"
            return HeldMessage(text=text, sender=user or "", reason=reason, ref=ref, at=ctx.now)
        held = _held_pick(thread, pending, text, user, ref, ctx)
        if held is not None:
            return held
        answer = Answer(
            request_id=pending.request_id, user=user or "", answer=text, ref=ref, client=ctx.client
        )
        trusted = Deciding(now=ctx.now, max_chars=ctx.max_chars)  # checked above
        return respond(thread, answer, trusted)
    if pending is not None:
        raise NotAccepting("the thread is waiting for an approval decision")
    return UserMessage(text=text, user=user, ref=ref, client=ctx.client, at=ctx.now)


CancelVia = Literal["api", "cli", "slack_stop", "slack_button", "email"]


def cancel(
    thread: Thread, user: str, via: CancelVia, reason: str | None, ctx: Deciding
) -> Cancelled:
    """The cancel `user` asks for on `thread`: its pending request withdrawn, nothing runs
    after it. Refused for a thread already cancelled (WasCancelled), finished (NotAccepting),
    or, with approvers given, from anyone but its humans and approvers (Forbidden)."""
    stopped = thread.cancel
    if stopped is not None:
        raise WasCancelled(stopped)
    if thread.status in ("done", "failed"):
        raise NotAccepting(f"nothing to cancel: the thread is {thread.status}")
    _check_text(reason or "", ctx)
    pending = thread.pending_request
    if ctx.approvers is not None:
        allowed = set(thread.humans) | set(ctx.approvers.deployment)
        if pending is not None:
            allowed |= ctx.approvers.of(pending)
        if user not in allowed:
            raise Forbidden(user, "not_canceller", allowed, verb="cancel")
    withdrawn = [pending.request_id] if pending is not None else []
    return Cancelled(user=user, via=via, reason=reason, withdrawn=withdrawn, at=ctx.now)


def _picked(thread: Thread, request: HumanRequest, answer: Answer, ctx: Deciding) -> Answer:
    """A choice question's answer as the choice it names; refused if it names none, or
    (enforced) comes from someone it is not for."""
    if ctx.approvers is not None:
        check_picker(thread, request, answer.user, ctx.approvers)
    choice = match_choice(request, answer.answer or "")
    if choice is None:
        raise Invalid(f"pick one of: {'; '.join(request.choices)}")
    return answer.model_copy(update={"answer": choice})


def _held_pick(
    thread: Thread,
    request: HumanRequest,
    text: str,
    user: str | None,
    ref: str | None,
    ctx: Deciding,
) -> HeldMessage | None:
    """A message that cannot answer a choice question (from someone it is not for, or
    naming none of its choices) is kept, not taken; None if it answers it."""
    if not request.only_choices:
        return None
    approvers = ctx.approvers or Approvers()
    if (user or "") not in approvers.pickers(thread, request):
        reason = NOT_FOR_YOU
    elif match_choice(request, text) is None:
        reason = NO_CHOICE
    else:
        return None
    return HeldMessage(text=text, sender=user or "", reason=reason, ref=ref, at=ctx.now)


def _pending_vote(thread: Thread, request: HumanRequest, answer: Answer, ctx: Deciding) -> bool:
    """Check an approval vote against the policy; True if it leaves the quorum unmet."""
    if ctx.approvers is not None:
        check_decider(request, answer.user, ctx.approvers)
    votes = votes_on(thread.events, request.request_id)
    if answer.approved and any(vote.user == answer.user for vote in votes):
        count = current_tally(thread, request, ctx.approvers)
        raise AlreadyVoted(
            f"{answer.user} has approved already "
            f"({len(count.approvals)} of {count.needed} approvals)"
        )
    this = Vote(answer.user, bool(answer.approved))
    return current_tally(thread, request, ctx.approvers, (this,)).outcome == "pending"


def _edited(
    thread: Thread, request: HumanRequest, answer: Answer, ctx: Deciding
) -> dict[str, Any] | None:
    """The approver's edit, validated by the tool's model; None if it changes nothing."""
    if request.kind != "approval" or answer.approved is not True:
        raise Invalid("edited args go only with an approval (approved: true)")
    if request.quorum > 1:
        # Earlier (or later) votes would be for other arguments than the ones that run.
        raise Invalid(
            f"this request needs {request.quorum} approvals; "
            "edits are only for requests one approver decides"
        )
    call = thread.call(request.call_id) if request.call_id else None
    if call is None or ctx.args_model is None:
        raise Invalid("this approval's call cannot be edited")
    _check_text(json.dumps(answer.args, default=str), ctx)  # the thread keeps it whole
    try:
        edited = validated(ctx.args_model, answer.args or {})
    except EditError as exc:
        raise InvalidEdit(exc.fields) from None
    return None if edited == call.args else edited


def _check_text(text: str, ctx: Deciding) -> None:
    if len(text) > ctx.max_chars:
        raise TooLarge(f"message is {len(text)} characters; the limit is {ctx.max_chars}")
