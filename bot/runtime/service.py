"""Launch, resume and continue threads (factor 6): the one path every channel and the API use.

Each operation validates, commits under the thread's version, and enqueues a step; none of
them waits on the model. Deciding a human request is atomic: of two concurrent answers the
compare-and-set lets exactly one commit, and the other finds the request already answered.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import structlog
from pydantic import BaseModel

from bot import metrics
from bot.core.edits import EditError, validated
from bot.core.events import (
    ApprovalVote,
    Event,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    Response,
    UserMessage,
)
from bot.core.policy import Vote, match_choice, pick_refusal, refusal, tally, votes_on
from bot.core.thread import ExternalOrigin, Origin, Thread
from bot.runtime.deps import Deps
from bot.runtime.refusals import (
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
)
from bot.store.threads import Busy

log = structlog.get_logger(__name__)


class Answer(Response):
    """A human's response to a request, as received (not yet checked nor recorded)."""

    args: Mapping[str, Any] | None = None
    """For an approval: the call's arguments as the approver edited them (checked by the
    tool's model; the ones that run)."""


class Service:
    """Thread operations shared by the HTTP API, the CLI and the channels."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def new_thread_id(self) -> str:
        """An id for a thread about to be launched (a channel may need it before the launch)."""
        return self.deps.ids("th_")

    async def launch(
        self,
        agent: str,
        text: str,
        origin: Origin,
        user: str | None,
        *,
        ref: str | None = None,
        thread_id: str | None = None,
    ) -> Thread:
        """Start a thread on `agent` with a first message; queued for a worker."""
        thread = self.new_thread(agent, text, origin, user, ref=ref, thread_id=thread_id)
        thread = await self.deps.store.create(thread)
        await self.deps.enqueue(thread.id)
        self.launched(thread)
        return thread

    def new_thread(
        self,
        agent: str,
        text: str,
        origin: Origin,
        user: str | None,
        *,
        ref: str | None = None,
        thread_id: str | None = None,
    ) -> Thread:
        """The thread `launch` would store (nothing is written); NotFound for an unknown
        agent, TooLarge for an over-long message. For a channel that stores it itself."""
        if agent not in self.deps.agents:
            known = ", ".join(sorted(self.deps.agents))
            raise NotFound(f"unknown agent {agent!r}; known agents: {known}")
        self._check_text(text)
        return Thread(
            id=thread_id or self.new_thread_id(),
            agent=agent,
            origin=origin,
            events=[UserMessage(text=text, user=user, ref=ref)],
            created_at=self.deps.clock(),
        )

    def launched(self, thread: Thread) -> None:
        """Count and log a thread just stored and queued."""
        metrics.LAUNCHES.labels(thread.agent, thread.origin.kind).inc()
        # Debug: one line per launch cost more than a tenth of a Slack mention's ingest; the
        # audit stream records every launch, the counter counts them.
        log.debug("launched", thread_id=thread.id, agent=thread.agent, channel=thread.origin.kind)

    async def get(self, thread_id: str) -> Thread:
        """The thread, or NotFound."""
        thread = await self.deps.store.get(thread_id)
        if thread is None:
            raise NotFound(f"no thread {thread_id!r}")
        return thread

    async def respond(
        self, thread_id: str, answer: Answer, *, enforce: bool = True, loaded: Thread | None = None
    ) -> Thread:
        """Record a human's answer to a pending request, exactly once, and resume the thread.

        An approval counts only from someone the policy allows (`enforce`; off for a trusted
        automation token); short of its quorum it is recorded as a vote and the request stays
        pending (nothing is queued then). `loaded`: the thread as the caller just loaded it
        (a click's card), decided on first instead of loading it twice more.
        """
        if loaded is not None and loaded.id != thread_id:
            loaded = None
        members = (
            await self._group_members(thread_id, answer.request_id, loaded) if enforce else None
        )
        thread = await self.update(
            thread_id,
            lambda thread: [self._response(thread, answer, enforce, members)],
            loaded=loaded,
        )
        if isinstance(thread.events[-1], ApprovalVote):
            metrics.RESPONSES.labels("vote").inc()
            return thread
        await self.deps.enqueue(thread.id)
        metrics.RESPONSES.labels("approval" if answer.approved is not None else "answer").inc()
        return thread

    async def update(
        self,
        thread_id: str,
        change: Callable[[Thread], list[Event]],
        *,
        loaded: Thread | None = None,
    ) -> Thread:
        """Commit what `change` makes of the thread, decided on the version it commits on.

        The thread is marked queued in the same round trip; the caller enqueues its step.
        """
        try:
            thread = await self.deps.store.update(thread_id, change, queued=True, loaded=loaded)
        except Busy:
            raise NotAccepting("the thread is too busy to take that now; try again") from None
        if thread is None:
            raise NotFound(f"no thread {thread_id!r}")
        return thread

    async def _group_members(
        self, thread_id: str, request_id: str, loaded: Thread | None = None
    ) -> frozenset[str]:
        """Current members of the request's approver groups (read before deciding: a
        decision's compare-and-set loop must not wait on Slack)."""
        thread = loaded if loaded is not None else await self.deps.store.get(thread_id)
        request = thread.request(request_id) if thread is not None else None
        if request is None or not request.approver_groups:
            return frozenset()
        return await self.deps.groups.members(request.approver_groups)

    def _response(
        self,
        thread: Thread,
        answer: Answer,
        enforce: bool,
        members: frozenset[str] | None = None,
    ) -> HumanResponse | ApprovalVote:
        request = thread.request(answer.request_id)
        if request is None:
            raise NotFound(f"thread {thread.id} has no request {answer.request_id!r}")
        earlier = thread.response_to(request.request_id)
        if earlier is not None:
            raise AlreadyAnswered(earlier)
        if request.kind == "approval" and answer.approved is None:
            raise Invalid("this request is an approval: send approved true or false")
        if request.kind == "question":
            if answer.approved is not None or not (answer.answer or "").strip():
                raise Invalid("this request is a question: send a non-empty answer")
            self._check_text(answer.answer or "")
            if request.only_choices:
                answer = self._picked(thread, request, answer, enforce)
        self._check_text(answer.comment or "")
        pending = request.kind == "approval" and self._pending_vote(
            thread, request, answer, enforce, members or frozenset()
        )
        edited = self._edited(thread, request, answer) if answer.args is not None else None
        if pending:
            return ApprovalVote(
                request_id=request.request_id,
                user=answer.user,
                comment=answer.comment,
                at=self.deps.clock(),
            )
        return HumanResponse(
            request_id=request.request_id,
            user=answer.user,
            answer=answer.answer if request.kind == "question" else None,
            approved=answer.approved if request.kind == "approval" else None,
            comment=answer.comment,
            ref=answer.ref,
            edited_args=edited,
            at=self.deps.clock(),
        )

    def _picked(
        self, thread: Thread, request: HumanRequest, answer: Answer, enforce: bool
    ) -> Answer:
        """A choice question's answer as the choice it names; refused if it names none, or
        (`enforce`) comes from someone it is not for."""
        approvers = self.deps.settings.slack_approver_ids()
        why = pick_refusal(request, answer.user, thread.starter, approvers) if enforce else None
        if why is not None:
            raise Forbidden(f"{answer.user} may not answer this: {why}")
        choice = match_choice(request, answer.answer or "")
        if choice is None:
            raise Invalid(f"pick one of: {'; '.join(request.choices)}")
        return answer.model_copy(update={"answer": choice})

    def _edited(
        self, thread: Thread, request: HumanRequest, answer: Answer
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
        model = self.args_model(thread, call.name) if call is not None else None
        if call is None or model is None:
            raise Invalid("this approval's call cannot be edited")
        self._check_text(json.dumps(answer.args, default=str))  # the thread keeps it whole
        try:
            edited = validated(model, answer.args or {})
        except EditError as exc:
            raise InvalidEdit(exc.fields) from None
        return None if edited == call.args else edited

    def args_model(self, thread: Thread, tool: str) -> type[BaseModel] | None:
        """The pydantic model of `tool`'s arguments in the thread's agent, if it has the tool."""
        agent = self.deps.agents.get(thread.agent)
        found = self.deps.mcp.known(agent).get(tool) if agent is not None else None
        return found.args if found is not None else None

    def _pending_vote(
        self,
        thread: Thread,
        request: HumanRequest,
        answer: Answer,
        enforce: bool,
        members: frozenset[str],
    ) -> bool:
        """Check an approval vote against the policy; True if it leaves the quorum unmet."""
        if enforce:
            why = refusal(request, answer.user, self.deps.settings.slack_approver_ids(), members)
            if why is not None:
                raise Forbidden(f"{answer.user} may not decide this: {why}")
        votes = votes_on(thread.events, request.request_id)
        if answer.approved and any(vote.user == answer.user for vote in votes):
            count = tally(request, votes)
            raise AlreadyVoted(
                f"{answer.user} has approved already "
                f"({len(count.approvals)} of {count.needed} approvals)"
            )
        return tally(request, [*votes, Vote(answer.user, bool(answer.approved))]).outcome == (
            "pending"
        )

    async def post_message(
        self,
        thread_id: str,
        text: str,
        user: str | None,
        *,
        ref: str | None = None,
        answerers: frozenset[str] | None = None,
    ) -> Thread:
        """A new message from the human: answers a pending question, or starts the next turn.

        `answerers`: besides the thread's own human, who may answer its question (a Slack
        thread's approvers); anyone else's message is kept as a `held_message`, resuming nothing.
        """
        self._check_text(text)
        thread = await self.update(
            thread_id, lambda thread: [self.message_event(thread, text, user, ref, answerers)]
        )
        last = thread.events[-1]
        if isinstance(last, HeldMessage):
            return thread
        await self.deps.enqueue(thread.id)
        if isinstance(last, HumanResponse):
            metrics.RESPONSES.labels("answer").inc()
        return thread

    def message_event(
        self,
        thread: Thread,
        text: str,
        user: str | None,
        ref: str | None,
        answerers: frozenset[str] | None = None,
    ) -> HumanResponse | ApprovalVote | UserMessage | HeldMessage:
        """What a new message from the human is on `thread`: the answer to its pending
        question, or the first message of its next turn; NotAccepting during an approval."""
        pending = thread.pending_request
        if pending is not None and isinstance(thread.origin, ExternalOrigin):
            # An external question: anyone may answer it, unless its caller named who.
            answerers = frozenset(pending.responders) if pending.responders else None
        if pending is not None and pending.kind == "question":
            if answerers is not None and user != thread.starter and user not in answerers:
                reason = "not the thread's human or an approver, so not taken as the answer"
                return HeldMessage(
                    text=text, sender=user or "", reason=reason, ref=ref, at=self.deps.clock()
                )
            held = self._held_pick(thread, pending, text, user, ref)
            if held is not None:
                return held
            answer = Answer(request_id=pending.request_id, user=user or "", answer=text, ref=ref)
            return self._response(thread, answer, enforce=False)  # checked above
        if pending is not None:
            raise NotAccepting("the thread is waiting for an approval decision")
        return UserMessage(text=text, user=user, ref=ref, at=self.deps.clock())

    def _held_pick(
        self, thread: Thread, request: HumanRequest, text: str, user: str | None, ref: str | None
    ) -> HeldMessage | None:
        """A message that cannot answer a choice question (from someone it is not for, or
        naming none of its choices) is kept, not taken; None if it answers it."""
        if not request.only_choices:
            return None
        approvers = self.deps.settings.slack_approver_ids()
        if pick_refusal(request, user or "", thread.starter, approvers) is not None:
            reason = NOT_FOR_YOU
        elif match_choice(request, text) is None:
            reason = NO_CHOICE
        else:
            return None
        return HeldMessage(
            text=text, sender=user or "", reason=reason, ref=ref, at=self.deps.clock()
        )

    def _check_text(self, text: str) -> None:
        limit = self.deps.settings.max_message_chars
        if len(text) > limit:
            raise TooLarge(f"message is {len(text)} characters; the limit is {limit}")
