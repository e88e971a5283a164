"""A thread: its identity, where it came from, and its events. Everything else is derived.

The functions below define the derivation by scanning the events; `Thread`'s properties give
the same answers from `bot.core.facts`, which folds each event once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from bot.core.events import (
    Cancelled,
    DeadlinePassed,
    Done,
    Error,
    Event,
    Failed,
    HumanRequest,
    HumanResponse,
    RequestSent,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.core.facts import SHOWN, Facts, Outbound, is_card, moot, shows
from bot.core.facts import Status as Status  # re-exported: the API and the store name it from here

STATUSES: tuple[Status, ...] = (
    "running",
    "waiting_human",
    "waiting_approval",
    "done",
    "failed",
    "cancelled",
)


class ApiOrigin(BaseModel):
    """Launched through the HTTP API or the CLI: nothing to send anywhere."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["api"] = "api"
    user: str | None = None
    """Who launched it, as they said."""


class SlackOrigin(BaseModel):
    """Started in Slack: answers go to this Slack thread."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["slack"] = "slack"
    team: str | None = None
    """Workspace id."""
    channel: str
    """Channel (or DM) id."""
    thread_ts: str
    """`ts` of the Slack thread's parent message."""
    user: str
    """Slack user id of the human who started it."""


class EmailOrigin(BaseModel):
    """Started by an inbound email: answers go back to its sender, in the same mail thread."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["email"] = "email"
    address: str
    """The human's address; only mail from it resumes the thread."""
    mailbox: str
    """The bot address that received the first mail (replies are sent from it)."""
    subject: str
    """Subject of the first mail, without `Re:`."""


class ExternalOrigin(BaseModel):
    """A call from an agent outside hitlbot (the HumanLayer API, the native client): one
    approval or one question, asked where `contact` says; the caller runs its own function."""

    model_config = ConfigDict(frozen=True)
    kind: Literal["external"] = "external"
    api: Literal["humanlayer", "native"] = "humanlayer"
    """Which API asked: `humanlayer` (the SDK's `/humanlayer/v1`) or `native` (`bot.client`,
    the only one that applies an approver's edited arguments)."""
    call: Literal["function_call", "human_contact"] = "function_call"
    """What it asks: approval of a function call, or a human's answer."""
    call_id: str
    """The caller's id of the call (its idempotency key)."""
    run_id: str = ""
    """The caller's run id, returned as given."""
    user: str | None = None
    """The API client that asked (its key's identity)."""
    spec: dict[str, Any] = Field(default_factory=dict)
    """The call's spec as the caller sent it (channel, options, state), returned as given."""


Origin = Annotated[
    ApiOrigin | SlackOrigin | EmailOrigin | ExternalOrigin, Field(discriminator="kind")
]


