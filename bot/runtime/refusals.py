"""What the service refuses, each with the HTTP status that fits it, and why it holds a message.

`bot.web` turns any `ServiceError` into its status and message; the channels catch the ones
they answer in their own words (an ephemeral in Slack, a reply by mail).
"""

from __future__ import annotations

from bot.core.edits import EditError
from bot.core.events import HumanResponse

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


class Forbidden(ServiceError):
    """A decision by someone the policy does not allow."""

    status = 403


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
