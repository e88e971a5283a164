"""`start_or_continue`: the one way a human's message starts or continues a thread.

Slack (the fast path, Bolt's listeners, Socket Mode), email and the API hand a `Message` over;
it is taken exactly once by the store's intake script (`bot.store.intake`): the delivery's
claims, the new thread or the appended event, the conversation's link, the queued mark and the
step job in one atomic call, retried safely. What a message is on an existing thread (an
answer, the next turn, a held note) is decided on the very version it is committed on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot import metrics, telemetry
from bot.core.events import ApprovalVote, Event, HeldMessage, HumanResponse
from bot.core.refusals import NotAccepting, NotFound, ServiceError, TooLarge
from bot.core.thread import Origin, Thread
from bot.runtime.deps import Deps
from bot.store.intake import Claim, Link, Taken
from bot.store.keys import item_tag
from bot.store.threads import COMMIT_ATTEMPTS


class Service(Protocol):
    """What of `bot.runtime.service.Service` a message needs (it calls in here itself)."""

    deps: Deps

    def new_thread_id(self) -> str:
        """A fresh thread id."""
        ...

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
        """The thread a first message starts (checked, not stored)."""
        ...

    async def deciding_message(
        self,
        loaded: Thread,
        text: str,
        user: str | None,
        ref: str | None,
        answerers: frozenset[str] | None,
        client: str | None = None,
    ) -> Callable[[Thread], Event]:
        """What the message is on a thread, as a function of the version it commits on."""
        ...

    def launched(self, thread: Thread) -> None:
        """Count and log a thread just stored and queued."""
        ...


ROUNDS = 3
"""Link lookups a message follows (a linked thread found expired starts a new one)."""


@dataclass(frozen=True)
class NewThread:
    """The thread a message starts when its conversation has none yet."""

    agent: str
    origin: Origin
    thread: Thread | None = None
    """The thread itself, built by the caller, instead of one begun by the message's text:
    an external call's (its ToolCall and HumanRequest, under an id derived from its call id,
    so a second post of it finds this one: `seen`)."""


@dataclass(frozen=True)
class Message:
    """A human's message as a channel hands it over."""

    text: str
    user: str | None
    ref: str | None = None
    """The channel's id of the message (a mail's Message-ID), kept on its event."""
    claims: Sequence[Claim] = ()
    """The names this delivery is known by: taken once, whoever delivers it again."""
    link: Link | None = None
    """The conversation it belongs to (a Slack thread, the mail's own Message-ID)."""
    thread_id: str | None = None
    """The thread it continues, when the channel found it (a mail's reply); else the link's."""
    start: NewThread | None = None
    """What it starts with no thread to continue; None: it may not start one."""
    opens: bool = True
    """Whether it may open a conversation that has no thread yet (in Slack, a mention or a
    DM); one that may not is only a reply, but still starts again where its thread expired."""
    tag_of: str | None = None
    """The conversation (a Slack thread, the mail) a new thread's id is minted in the slot
    of, so its claims and link share the thread's slot; None: a slot of its own."""
    answerers: frozenset[str] | None = None
    """Besides the thread's human, who may answer its question (`Service.message_event`)."""
    decide: Callable[[Thread], Event] | None = None
    """What the message is on a thread, if not `Service.message_event`'s answer."""
    working: Callable[[str], tuple[str, list[bytes]]] | None = None
    """For a thread id: the Slack working marker and extra jobs to add with the step."""
    client: str | None = None
    """The API client that sent it, for the audit."""
    keep_refused: bool = True
    """Claim a refused message, so another delivery of it is not refused (and told) again;
    False: leave it unclaimed, so a retry is taken like a first delivery."""
    claim_ttl_s: int | None = None
    """How long its claims are kept, if not a day (an API key's: as long as a thread)."""


Status = Literal["started", "continued", "refused", "ignored", "seen"]


@dataclass(frozen=True)
class Outcome:
    """What became of a message."""

    status: Status
    """`started` a thread, `continued` one (`thread.events[-1]` says how), `refused` (taken,
    nothing written: `error` says why, None for a message with no text), `ignored` (not
    for the bot: nothing taken), `seen` (taken before: a retry or a second event of it)."""
    thread: Thread | None = None
    """The thread as committed (`started`, `continued`)."""
    thread_id: str | None = None
    """The thread it went to, if any (for `seen`, the first delivery's)."""
    error: ServiceError | None = None
    """Why it was `refused` (None: it had no text to start on)."""


async def start_or_continue(service: Service, message: Message) -> Outcome:
    """Take `message` once: continue its thread, or start one; see the module. Traced: the
    step job carries the span on, so the intake and the worker's steps are one trace."""
    with telemetry.span("hitlbot.intake") as span:
        outcome = await _start_or_continue(service, message)
        attributes = {"hitlbot.outcome": outcome.status, "hitlbot.thread_id": outcome.thread_id}
        telemetry.annotate(span, attributes)
        return outcome


