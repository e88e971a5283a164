"""What a human's word may be refused with (typed, each with the HTTP status that fits it),
and why a message is held instead of taken.

The core's `bot.core.respond` raises them; `bot.web` turns any `ServiceError` into its status
and message; the channels catch the ones they answer in their own words (an ephemeral in
Slack, a reply by mail), reading the typed fields rather than the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Literal

from bot.core.edits import EditError
from bot.core.events import Cancelled, HumanResponse

NOT_FOR_YOU = "not one of the people this choice is for, so not taken as the answer"
"""Why a message was held instead of answering a choice question: who sent it."""
NO_CHOICE = "names none of the choices, so not taken as the answer"
"""Why a message was held instead of answering a choice question: what it said."""


class ServiceError(Exception):
    """A request the service refuses; `status` is the HTTP status that fits it."""

    status = 400


class NotFound(ServiceError):
    status = 404


class AlreadyAnswered(ServiceError):
    status = 409

    def __init__(self, response: HumanResponse) -> None:
        self.response = response
        super().__init__(f"already {response.verdict} by {response.user}")


Why = Literal[
    "nobody", "not_approver", "requester", "not_picker", "service", "not_you", "not_canceller"
]
"""Why someone may not decide: no approvers configured, not one of them, the requester of the
call, not one of a choice's pickers, a service identity, or acting as someone else."""

REASONS: Mapping[Why, str] = MappingProxyType(
    {
        "nobody": "no one may decide this yet: the operator must set SLACK_APPROVERS or a policy",
        "not_approver": "they are not one of its approvers",
        "requester": (
            "they asked for this call (they started this thread or wrote what led to it), "
            "and its approvals need someone else"
        ),
        "not_picker": "they are not one of the people this choice is for",
        "service": "a service identity may launch and read, not decide",
        "not_you": "a credential decides only as the identity it carries",
        "not_canceller": "only the thread's humans and its approvers may cancel it",
    }
)
"""Each `Why` in words, for the API's 403 and the logs."""


class Forbidden(ServiceError):
    """A decision (or a pick) by someone the policy does not allow; `why` says which rule,
    `allowed` who may (for a channel that names them)."""

    status = 403

    def __init__(
        self,
        user: str,
        why: Why,
        allowed: Iterable[str] = (),
        *,
        verb: str = "decide",
        detail: str = "",
    ) -> None:
        self.user = user
        self.why: Why = why
        self.allowed = frozenset(allowed)
        more = f" ({detail})" if detail else ""
        super().__init__(f"{user} may not {verb} this: {REASONS[why]}{more}")


class WasCancelled(ServiceError):
    """A word on a thread, or a request, that a cancel has stopped (or a second cancel)."""

    status = 409

    def __init__(self, cancel: Cancelled) -> None:
        self.cancel = cancel
        super().__init__(f"this was cancelled by {cancel.user}")


class AlreadyVoted(ServiceError):
    """The same approver approving again: counted once, so refused."""

    status = 409


class NotAccepting(ServiceError):
    status = 409


class TooLarge(ServiceError):
    status = 413


class Invalid(ServiceError):
    status = 422


class InvalidEdit(Invalid):
    """Edited arguments the tool's model refuses; `fields` says why, per field name."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("the edited arguments are invalid: " + str(EditError(fields)))
