"""Inbound-mail webhooks (Postmark JSON, SendGrid Inbound Parse) into ParsedEmail."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from email.parser import HeaderParser
from email.policy import default as default_policy
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from bot.email.headers import AUTO_HEADERS, header_text, parse_addresses
from bot.email.inbound.build import (
    MAX_TEXT_CHARS,
    MailParts,
    build_email,
    check_size,
    make_attachment,
    parse_errors,
)
from bot.email.inbound.mime import mime_parts
from bot.email.inbound.reply import DEFAULT_LANGUAGES
from bot.email.message import EmailParseError, ParsedEmail


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class PostmarkAddress(_Payload):
    """One entry of `FromFull` / `ToFull` / `CcFull`."""

    email: str = Field(alias="Email")
    """The address."""
    name: str | None = Field(default=None, alias="Name")
    """The display name."""


class PostmarkHeader(_Payload):
    """One entry of `Headers`."""

    name: str = Field(alias="Name")
    """Header name as sent."""
    value: str = Field(alias="Value")
    """Header value, decoded by Postmark."""


class PostmarkAttachment(_Payload):
    """One entry of `Attachments` (its base64 `Content` is not read)."""

    name: str | None = Field(default=None, alias="Name")
    """File name."""
    content_type: str = Field(default="application/octet-stream", alias="ContentType")
    """MIME type."""
    content_length: int = Field(default=0, ge=0, alias="ContentLength")
    """Decoded size in bytes."""


class PostmarkInbound(_Payload):
    """The fields of Postmark's inbound webhook that we use."""

    from_full: PostmarkAddress | None = Field(default=None, alias="FromFull")
    """The sender, parsed by Postmark."""
    from_: str | None = Field(default=None, alias="From")
    """The sender's address, when `FromFull` is missing."""
    to_full: list[PostmarkAddress] = Field(default_factory=list, alias="ToFull")
    """`To` recipients."""
    cc_full: list[PostmarkAddress] = Field(default_factory=list, alias="CcFull")
    """`Cc` recipients."""
    original_recipient: str | None = Field(default=None, alias="OriginalRecipient")
    """The address Postmark received the mail for (the envelope recipient)."""
    reply_to: str | None = Field(default=None, alias="ReplyTo")
    """`Reply-To`, as an address list."""
    subject: str | None = Field(default=None, alias="Subject")
    """Decoded subject."""
    message_id: str | None = Field(default=None, alias="MessageID")
    """Postmark's own id (a UUID), not the RFC Message-ID, which is in `Headers`."""
    date: str | None = Field(default=None, alias="Date")
    """`Date` header."""
    text_body: str | None = Field(default=None, alias="TextBody")
    """The text part."""
    html_body: str | None = Field(default=None, alias="HtmlBody")
    """The HTML part."""
    headers: list[PostmarkHeader] = Field(default_factory=list, alias="Headers")
    """Other headers, Message-ID, In-Reply-To and References among them."""
    attachments: list[PostmarkAttachment] = Field(default_factory=list, alias="Attachments")
    """Attachments."""


class SendGridEnvelope(_Payload):
    """SendGrid's `envelope` field: the SMTP envelope."""

    to: list[str] = Field(default_factory=list)
    """Envelope recipients."""
    from_: str | None = Field(default=None, alias="from")
    """Envelope sender."""


class SendGridAttachment(_Payload):
    """One value of SendGrid's `attachment-info` field (non-raw mode)."""

    filename: str | None = None
    """File name."""
    type: str = "application/octet-stream"
    """MIME type."""


_M = TypeVar("_M", bound=BaseModel)
_ATTACHMENT_INFO = TypeAdapter(dict[str, SendGridAttachment])


def _validated(model: type[_M], data: object, what: str) -> _M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise EmailParseError(f"malformed {what}: {_reasons(exc)}") from None


def _reasons(exc: ValidationError) -> str:
    reasons = [f"{'.'.join(map(str, e['loc'])) or 'payload'}: {e['msg']}" for e in exc.errors()]
    return "; ".join(reasons[:3])


def _json(value: str, what: str) -> object:
    try:
        return json.loads(value)
    except ValueError:
        raise EmailParseError(f"malformed {what}: not JSON") from None


def _encoded_size(*texts: str) -> int:
    return sum(len(text.encode("utf-8", "surrogatepass")) for text in texts)


def _fingerprint(data: object) -> bytes:
    """Canonical JSON of a payload: a provider's retry of the same mail gives the same bytes."""
    return json.dumps(data, sort_keys=True, default=str).encode()