class Thread(BaseModel):
    """Serialisable state of one conversation with one agent (factors 5 and 12)."""

    model_config = ConfigDict(frozen=True)

    id: str
    """Thread id; Redis keys carry it as a `{hash tag}`."""
    agent: str
    """Name of the agent that runs it."""
    origin: Origin
    """Where it started, with what is needed to answer there."""
    events: list[Event] = Field(default_factory=list)
    """Everything that happened, in order; the single source of truth."""
    version: int = 0
    """Bumped by every committed save; the store compares it to refuse lost updates."""
    created_at: datetime
    """When it was launched (the launcher's `now`)."""

    _facts: tuple[list[Event], Facts] | None = PrivateAttr(default=None)
    """The derived state, and the event list it was derived from (a copy with other events
    must not reuse it)."""

    def __eq__(self, other: object) -> bool:
        # The fields only: the derived-state memo is no part of what a thread is.
        if not isinstance(other, Thread):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]  # as pydantic's own, with __eq__ overridden

    @property
    def facts(self) -> Facts:
        """The events' derived state, folded once per event list and extended on append."""
        memo = self._facts
        # `count`: an append from this thread (or a copy sharing the memo) folded more events
        # into the same facts, which then no longer describe this list.
        if memo is not None and memo[0] is self.events and memo[1].count == len(self.events):
            return memo[1]
        facts = Facts.of(self.events)
        self._facts = (self.events, facts)
        return facts

    def appended(self, *events: Event) -> Thread:
        """A copy with `events` added at the end (the version is the store's to bump).

        The copy takes this thread's derived state over and folds only `events` into it; this
        thread folds its own again if it is asked afterwards (rare: an append is what a thread
        is loaded for), so a step's cost does not grow with the thread.
        """
        thread = self.model_copy(update={"events": [*self.events, *events]})
        thread._facts = (thread.events, self.facts.advance(events))
        return thread

    @property
    def pending_request(self) -> HumanRequest | None:
        """The human request still waiting for its response, if any."""
        return self.facts.pending_request

    @property
    def status(self) -> Status:
        """Derived from the events, never stored beside them."""
        return self.facts.status

    @property
    def consecutive_errors(self) -> int:
        """Errors since the last success or human word (factor 9)."""
        return self.facts.errors

    @property
    def open_call(self) -> ToolCall | None:
        """The last tool call still to run (see `open_call`)."""
        return self.facts.open_call

    @property
    def undelivered(self) -> list[Outbound]:
        """Outbound events not yet delivered (see `undelivered`)."""
        return list(self.facts.waiting)

    @property
    def starter(self) -> str | None:
        """Who started the thread, in the channel's terms (Slack user id, email address)."""
        origin = self.origin
        if isinstance(origin, EmailOrigin):
            return origin.address.lower()
        if origin.user:
            return origin.user
        first = next((e for e in self.events if isinstance(e, UserMessage)), None)
        return first.user if first is not None else None

    @property
    def humans(self) -> frozenset[str]:
        """Everyone who has written to the thread as its human: who started it and whoever
        wrote a message of a turn since (a Slack thread is open to its channel)."""
        found = {e.user for e in self.events if isinstance(e, UserMessage) and e.user}
        return frozenset(found | ({self.starter} if self.starter else set()))

    @property
    def requesters(self) -> list[str]:
        """Who asked for what the agent does next: the author of the last message of a turn
        and whoever answered its questions since (their words shaped the call too); the
        thread's starter if no message names its author. Kept from approving it."""
        found: list[str] = []
        for event in reversed(self.events):
            if isinstance(event, HumanResponse) and event.approved is None and event.user:
                found.append(event.user)
            elif isinstance(event, UserMessage):
                if event.user:
                    found.append(event.user)
                break
        if not any(isinstance(e, UserMessage) and e.user for e in self.events) and self.starter:
            found.append(self.starter)
        return list(dict.fromkeys(found))

    def request(self, request_id: str) -> HumanRequest | None:
        """The request with this id, answered or not."""
        return self.facts.requests.get(request_id)

    def response_to(self, request_id: str) -> HumanResponse | None:
        """The response that answered `request_id`, if it was answered."""
        return self.facts.responses.get(request_id)

    def withdrawn_by(self, request_id: str) -> Cancelled | None:
        """The cancel that withdrew `request_id`, if one did (it is never answered now)."""
        return self.facts.withdrawn.get(request_id)

    @property
    def cancel(self) -> Cancelled | None:
        """The cancel that stopped the thread, while it is cancelled."""
        marker = self.facts.last_marker
        return marker if isinstance(marker, Cancelled) else None

    def call(self, call_id: str) -> ToolCall | None:
        """The tool call with this id."""
        return self.facts.calls.get(call_id)

    def edited_args(self, call_id: str) -> dict[str, Any] | None:
        """The arguments an approver edited the call to, if its approval came with an edit
        (see `edited_args`)."""
        facts = self.facts
        for request in facts.requests.values():
            if request.kind == "approval" and request.call_id == call_id:
                response = facts.responses.get(request.request_id)
                if response is not None and response.approved and response.edited_args is not None:
                    return response.edited_args
        return None


def edited_args(events: list[Event], call_id: str) -> dict[str, Any] | None:
    """The edited arguments of the first approval of `call_id` that came with an edit: the
    first request of each id guarding that call, answered (first response) by an approval."""
    requests: dict[str, HumanRequest] = {}
    responses: dict[str, HumanResponse] = {}
    for event in events:
        if isinstance(event, HumanRequest):
            requests.setdefault(event.request_id, event)
        elif isinstance(event, HumanResponse):
            responses.setdefault(event.request_id, event)
    for request in requests.values():
        if request.kind != "approval" or request.call_id != call_id:
            continue
        response = responses.get(request.request_id)
        if response is not None and response.approved and response.edited_args is not None:
            return response.edited_args
    return None


