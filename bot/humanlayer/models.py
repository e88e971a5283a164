"""The HumanLayer v1 API's shapes, as `humanlayer` 0.7.9's `core/models.py` has them (pure).

The SDK posts `model_dump()` of its own models (every field, `None`s included) and validates
what comes back with them; these mirror them field for field, so its code runs unchanged.
Unknown fields are ignored, as a newer SDK may send some.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SlackContactChannel(_Model):
    """A Slack channel (`C…`) or user (`U…`: a direct message) to ask in."""

    channel_or_user_id: str = Field(min_length=1, max_length=100)
    """Where the card or question goes."""
    context_about_channel_or_user: str | None = Field(default=None, max_length=500)
    """Shown on the card (and in the SDK's rejection message)."""
    bot_token: str | None = None
    """Another Slack app's token: not supported (422)."""
    allowed_responder_ids: list[str] | None = None
    """Only they may decide or answer."""
    experimental_slack_blocks: bool | None = None
    """Ignored."""
    thread_ts: str | None = Field(default=None, max_length=40)
    """Post in this Slack thread of the channel."""

    @field_validator("allowed_responder_ids")
    @classmethod
    def _not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) == 0:
            raise ValueError("allowed_responder_ids if provided must not be empty")
        return value


class EmailRecipient(_Model):
    """Another recipient of a contact's mail."""

    address: str = Field(min_length=3, max_length=320)
    context_about_user: str | None = None
    field: Literal["to", "cc", "bcc"] | None = None
    """`to` (the default), `cc` or `bcc`."""


class EmailContactChannel(_Model):
    """An address to ask by mail, optionally on an existing mail thread."""

    address: str = Field(min_length=3, max_length=320)
    context_about_user: str | None = None
    additional_recipients: list[EmailRecipient] | None = None
    subject: str | None = Field(default=None, max_length=500)
    references_message_id: str | None = Field(default=None, max_length=1000)
    in_reply_to_message_id: str | None = Field(default=None, max_length=1000)
    experimental_subject_line: str | None = Field(default=None, max_length=500)
    experimental_references_message_id: str | None = Field(default=None, max_length=1000)
    experimental_in_reply_to_message_id: str | None = Field(default=None, max_length=1000)
    template: str | None = Field(default=None, max_length=20000)
    """A Jinja template of the mail's body (rendered sandboxed)."""


class PhoneContactChannel(_Model):
    """SMS and WhatsApp: the SDK can send them; hitlbot cannot deliver them (422)."""

    phone_number: str = ""
    context_about_user: str | None = None


class ContactChannel(_Model):
    """Where to ask: Slack or email (no channel: `SLACK_APPROVAL_CHANNEL`)."""

    slack: SlackContactChannel | None = None
    sms: PhoneContactChannel | None = None
    whatsapp: PhoneContactChannel | None = None
    email: EmailContactChannel | None = None


class ResponseOption(_Model):
    """A button: a reject option of an approval, or a suggested answer of a question."""

    name: str = Field(min_length=1, max_length=100)
    title: str | None = Field(default=None, max_length=75)
    description: str | None = Field(default=None, max_length=2000)
    prompt_fill: str | None = Field(default=None, max_length=2000)
    interactive: bool = False

    @property
    def label(self) -> str:
        """What its button reads: its title, else its name."""
        return self.title or self.name


class FunctionCallSpec(_Model):  # type: ignore[no-redef]  # its field `kwargs`
    """What a function call asks approval for."""

    fn: str = Field(min_length=1, max_length=200)
    kwargs: dict[str, Any] = Field(default_factory=dict)
    channel: ContactChannel | None = None
    reject_options: list[ResponseOption] | None = None
    state: dict[str, Any] | None = None
    """Kept and returned as given."""
    kwargs_schema: dict[str, Any] | None = None
    """hitlbot's extension: the JSON schema of `kwargs`, sent by a client that runs its
    function with an approver's edited arguments (`bot.client`); its card offers Edit."""


class FunctionCallStatus(_Model):
    """Where a function call stands."""

    requested_at: datetime | None = None
    responded_at: datetime | None = None
    approved: bool | None = None
    comment: str | None = None
    reject_option_name: str | None = None
    slack_message_ts: str | None = None
    responded_by: str | None = None
    """hitlbot's extension: who decided (a Slack user id, an API client's identity)."""
    edited_kwargs: dict[str, Any] | None = None
    """hitlbot's extension: the arguments an approver edited the call to (run these)."""


class FunctionCall(_Model):
    """`POST /function_calls` and what every function-call route answers."""

    run_id: str = Field(default="", max_length=200)
    call_id: str = Field(min_length=1, max_length=200)
    spec: FunctionCallSpec
    status: FunctionCallStatus | None = None


class HumanContactSpec(_Model):
    """What a contact asks."""

    msg: str = Field(min_length=1)
    subject: str | None = Field(default=None, max_length=500)
    channel: ContactChannel | None = None
    response_options: list[ResponseOption] | None = None
    state: dict[str, Any] | None = None
    """Kept and returned as given."""


class HumanContactStatus(_Model):
    """Where a contact stands."""

    requested_at: datetime | None = None
    responded_at: datetime | None = None
    response: str | None = None
    response_option_name: str | None = None
    responded_by: str | None = None
    """hitlbot's extension: who answered."""


class HumanContact(_Model):
    """`POST /contact_requests` and what every contact route answers."""

    run_id: str = Field(default="", max_length=200)
    call_id: str = Field(min_length=1, max_length=200)
    spec: HumanContactSpec
    status: HumanContactStatus | None = None


class Escalation(_Model):
    """`POST /agent/.../escalate_email`: ask again, by mail."""

    escalation_msg: str = Field(min_length=1)
    additional_recipients: list[EmailRecipient] | None = None
    channel: ContactChannel | None = None
