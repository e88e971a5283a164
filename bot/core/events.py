"""The events a thread is made of: a tagged union, serialised with one TypeAdapter.

The event list is the whole state of a thread (factor 5): status, the pending request and
the error streak are derived from it in `bot.core.thread`, never stored beside it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    at: datetime
    """When the event was recorded: the caller's `now` (the core reads no clock)."""


class Usage(BaseModel):
    """What one model request cost: its tokens, by how they are billed, and its latency."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str
    """The model that answered."""
    input_tokens: int = 0
    """Input tokens read at the full price (neither read from nor written to the cache)."""
    output_tokens: int = 0
    """Tokens the model wrote."""
    cache_read_tokens: int = 0
    """Input tokens read from the prompt cache (a tenth of the price)."""
    cache_write_tokens: int = 0
    """Input tokens written to the prompt cache (a quarter over the price)."""
    latency_ms: int = 0
    """From sending the request to reading the whole answer."""

    @property
    def prompt_tokens(self) -> int:
        """Every input token, however billed."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens


class UserMessage(_Event):
    """A human wrote to the agent (a launch, a Slack message, an email)."""

    type: Literal["user_message"] = "user_message"
    text: str
    """What they wrote, already stripped of quoted history."""
    user: str | None = None
    """Who wrote it, in the channel's terms (Slack user id, email address, API caller)."""
    ref: str | None = None
    """The channel's id of the message it came in (an email's Message-ID), if it has one."""
    client: str | None = None
    """The API client that sent it (its key's name, never the key), for the audit."""


class ToolCall(_Event):
    """The model chose a tool; its arguments are already validated against the tool's model."""

    type: Literal["tool_call"] = "tool_call"
    call_id: str
    """Unique id of the call; tools receive it as their idempotency key."""
    name: str
    """Tool name."""
    args: dict[str, Any]
    """The validated arguments, as JSON data."""
    reason: str | None = None
    """The model's one-line reason for the call, shown on approval cards."""
    usage: Usage | None = None
    """What the model step that chose it cost (none for calls the loop made itself)."""


class ToolResult(_Event):
    """A tool call finished; its call never runs again."""

    type: Literal["tool_result"] = "tool_result"
    call_id: str
    """The call this answers."""
    name: str
    """The tool that ran."""
    result: Any
    """What the tool returned, as JSON data."""


class Error(_Event):
    """Something the model should see and correct (factor 9), or an LLM failure."""

    type: Literal["error"] = "error"
    kind: Literal["validation", "unknown_tool", "tool", "delivery"]
    """What failed: the model's output, a tool run, or sending to the human."""
    message: str
    """A short, model-readable description."""
    call_id: str | None = None
    """The call it concerns, when there is one."""
    name: str | None = None
    """The tool it concerns, when there is one."""
    ref: str | None = None
    """For `delivery` errors: the outbound event (a `request_sent` ref) that was given up on."""
    usage: Usage | None = None
    """For the model's own errors: what the step that made it cost."""


class HumanRequest(_Event):
    """The thread asks a human something and pauses until the matching response."""

    type: Literal["human_request"] = "human_request"
    request_id: str
    """Opaque id that a response must quote."""
    kind: Literal["question", "approval"]
    """A free-text question, or approve/reject of one tool call."""
    message: str
    """The question, or why approval is needed."""
    call_id: str | None = None
    """For approvals, the tool call it guards; for questions, the call that asked."""
    choices: list[str] = Field(default_factory=list)
    """Suggested answers (buttons in Slack); free text is still accepted, unless
    `only_choices`."""
    only_choices: bool = False
    """A choice question (`request_choice`): the answer must be one of `choices` (a button,
    or text that names one or its number); anything else is held, not taken."""
    answerers: list[str] = Field(default_factory=list)
    """Who may answer a choice question; empty: the thread's human and the deployment's
    approvers."""
    approvers: list[str] = Field(default_factory=list)
    """Who may decide an approval; empty means the channel's default approvers."""
    approver_groups: list[str] = Field(default_factory=list)
    """Slack user groups whose members count among `approvers` (read when deciding)."""
    responders: list[str] = Field(default_factory=list)
    """Only they may decide or answer it, approvers or not (an external caller's
    `allowed_responder_ids`); empty: the rules above."""
    quorum: int = 1
    """Distinct approvals needed (one rejection rejects); from the policy at request time."""
    excluded: list[str] = Field(default_factory=list)
    """Who may not decide it whatever the approvers say: the requester, unless the policy
    allows self-approval."""
    remind_at: datetime | None = None
    """When the approvers (or, for a question, its human) are reminded, if still pending."""
    escalate_at: datetime | None = None
    """When the approval card is posted again to `escalate_to`, if still pending."""
    escalate_to: str | None = None
    """Slack channel or user id an escalated card goes to."""
    expire_at: datetime | None = None
    """When it expires, if still pending: an approval is rejected, "expired"; a question is
    answered "(expired ...)", and the agent goes on."""


