"""What the email channel gets from an inbound mail, whatever the provider's format."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EmailParseError(ValueError):
    """The inbound mail cannot be used; the message says why (safe to log, not to echo)."""


class EmailTooLarge(EmailParseError):
    """The mail is over the configured size limit (the web layer answers 413)."""


class Attachment(BaseModel):
    """An attachment, listed so the agent knows it exists; its content is not kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    filename: str | None = None
    """The file name the sender gave, if any."""
    content_type: str
    """MIME type, lower-cased (`application/pdf`)."""
    size: int | None = None
    """Decoded size in bytes, when known."""


class ParsedEmail(BaseModel):
    """One inbound mail, reduced to what threading, dedupe and the model need."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    message_id: str
    """RFC 5322 Message-ID in angle brackets; synthesized when the mail has none."""
    message_id_synthesized: bool = False
    """True when `message_id` was made from a hash of the mail, not read from it."""
    in_reply_to: str | None = None
    """The first Message-ID of `In-Reply-To`, normalized."""
    references: list[str] = Field(default_factory=list)
    """Message-IDs of `References`, oldest first, normalized."""
    sender: str
    """The `From` address, lower-cased."""
    sender_name: str | None = None
    """The `From` display name, if any."""
    reply_to: str | None = None
    """The first `Reply-To` address, lower-cased."""
    to: list[str] = Field(default_factory=list)
    """`To` addresses, lower-cased."""
    cc: list[str] = Field(default_factory=list)
    """`Cc` addresses, lower-cased."""
    envelope_from: str | None = None
    """SMTP envelope sender, when the provider reports it."""
    envelope_to: list[str] = Field(default_factory=list)
    """SMTP envelope recipients, when the provider reports them (they include Bcc)."""
    subject: str = ""
    """Decoded subject (RFC 2047), on one line."""
    date: datetime | None = None
    """The `Date` header as an aware datetime; None when absent or unreadable."""
    text: str
    """The whole body as plain text (from HTML when there is no text part), capped."""
    text_truncated: bool = False
    """True when `text` was cut at the cap (it then ends with a marker line)."""
    reply_text: str
    """Only the new text: quoted history, attribution lines and signature removed.

    Empty when the sender added nothing above the quote.
    """
    html: str | None = None
    """The HTML body as sent, if there was one."""
    attachments: list[Attachment] = Field(default_factory=list)
    """Attachments, listed without their content."""
    auto_submitted: bool = False
    """Sent by a machine (auto-reply, bounce, bulk): never answer it, or mail loops."""
    size: int
    """Size of the mail in bytes as received (raw MIME, or the bodies of a webhook)."""
