"""What a thread's events say, folded once and extended as events are appended (pure).

`bot.core.thread` derives status, the pending request, the open call and the outbound queue from
the events; scanning every event for each of those made a step cost more the longer the
thread. `Facts` is the same derivation as a fold: `Facts.of(events)` reads a list once, and
`extended(new)` reads only `new`; `advance(new)` does the same in place, without copying what
was folded so far (a copy costs as much as the events folded, so a thread's append does not).
The scanning functions in `bot.core.thread` stay the definition; a property test holds the two to
the same answers for any event history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

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

Status = Literal["running", "waiting_human", "waiting_approval", "done", "failed", "cancelled"]
Outbound = tuple[str, HumanRequest | HumanResponse | Done | Failed | DeadlinePassed | Cancelled]

SHOWN = "shown:"
"""The ref prefix of a decision to show on its request's Slack cards: `shown:<request>:<n>`,
`n` the cards it covers (a card recorded after it was shown is shown again)."""


def is_card(event: RequestSent) -> str | None:
    """The request a recorded Slack message is a card of (its own post, or an escalation),
    if it is one."""
    if event.channel != "slack":
        return None
    return event.coordinates.get("request_id") or (None if ":" in event.ref else event.ref)


def shows(request: HumanRequest | None) -> bool:
    """Whether a request's cards change when it is decided: an approval card, or a question
    with buttons."""
    return request is not None and (request.kind == "approval" or bool(request.choices))


def moot(event: DeadlinePassed, answered: set[str]) -> bool:
    """A reminder or an escalation of a request answered since: never delivered."""
    return event.step != "expire" and event.request_id in answered


@dataclass
class Facts:
    """The derived state of an event list; extend it, never mutate a shared one."""

    count: int = 0
    """Events folded so far."""
    answered: set[str] = field(default_factory=set)
    """Request ids with a response."""
    last_request: HumanRequest | None = None
    last_request_at: int = -1
    last_marker: Event | None = None
    """The last `failed`, `done`, `cancelled`, `user_message` or `human_response`: what
    status reads."""
    last_marker_at: int = -1
    errors: int = 0
    """Errors in a row at the end (delivery errors aside)."""
    last_call: ToolCall | None = None
    closed: set[str | None] = field(default_factory=set)
    """Call ids that have a result, an error, a `done`, or a question or rejection on them."""
    rejected: set[str] = field(default_factory=set)
    approvals: dict[str, list[str | None]] = field(default_factory=dict)
    """Call ids of approval requests by request id, to close them if rejected later."""
    sent: set[str] = field(default_factory=set)
    """Refs of outbound events delivered or given up on."""
    waiting: list[Outbound] = field(default_factory=list)
    """Outbound events not yet delivered, oldest first."""
    requests: dict[str, HumanRequest] = field(default_factory=dict)
    responses: dict[str, HumanResponse] = field(default_factory=dict)
    calls: dict[str, ToolCall] = field(default_factory=dict)
    cards: dict[str, int] = field(default_factory=dict)
    """Slack cards recorded per request id (`is_card`)."""
    withdrawn: dict[str, Cancelled] = field(default_factory=dict)
    """Requests withdrawn by a cancel, and the cancel that withdrew each."""

    @classmethod
    def of(cls, events: list[Event]) -> Facts:
        """The facts of `events`, read once."""
        facts = cls()
        facts._fold(events)
        return facts

    def advance(self, events: tuple[Event, ...] | list[Event]) -> Facts:
        """These facts with `events` folded in, in place; returns them. Whoever held them for
        the shorter list sees by `count` that they no longer describe it."""
        self._fold(events)
        return self

    def extended(self, events: tuple[Event, ...] | list[Event]) -> Facts:
        """The facts of this list with `events` appended; this one is left as it was."""
        copy = Facts(
            count=self.count,
            answered=set(self.answered),
            last_request=self.last_request,
            last_request_at=self.last_request_at,
            last_marker=self.last_marker,
            last_marker_at=self.last_marker_at,
            errors=self.errors,
            last_call=self.last_call,
            closed=set(self.closed),
            rejected=set(self.rejected),
            approvals={k: list(v) for k, v in self.approvals.items()},
            sent=set(self.sent),
            waiting=list(self.waiting),
            requests=dict(self.requests),
            responses=dict(self.responses),
            calls=dict(self.calls),
            cards=dict(self.cards),
            withdrawn=dict(self.withdrawn),
        )
        copy._fold(events)
        return copy

    @property
    def pending_request(self) -> HumanRequest | None:
        """The last request, unless it was answered or withdrawn."""
        last = self.last_request
        if last is None or last.request_id in self.answered or last.request_id in self.withdrawn:
            return None
        return last

    @property
    def status(self) -> Status:
        """The thread's status (see `bot.core.thread.status_of`)."""
        pending = self.pending_request
        if pending is not None and self.last_request_at > self.last_marker_at:
            return "waiting_approval" if pending.kind == "approval" else "waiting_human"
        marker = self.last_marker
        if isinstance(marker, Failed):
            return "failed"
        if isinstance(marker, Done):
            return "done"
        if isinstance(marker, Cancelled):
            return "cancelled"
        return "running"

    @property
    def open_call(self) -> ToolCall | None:
        """The last tool call still to run (see `bot.core.thread.open_call`)."""
        last = self.last_call
        return None if last is None or last.call_id in self.closed else last

    def _fold(self, events: tuple[Event, ...] | list[Event]) -> None:
        for event in events:
            self._take(event, self.count)
            self.count += 1

    def _take(self, event: Event, index: int) -> None:  # noqa: C901 - one branch per type
        if isinstance(event, HumanRequest):
            self.last_request, self.last_request_at = event, index
            self.requests.setdefault(event.request_id, event)
            if event.kind == "question" or event.request_id in self.rejected:
                self.closed.add(event.call_id)
            else:
                self.approvals.setdefault(event.request_id, []).append(event.call_id)
            self._outbound(event.request_id, event)
        elif isinstance(event, HumanResponse):
            first = event.request_id not in self.responses
            self.answered.add(event.request_id)
            self.responses.setdefault(event.request_id, event)
            if first:
                self._decided(event)
            self.last_marker, self.last_marker_at = event, index
            self.errors = 0
            if event.approved is False:
                self.rejected.add(event.request_id)
                self.closed.update(self.approvals.get(event.request_id, []))
        elif isinstance(event, UserMessage):
            self.last_marker, self.last_marker_at = event, index
            self.errors = 0
        elif isinstance(event, ToolCall):
            self.last_call = event
            self.calls.setdefault(event.call_id, event)
        elif isinstance(event, ToolResult):
            self.closed.add(event.call_id)
            self.errors = 0
        elif isinstance(event, Error):
            self.closed.add(event.call_id)
            if event.kind == "delivery":
                if event.ref:
                    self._delivered(event.ref)
            else:
                self.errors += 1
        elif isinstance(event, Done):
            self.closed.add(event.call_id)
            self.last_marker, self.last_marker_at = event, index
            self._outbound(f"done:{index}", event)
        elif isinstance(event, Failed):
            self.last_marker, self.last_marker_at = event, index
            self._outbound(f"failed:{index}", event)
        elif isinstance(event, RequestSent):
            self._delivered(event.ref)
            card = is_card(event)
            if card is not None:
                self._card(card)
        elif isinstance(event, DeadlinePassed):
            if not moot(event, self.answered):
                self._outbound(f"deadline:{index}", event)
        elif isinstance(event, Cancelled):
            self._cancel(event, index)

    def _cancel(self, event: Cancelled, index: int) -> None:
        """Nothing runs after a cancel: every call so far is closed, the requests it names are
        withdrawn, and requests and deadlines not yet sent are never sent."""
        self.last_marker, self.last_marker_at = event, index
        self.closed.update(self.calls)
        for request_id in event.withdrawn:
            self.withdrawn.setdefault(request_id, event)
        self.waiting = [
            w for w in self.waiting if not isinstance(w[1], HumanRequest | DeadlinePassed)
        ]
        self._outbound(f"cancelled:{index}", event)

    def _decided(self, response: HumanResponse) -> None:
        """A request's first response: its pending reminders and escalations are moot, and
        its cards (if any yet) are to show it."""
        request_id = response.request_id
        self.waiting = [
            w
            for w in self.waiting
            if not (isinstance(w[1], DeadlinePassed) and moot(w[1], {request_id}))
        ]
        count = self.cards.get(request_id, 0)
        if count and shows(self.requests.get(request_id)):
            self._outbound(f"{SHOWN}{request_id}:{count}", response)

    def _card(self, request_id: str) -> None:
        """A Slack card of `request_id` recorded; one posted after its decision shows it too."""
        count = self.cards[request_id] = self.cards.get(request_id, 0) + 1
        response = self.responses.get(request_id)
        if response is not None and shows(self.requests.get(request_id)):
            self._outbound(f"{SHOWN}{request_id}:{count}", response)

    def _outbound(
        self,
        ref: str,
        event: HumanRequest | HumanResponse | Done | Failed | DeadlinePassed | Cancelled,
    ) -> None:
        if ref not in self.sent:
            self.waiting.append((ref, event))

    def _delivered(self, ref: str) -> None:
        if ref not in self.sent:
            self.sent.add(ref)
            self.waiting = [w for w in self.waiting if w[0] != ref]
