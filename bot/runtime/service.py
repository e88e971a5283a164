"""Launch, resume and continue threads (factor 6): the one path every channel and the API use.

Each operation validates, commits under the thread's version, and enqueues a step; none of
them waits on the model. Deciding a human request is atomic: of two concurrent answers the
compare-and-set lets exactly one commit, and the other finds the request already answered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import structlog
from pydantic import BaseModel

from bot import metrics, telemetry
from bot.core.events import ApprovalVote, Event, HeldMessage, HumanResponse, UserMessage
from bot.core.refusals import Invalid, NotAccepting, NotFound, TooLarge
from bot.core.respond import Answer, Approvers, CancelVia, Deciding, cancel, message, respond
from bot.core.thread import ExternalOrigin, Origin, Thread
from bot.mcp.schema import SchemaError, args_model
from bot.runtime.deps import Deps
from bot.runtime.intake import Message, NewThread, Outcome, start_or_continue
from bot.store.intake import Claim
from bot.store.keys import item_tag
from bot.store.threads import Busy

__all__ = ["Answer", "Service"]

log = structlog.get_logger(__name__)


def _written(taken: Outcome) -> Thread:
    """The thread a message started or continued, or why it was refused."""
    if taken.error is not None:
        raise taken.error
    if taken.thread is None:
        raise Invalid("the message was empty")
    return taken.thread


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
        client: str | None = None,
    ) -> Thread:
        """Start a thread on `agent` with a first message; queued for a worker. `client`:
        the API client launching it, for the audit."""
        start = NewThread(agent, origin)
        message = Message(text, user, ref=ref, start=start, client=client)
        return _written(await start_or_continue(self, message))

    async def launch_once(
        self,
        agent: str,
        text: str,
        origin: Origin,
        user: str | None,
        *,
        key: str,
        client: str | None = None,
    ) -> tuple[Thread, bool]:
        """`launch`, at most once per `key` (an API identity's Idempotency-Key) for as long
        as a thread is kept: the key's claim is taken with the launch, in the same script. The
        same key again starts nothing and returns the thread it started (True: a replay);
        Invalid if that launch was for another agent, message or user. A refused launch
        takes nothing: the key stays free for a corrected one."""
        item = hashlib.sha256(key.encode()).hexdigest()[:32]
        message = Message(
            text,
            user,
            start=NewThread(agent, origin),
            client=client,
            claims=[Claim("api-launch", item, slot=item_tag(item))],
            tag_of=item,
            keep_refused=False,  # a refused launch writes nothing: its key stays free
            claim_ttl_s=self.deps.settings.thread_ttl_s,
        )
        outcome = await start_or_continue(self, message)
        if outcome.status != "seen":
            return _written(outcome), False
        thread = await self.deps.store.get(outcome.thread_id or "")
        if thread is None:
            raise NotAccepting("the thread this Idempotency-Key started is gone; use a new key")
        first = thread.events[0] if thread.events else None
        same = isinstance(first, UserMessage) and (first.text, first.user) == (text, user)
        if not same or thread.agent != agent:
            raise Invalid(
                "Idempotency-Key reused with different parameters: it started thread "
                f"{thread.id}; send a new key for a new launch"
            )
        return thread, True

    def new_thread(
        self,
        agent: str,
        text: str,
        origin: Origin,
        user: str | None,
        *,
        ref: str | None = None,
        thread_id: str | None = None,
        client: str | None = None,
    ) -> Thread:
        """The thread `launch` would store (nothing is written); NotFound for an unknown
        agent, TooLarge for an over-long message. For a channel that stores it itself."""
        if agent not in self.deps.agents:
            known = ", ".join(sorted(self.deps.agents))
            raise NotFound(f"unknown agent {agent!r}; known agents: {known}")
        self._check_text(text)
        now = self.deps.clock.now()
        return Thread(
            id=thread_id or self.new_thread_id(),
            agent=agent,
            origin=origin,
            events=[UserMessage(text=text, user=user, ref=ref, client=client, at=now)],
            created_at=now,
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
        self,
        thread_id: str,
        answer: Answer,
        *,
        enforce: bool = True,
        loaded: Thread | None = None,
        approvers: Approvers | None = None,
    ) -> Thread:
        """Record a human's answer to a pending request, exactly once, and resume the thread.

        What the answer becomes is the core's to say (`bot.core.respond`), decided on the
        version it commits on. An approval counts only from someone the policy allows
        (`enforce`; off for a trusted automation token); short of its quorum it is recorded
        as a vote and the request stays pending (nothing is queued then). `loaded`: the
        thread as the caller just loaded it (a click's card), decided on first instead of
        loading it twice more. `approvers`: as the caller resolved them for its own check
        (see `approvers`), so a click reads the groups once.
        """
        if loaded is not None and loaded.id != thread_id:
            loaded = None
        with telemetry.span("hitlbot.human_decision", telemetry.decision(answer)):
            return await self._respond(thread_id, answer, enforce, loaded, approvers)

    async def _respond(
        self,
        thread_id: str,
        answer: Answer,
        enforce: bool,
        loaded: Thread | None,
        approvers: Approvers | None,
    ) -> Thread:
        if enforce and approvers is None:
            thread = loaded if loaded is not None else await self.deps.store.get(thread_id)
            approvers = await self.approvers(thread, answer.request_id)
        who = approvers if enforce else None
        thread = await self.update(
            thread_id,
            lambda thread: [respond(thread, answer, self.deciding(thread, who, answer))],
            loaded=loaded,
        )
        if isinstance(thread.events[-1], ApprovalVote):
            metrics.RESPONSES.labels("vote").inc()
            return thread
        await self.deps.enqueue(thread.id)
        metrics.RESPONSES.labels("approval" if answer.approved is not None else "answer").inc()
        return thread

    async def cancel(
        self,
        thread_id: str,
        user: str,
        via: CancelVia,
        *,
        reason: str | None = None,
        enforce: bool = True,
        loaded: Thread | None = None,
    ) -> Thread:
        """Stop the thread, exactly once: its pending request withdrawn (a concurrent answer
        either commits first, or is refused after), no tool started and no model asked after
        the commit. The worker then updates the request's messages and tells the thread's
        human. `enforce`: only its humans and approvers may (`bot.core.respond.cancel`)."""
        if enforce:
            thread = loaded if loaded is not None else await self.deps.store.get(thread_id)
            pending = thread.pending_request if thread is not None else None
            who: Approvers | None = await self.approvers(
                thread, pending.request_id if pending else None
            )
        else:
            who = None
        thread = await self.update(
            thread_id,
            lambda thread: [cancel(thread, user, via, reason, self.deciding(thread, who))],
            loaded=loaded,
        )
        await self.deps.enqueue(thread.id)
        metrics.CANCELS.labels(via).inc()
        log.info("cancelled", thread_id=thread.id, user=user, via=via)
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

    async def approvers(self, thread: Thread | None, request_id: str | None) -> Approvers:
        """Who may decide the request (or pick its choice), resolved once: the deployment's
        approvers and the current members of its groups (read before deciding: a
        decision's compare-and-set loop must not wait on Slack)."""
        request = thread.request(request_id) if thread is not None and request_id else None
        groups = request.approver_groups if request is not None else []
        members = await self.deps.groups.members(groups) if groups else frozenset()
        return Approvers(self.deps.settings.slack_approver_ids(), members)

    def deciding(
        self, thread: Thread, approvers: Approvers | None, answer: Answer | None = None
    ) -> Deciding:
        """What the core decides `thread`'s next word with: now, the text limit, who may
        decide (None: trusted), and for an edit the arguments model of the call."""
        model = None
        if answer is not None and answer.args is not None:
            request = thread.request(answer.request_id)
            call = thread.call(request.call_id) if request and request.call_id else None
            model = self.args_model(thread, call.name) if call is not None else None
        return Deciding(
            now=self.deps.clock.now(),
            max_chars=self.deps.settings.max_message_chars,
            approvers=approvers,
            args_model=model,
        )

    def args_model(self, thread: Thread, tool: str) -> type[BaseModel] | None:
        """The pydantic model of `tool`'s arguments in the thread's agent, if it has the tool
        (an external call's: from the JSON schema its client sent, if it applies edits)."""
        if isinstance(thread.origin, ExternalOrigin):
            return _external_args_model(thread.origin, tool)
        agent = self.deps.agents.get(thread.agent)
        found = self.deps.mcp.known(agent).get(tool) if agent is not None else None
        return found.args if found is not None else None

    async def post_message(
        self,
        thread_id: str,
        text: str,
        user: str | None,
        *,
        ref: str | None = None,
        answerers: frozenset[str] | None = None,
        client: str | None = None,
    ) -> Thread:
        """A new message from the human: answers a pending question, or starts the next turn.

        `answerers`: besides the thread's own humans, who may answer its question (a Slack
        thread's approvers); anyone else's message is kept as a `held_message`, resuming nothing.
        """
        self._check_text(text)
        message = Message(
            text, user, ref=ref, thread_id=thread_id, answerers=answerers, client=client
        )
        return _written(await start_or_continue(self, message))

    async def deciding_message(
        self,
        loaded: Thread,
        text: str,
        user: str | None,
        ref: str | None,
        answerers: frozenset[str] | None,
        client: str | None = None,
    ) -> Callable[[Thread], Event]:
        """What a new message is on a thread (`bot.core.respond.message`), as a function of
        the version it commits on; its pending request's approvers are resolved once here."""
        pending = loaded.pending_request
        approvers = await self.approvers(loaded, pending.request_id if pending else None)

        def change(thread: Thread) -> Event:
            ctx = replace(self.deciding(thread, approvers), client=client)
            return message(thread, text, user, ref, ctx, answerers)

        return change

    def message_event(
        self,
        thread: Thread,
        text: str,
        user: str | None,
        ref: str | None,
        answerers: frozenset[str] | None = None,
    ) -> HumanResponse | ApprovalVote | UserMessage | HeldMessage:
        """What a new message from the human is on `thread` (`bot.core.respond.message`),
        for a channel that commits it itself; the deployment's approvers may pick."""
        approvers = Approvers(self.deps.settings.slack_approver_ids())
        return message(thread, text, user, ref, self.deciding(thread, approvers), answerers)

    def _check_text(self, text: str) -> None:
        limit = self.deps.settings.max_message_chars
        if len(text) > limit:
            raise TooLarge(f"message is {len(text)} characters; the limit is {limit}")


def _external_args_model(origin: ExternalOrigin, fn: str) -> type[BaseModel] | None:
    """An external call's edits are offered only to a client that applies them (the native
    client, `bot.client`), which sends its function's arguments as a JSON schema
    (`spec.kwargs_schema`); None: not editable (the HumanLayer SDK runs its function with its
    own arguments), or no usable schema."""
    schema = origin.spec.get("kwargs_schema")
    if origin.api != "native" or not isinstance(schema, dict) or fn != origin.spec.get("fn"):
        return None
    try:
        return args_model(fn, schema)
    except SchemaError:
        return None