def _postmark_parts(mail: PostmarkInbound) -> MailParts:
    headers: dict[str, str] = {}
    for header in mail.headers:
        headers.setdefault(header.name.strip().lower(), header.value)
    if mail.from_full is not None:
        sender: tuple[str, str] | None = (mail.from_full.name or "", mail.from_full.email)
    else:
        sender = next(iter(parse_addresses(mail.from_)), None)
    reply_to = parse_addresses(mail.reply_to)
    text, html = mail.text_body or "", mail.html_body or ""
    return MailParts(
        size=_encoded_size(text, html, *(f"{h.name}: {h.value}" for h in mail.headers))
        + sum(a.content_length for a in mail.attachments),
        fingerprint=_fingerprint(mail.model_dump()),
        sender=sender,
        message_id=headers.get("message-id"),
        in_reply_to=headers.get("in-reply-to"),
        references=headers.get("references"),
        reply_to=reply_to[0][1] if reply_to else None,
        to=[a.email for a in mail.to_full],
        cc=[a.email for a in mail.cc_full],
        envelope_to=[mail.original_recipient] if mail.original_recipient else [],
        subject=mail.subject or "",
        date=mail.date or headers.get("date"),
        auto_headers={n: headers[n] for n in AUTO_HEADERS if n in headers},
        plain=text,
        html=html,
        attachments=[
            make_attachment(a.name, a.content_type, a.content_length) for a in mail.attachments
        ],
    )


def parse_postmark(
    payload: Mapping[str, object],
    *,
    max_bytes: int,
    max_text_chars: int = MAX_TEXT_CHARS,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> ParsedEmail:
    """Parse Postmark's inbound JSON; EmailParseError (EmailTooLarge) when unusable.

    Postmark's own `StrippedTextReply` is not used: replies are stripped the same way
    whichever provider delivered them.
    """
    with parse_errors("Postmark payload"):
        mail = _validated(PostmarkInbound, payload, "Postmark payload")
        parts = _postmark_parts(mail)
        check_size(parts.size, max_bytes)
        return build_email(parts, max_text_chars=max_text_chars, languages=languages)


def _field(fields: Mapping[str, object], name: str) -> str | None:
    value = fields.get(name)
    if value is None or isinstance(value, str):
        return value
    raise EmailParseError(f"malformed SendGrid form: field {name!r} is not text")


def _sendgrid_fields_parts(fields: Mapping[str, object]) -> MailParts:
    """Non-raw mode: bodies and addresses in their own fields, other headers in `headers`."""
    header_block = _field(fields, "headers") or ""
    headers = HeaderParser(policy=default_policy).parsestr(header_block)

    def header(name: str) -> str | None:
        return header_text(headers, name)

    text, html = _field(fields, "text"), _field(fields, "html")
    info = _json(_field(fields, "attachment-info") or "{}", "SendGrid attachment-info")
    try:
        attachments = _ATTACHMENT_INFO.validate_python(info)
    except ValidationError as exc:
        raise EmailParseError(f"malformed SendGrid attachment-info: {_reasons(exc)}") from None
    senders = parse_addresses(_field(fields, "from") or header("from"))
    reply_to = parse_addresses(header("reply-to"))
    return MailParts(
        size=_encoded_size(text or "", html or "", header_block),
        fingerprint=_fingerprint({k: v for k, v in fields.items() if isinstance(v, str)}),
        sender=senders[0] if senders else None,
        message_id=header("message-id"),
        in_reply_to=header("in-reply-to"),
        references=header("references"),
        reply_to=reply_to[0][1] if reply_to else None,
        to=[a for _, a in parse_addresses(_field(fields, "to") or header("to"))],
        cc=[a for _, a in parse_addresses(_field(fields, "cc") or header("cc"))],
        subject=_field(fields, "subject") or header("subject") or "",
        date=header("date"),
        auto_headers={n: v for n in AUTO_HEADERS if (v := header(n)) is not None},
        plain=text,
        html=html,
        attachments=[make_attachment(a.filename, a.type, None) for a in attachments.values()],
    )


def _raw_bytes(raw: str) -> bytes:
    try:  # undo a surrogateescape decode of the form, if the web layer did one
        return raw.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return raw.encode("utf-8", "replace")


def parse_sendgrid_form(
    fields: Mapping[str, object],
    *,
    max_bytes: int,
    max_text_chars: int = MAX_TEXT_CHARS,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> ParsedEmail:
    """Parse SendGrid Inbound Parse form fields; EmailParseError (EmailTooLarge) when unusable.

    Raw mode (the whole MIME in `email`) is preferred; the non-raw fields are understood too.
    """
    with parse_errors("SendGrid form"):
        raw = _field(fields, "email")
        if raw is not None:
            raw_bytes = _raw_bytes(raw)
            check_size(len(raw_bytes), max_bytes)
            parts = mime_parts(raw_bytes)
        else:
            parts = _sendgrid_fields_parts(fields)
            check_size(parts.size, max_bytes)
        if (envelope_field := _field(fields, "envelope")) is not None:
            envelope = _json(envelope_field, "SendGrid envelope")
            env = _validated(SendGridEnvelope, envelope, "SendGrid envelope")
            parts = dataclasses.replace(parts, envelope_from=env.from_, envelope_to=env.to)
        return build_email(parts, max_text_chars=max_text_chars, languages=languages)