class RequestSent(_Event):
    """Where a human request, a final answer or a failure notice was delivered."""

    type: Literal["request_sent"] = "request_sent"
    ref: str
    """The request id, or `done:<n>` / `failed:<n>` for other outbound messages."""
    channel: str
    """`slack`, `email`, ..."""
    coordinates: dict[str, str] = Field(default_factory=dict)
    """Channel-specific address of the message (Slack channel and ts, email Message-ID)."""


class Response(BaseModel):
    """What a human says to a request: who, the answer or the decision, and why. A
    `HumanResponse` once recorded; the service's `Answer` as received."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    """The request this answers."""
    user: str
    """Who answered."""
    answer: str | None = None
    """Free-text answer (questions)."""
    approved: bool | None = None
    """The decision (approvals)."""
    comment: str | None = None
    """Why, for a decision; a rejection's reason reaches the model."""
    ref: str | None = None
    """The channel's id of the message the answer came in (an email's Message-ID), if any."""
    client: str | None = None
    """The API client that sent it (its key's name, never the key), for the audit."""

    @property
    def verdict(self) -> str:
        """What it did, in one word: `approved`, `rejected` or `answered`."""
        return {True: "approved", False: "rejected", None: "answered"}[self.approved]


class HumanResponse(Response, _Event):
    """A human answered a request; recorded exactly once per request."""

    type: Literal["human_response"] = "human_response"
    edited_args: dict[str, Any] | None = None
    """For an approval whose approver edited the call: the arguments that run instead of the
    proposed ones, validated by the tool's model (JSON data). None: approved as proposed."""


class ApprovalVote(_Event):
    """One approver's approval that did not yet make the quorum; the request stays pending."""

    type: Literal["approval_vote"] = "approval_vote"
    request_id: str
    """The approval request voted on."""
    user: str
    """Who approved."""
    comment: str | None = None
    """What they said with it, if anything."""
    client: str | None = None
    """The API client that sent it (its key's name, never the key), for the audit."""


class DeadlinePassed(_Event):
    """A pending request's deadline passed: its approvers are reminded, or it expired."""

    type: Literal["deadline_passed"] = "deadline_passed"
    request_id: str
    """The request it concerns."""
    step: Literal["remind", "escalate", "expire"]
    """Which deadline."""


class HeldMessage(_Event):
    """A message kept on the thread but not taken as the human's word: it resumes nothing.

    E.g. a reply to the thread's mail from another address, an auto-reply, a mail that
    arrived while an approval was pending, or a Slack reply to a question from someone who is
    neither the thread's human nor an approver. Status, the loop and the model ignore it.
    """

    type: Literal["held_message"] = "held_message"
    text: str
    """What it said (already stripped of quoted history and capped)."""
    sender: str
    """Who sent it, in the channel's terms (an email address, a Slack user id)."""
    reason: str
    """Why it was held rather than taken."""
    ref: str | None = None
    """The channel's id of the message (an email's Message-ID)."""


class Done(_Event):
    """The agent's final answer for this turn (`done_for_now`)."""

    type: Literal["done"] = "done"
    message: str
    """The answer shown to the human."""
    call_id: str | None = None
    """The `done_for_now` call that gave it."""


class Cancelled(_Event):
    """A person stopped the thread: its pending requests are withdrawn, no tool starts and
    no model is asked after it, until a new message starts the next turn."""

    type: Literal["cancelled"] = "cancelled"
    user: str
    """Who cancelled, in the channel's terms (a Slack user id, an email address, an API
    identity)."""
    via: Literal["api", "cli", "slack_stop", "slack_button", "email"]
    """Where: the API, the CLI, Slack's Stop control, a Cancel button, a "stop" reply by mail."""
    reason: str | None = None
    """Why, if they said."""
    withdrawn: list[str] = Field(default_factory=list)
    """The requests pending when it was cancelled: never answered now, their cards updated."""


class Feedback(_Event):
    """A person's thumbs up or down on one of the agent's answers (Slack's feedback buttons)."""

    type: Literal["feedback"] = "feedback"
    user: str
    """Who gave it (a Slack user id)."""
    rating: Literal["up", "down"]
    """Thumbs up or down."""
    ref: str
    """The answer it is about: `done:<index>`, the index of its `Done` event."""


class Failed(_Event):
    """The thread cannot go on (LLM unavailable after retries, a broken agent)."""

    type: Literal["failed"] = "failed"
    reason: str
    """Why, in words an operator can act on."""


Event = Annotated[
    UserMessage
    | ToolCall
    | ToolResult
    | Error
    | HumanRequest
    | RequestSent
    | HumanResponse
    | ApprovalVote
    | DeadlinePassed
    | HeldMessage
    | Done
    | Cancelled
    | Feedback
    | Failed,
    Field(discriminator="type"),
]

EVENT: TypeAdapter[Event] = TypeAdapter(Event)
"""Turns one event into JSON and back: the store, the API and the timeline use it."""
EVENTS: TypeAdapter[list[Event]] = TypeAdapter(list[Event])
"""Turns a whole event list into JSON and back."""