def pending_request(events: list[Event]) -> HumanRequest | None:
    """The last human request if no response has answered it yet, nor a cancel withdrawn it."""
    answered = {e.request_id for e in events if isinstance(e, HumanResponse)}
    answered |= {r for e in events if isinstance(e, Cancelled) for r in e.withdrawn}
    for event in reversed(events):
        if isinstance(event, HumanRequest):
            return None if event.request_id in answered else event
    return None


def status_of(events: list[Event]) -> Status:
    """Where the thread stands, from its events alone."""
    pending = pending_request(events)  # only the last request can be waiting, as the API shows
    for event in reversed(events):
        if isinstance(event, Failed):
            return "failed"
        if isinstance(event, Done):
            return "done"
        if isinstance(event, Cancelled):
            return "cancelled"
        if isinstance(event, UserMessage | HumanResponse):
            return "running"
        if isinstance(event, HumanRequest) and event is pending:
            return "waiting_approval" if event.kind == "approval" else "waiting_human"
    return "running"


def consecutive_errors(events: list[Event]) -> int:
    """How many model or tool errors came in a row at the end of the thread."""
    count = 0
    for event in reversed(events):
        if isinstance(event, Error) and event.kind != "delivery":
            count += 1
        elif isinstance(event, ToolResult | HumanResponse | UserMessage):
            break
    return count


def open_call(events: list[Event]) -> ToolCall | None:
    """The last tool call still to run: no result, no error, no rejection, not a control call."""
    closed: set[str | None] = set()
    rejected = {
        e.request_id for e in events if isinstance(e, HumanResponse) and e.approved is False
    }
    called: set[str | None] = set()
    for event in events:
        if isinstance(event, ToolCall):
            called.add(event.call_id)
        elif isinstance(event, Cancelled):
            closed |= called  # nothing called before a cancel runs
        elif isinstance(event, ToolResult | Error | Done):
            closed.add(event.call_id)
        elif isinstance(event, HumanRequest) and (
            event.kind == "question" or event.request_id in rejected
        ):
            closed.add(event.call_id)
    for event in reversed(events):
        if isinstance(event, ToolCall):
            return None if event.call_id in closed else event
    return None


def undelivered(events: list[Event]) -> list[Outbound]:  # noqa: C901 - a branch per kind
    """Outbound events (requests, answers, failures, decisions to show on cards, cancels) with
    no `request_sent` yet, oldest first. A request or deadline followed by a cancel is never
    sent.

    One given up on (a `delivery` error naming its ref) counts as handled: it is recorded and
    logged, and trying it forever would stall the thread. A reminder or an escalation of a
    request answered since is moot, never delivered. A request's first response is to be
    shown on its Slack cards (`shown:<request>:<n>`), and again on a card recorded after it.
    """
    sent = {e.ref for e in events if isinstance(e, RequestSent)}
    sent |= {e.ref for e in events if isinstance(e, Error) and e.kind == "delivery" and e.ref}
    answered = {e.request_id for e in events if isinstance(e, HumanResponse)}
    requests: dict[str, HumanRequest] = {}
    responses: dict[str, HumanResponse] = {}
    cards: dict[str, int] = {}
    last_cancel = max((i for i, e in enumerate(events) if isinstance(e, Cancelled)), default=-1)
    out: list[Outbound] = []
    for index, event in enumerate(events):
        if isinstance(event, Cancelled):
            out.append((f"cancelled:{index}", event))
        elif isinstance(event, HumanRequest):
            requests.setdefault(event.request_id, event)
            if index > last_cancel:
                out.append((event.request_id, event))
        elif isinstance(event, Done):
            out.append((f"done:{index}", event))
        elif isinstance(event, Failed):
            out.append((f"failed:{index}", event))
        elif isinstance(event, DeadlinePassed) and not moot(event, answered):
            if index > last_cancel:
                out.append((f"deadline:{index}", event))
        elif isinstance(event, HumanResponse) and event.request_id not in responses:
            responses[event.request_id] = event
            count = cards.get(event.request_id, 0)
            if count and shows(requests.get(event.request_id)):
                out.append((f"{SHOWN}{event.request_id}:{count}", event))
        elif isinstance(event, RequestSent) and (card := is_card(event)) is not None:
            count = cards[card] = cards.get(card, 0) + 1
            if card in responses and shows(requests.get(card)):
                out.append((f"{SHOWN}{card}:{count}", responses[card]))
    return [(ref, event) for ref, event in out if ref not in sent]
