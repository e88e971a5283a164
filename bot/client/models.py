"""What the client asks with and gets back (pure)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from bot.core.jsondata import Json

PREFIX = "/humanlayer/v1"
WAIT_S = 25.0
"""Each long-poll's wait (the server caps it at 30 s)."""


@dataclass(frozen=True)
class Option:
    """A button: a reject option of an approval, or a suggested answer of a question."""

    name: str
    """What comes back (`Decision.option`, `Answer.option`)."""
    title: str | None = None
    """What the button reads (default: `name`)."""
    description: str | None = None
    """For a reject option: the comment it rejects with."""

    def dumped(self) -> Json:
        """As the API takes it."""
        return {"name": self.name, "title": self.title, "description": self.description}


@dataclass(frozen=True)
class Decision:
    """An approver's decision on a function call."""

    approved: bool
    comment: str | None
    """Why (a rejection always has one)."""
    kwargs: dict[str, Any]
    """The arguments to run with: an approver's edit, else the proposed ones."""
    edited: bool
    """Whether an approver edited them."""
    by: str | None
    """Who decided (a Slack user id; `hitlbot` for an expiry)."""
    option: str | None = None
    """The reject option's name, if one was clicked."""
    call_id: str = ""


@dataclass(frozen=True)
class Answer:
    """A human's answer to a question."""

    text: str
    by: str | None
    option: str | None = None
    """The response option's name, if the answer is one."""
    call_id: str = ""


def new_call_id() -> str:
    """A call id (the idempotency key of a retried request)."""
    return f"call-{secrets.token_urlsafe(12)}"


def channel_json(channel: str | None, thread_ts: str | None, responders: list[str] | None) -> Json:
    """A contact channel: a Slack channel or user id (none: `SLACK_APPROVAL_CHANNEL`)."""
    if channel is None:
        return {}
    slack: Json = {"channel_or_user_id": channel, "thread_ts": thread_ts}
    if responders:
        slack["allowed_responder_ids"] = responders
    return {"slack": slack}


def approval_body(
    fn: str,
    kwargs: dict[str, Any],
    call_id: str,
    channel: Json,
    schema: Json | None,
    options: list[Option],
    state: Json | None,
) -> Json:
    """`POST /function_calls`."""
    spec: Json = {"fn": fn, "kwargs": kwargs, "kwargs_schema": schema, "state": state}
    spec["channel"] = channel or None
    spec["reject_options"] = [option.dumped() for option in options] or None
    return {"run_id": "hitlbot-client", "call_id": call_id, "spec": spec}


def question_body(
    question: str, call_id: str, channel: Json, options: list[Option], state: Json | None
) -> Json:
    """`POST /contact_requests`."""
    spec: Json = {"msg": question, "channel": channel or None, "state": state}
    spec["response_options"] = [option.dumped() for option in options] or None
    return {"run_id": "hitlbot-client", "call_id": call_id, "spec": spec}


def decision_of(call: Json) -> Decision | None:
    """The decision in a `FunctionCall`, or None while it is pending."""
    status = call.get("status") or {}
    if status.get("approved") is None:
        return None
    edited = status.get("edited_kwargs")
    return Decision(
        approved=bool(status["approved"]),
        comment=status.get("comment"),
        kwargs=edited if edited is not None else call["spec"]["kwargs"],
        edited=edited is not None,
        by=status.get("responded_by"),
        option=status.get("reject_option_name"),
        call_id=call["call_id"],
    )


def answer_of(contact: Json) -> Answer | None:
    """The answer in a `HumanContact`, or None while it is pending."""
    status = contact.get("status") or {}
    if status.get("response") is None:
        return None
    return Answer(
        text=status["response"],
        by=status.get("responded_by"),
        option=status.get("response_option_name"),
        call_id=contact["call_id"],
    )