async def _start_or_continue(service: Service, message: Message) -> Outcome:
    thread_id, stale = message.thread_id, None
    for _ in range(ROUNDS):
        if thread_id is not None:
            outcome = await _continue(service, message, thread_id)
            if outcome is not None:
                return outcome
            stale, thread_id = thread_id, None  # expired: start a new one in its place
            if message.start is None:
                error = NotFound(f"no thread {stale!r}")
                return await _refuse(service, message, stale, error)
            continue
        if stale is None and not (message.opens and message.start) and message.link is not None:
            # It may not open a conversation: a reply follows its link, or is not for the bot.
            thread_id = await service.deps.intake.linked(message.link)
            if thread_id is None:
                return Outcome("ignored")
            continue
        first = _first_thread(service, message)
        if isinstance(first, ServiceError) and not message.keep_refused:
            return Outcome("refused", error=first)  # nothing written: a retry is taken anew
        taken, started = await _start(service, message, stale, first)
        if taken.outcome == "linked":
            if taken.thread_id is None:
                return Outcome("seen")
            thread_id = taken.thread_id
            continue
        return _outcome(service, taken, started)
    raise NotAccepting("the conversation kept changing; try again")


def _first_thread(service: Service, message: Message) -> Thread | ServiceError | None:
    """The thread the message would start (not stored), why it may not, or None if it
    starts none (it may not start one, or says nothing)."""
    spec = message.start
    if spec is not None and spec.thread is not None:
        return spec.thread
    if spec is None or not message.text:
        return None
    try:
        return service.new_thread(
            spec.agent,
            message.text,
            spec.origin,
            message.user,
            ref=message.ref,
            thread_id=_new_id(service, message),
            client=message.client,
        )
    except ServiceError as exc:
        return exc


def _new_id(service: Service, message: Message) -> str:
    """A new thread's id, in the slot of its conversation if it has one (`tag_of`)."""
    if message.tag_of is not None:
        return service.deps.intake.new_id(service.deps.ids, message.tag_of)
    return service.new_thread_id()


async def _start(
    service: Service, message: Message, stale: str | None, first: Thread | ServiceError | None
) -> tuple[Taken, Thread | None | ServiceError]:
    intake, spec = service.deps.intake, message.start
    if not isinstance(first, Thread):
        # Claimed in the conversation's own slot, not a new thread's: another delivery of
        # the same refused message finds the claim (`seen`) and is not refused, or told, again.
        slot = item_tag(message.tag_of) if message.tag_of is not None else _new_id(service, message)
        taken = await intake.claim(
            slot,
            claims=message.claims,
            link=message.link,
            may_start=spec is not None and (message.opens or stale is not None),
            stale=stale,
            claim_ttl_s=message.claim_ttl_s,
        )
        return taken, first
    thread = first
    marker, jobs = message.working(thread.id) if message.working else ("", [])
    taken = await intake.start(
        thread,
        claims=message.claims,
        link=message.link,
        stale=stale,
        working=marker,
        jobs=jobs,
        claim_ttl_s=message.claim_ttl_s,
    )
    return taken, thread


def _outcome(service: Service, taken: Taken, started: Thread | None | ServiceError) -> Outcome:
    if taken.outcome == "started" and isinstance(started, Thread):
        thread = started.model_copy(update={"version": taken.version or 1})
        service.deps.store.cache.put(thread)
        service.launched(thread)
        return Outcome("started", thread, thread.id)
    if taken.outcome == "claimed":
        error = started if isinstance(started, ServiceError) else None
        return Outcome("refused", error=error)
    if taken.outcome == "seen":
        return Outcome("seen", thread_id=taken.thread_id)
    return Outcome("ignored")


async def _continue(service: Service, message: Message, thread_id: str) -> Outcome | None:
    """Append the message to `thread_id`, decided on the version it commits on; None if the
    thread is gone."""
    intake, store = service.deps.intake, service.deps.store
    if not message.text:
        return Outcome("ignored")  # nothing to add
    decide = message.decide
    for _ in range(COMMIT_ATTEMPTS):
        thread = await store.get(thread_id)
        if thread is None:
            return None
        if decide is None:  # resolved once (a pending request's approvers)
            decide = await service.deciding_message(
                thread,
                message.text,
                message.user,
                message.ref,
                message.answerers,
                client=message.client,
            )
        try:
            event = _decide(service, message, decide, thread)
        except ServiceError as exc:
            return await _refuse(service, message, thread_id, exc)
        step = not isinstance(event, HeldMessage | ApprovalVote)
        marker, jobs = message.working(thread_id) if message.working and step else ("", [])
        taken, committed = await intake.append(
            thread,
            [event],
            claims=message.claims,
            link=message.link,
            step=step,
            working=marker,
            jobs=jobs,
        )
        if taken.outcome == "conflict":
            continue
        if taken.outcome == "gone":
            return None
        if committed is None:
            return Outcome("seen", thread_id=taken.thread_id)
        if isinstance(event, HumanResponse):
            metrics.RESPONSES.labels("answer").inc()
        return Outcome("continued", committed, committed.id)
    raise NotAccepting("the thread is too busy to take that now; try again")


def _decide(
    service: Service, message: Message, decide: Callable[[Thread], Event], thread: Thread
) -> Event:
    limit = service.deps.settings.max_message_chars
    if len(message.text) > limit:
        raise TooLarge(f"message is {len(message.text)} characters; the limit is {limit}")
    return decide(thread)


async def _refuse(service: Service, message: Message, slot_of: str, error: ServiceError) -> Outcome:
    """A refused message is claimed, so a second delivery of it is not refused (and its
    writer told) again."""
    if message.claims and message.keep_refused:
        taken = await service.deps.intake.claim(
            slot_of, claims=message.claims, claim_ttl_s=message.claim_ttl_s
        )
        if taken.outcome == "seen":
            return Outcome("seen", thread_id=taken.thread_id)
    return Outcome("refused", thread_id=slot_of, error=error)
