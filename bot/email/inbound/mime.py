"""Raw RFC 5322 / MIME messages (SMTP, SendGrid raw mode) into ParsedEmail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import Message

from bot.email.headers import AUTO_HEADERS, header_addresses, header_text
from bot.email.inbound.build import (
    MAX_TEXT_CHARS,
    MailParts,
    build_email,
    check_size,
    make_attachment,
    parse_errors,
)
from bot.email.inbound.reply import DEFAULT_LANGUAGES
from bot.email.message import Attachment, ParsedEmail

_MAX_DEPTH = 16
"""MIME nesting followed; real mail nests 3-4 deep, deeper is an attack or a loop."""


@dataclass
class _Bodies:
    plain: list[str] = field(default_factory=list)
    html: str | None = None
    attachments: list[Attachment] = field(default_factory=list)


def _decode(part: Message) -> str:
    """A text part's content in any charset Python knows; unknown ones read as UTF-8."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    if charset in ("us-ascii", "ascii"):
        charset = "utf-8"  # mislabelled 8-bit text is usually UTF-8, and ASCII is a subset
    try:
        return payload.decode(charset, errors="replace")
    except (LookupError, UnicodeError, ValueError):  # unknown, non-text, strict-only, NUL
        return payload.decode("utf-8", errors="replace")


def _is_attachment(part: Message) -> bool:
    return (
        part.get_content_type() not in ("text/plain", "text/html")
        or part.get_content_disposition() == "attachment"
        or part.get_filename() is not None
    )


def _walk(part: Message, found: _Bodies, depth: int = 0) -> None:
    """Collect the inline text parts, the first HTML part and the attachments."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        if depth < _MAX_DEPTH:
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    _walk(sub, found, depth + 1)
        return
    if _is_attachment(part):
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else None
        found.attachments.append(
            make_attachment(part.get_filename(), part.get_content_type(), size)
        )
    elif part.get_content_type() == "text/plain":
        found.plain.append(_decode(part))  # several when a client splits text around images
    elif found.html is None:
        found.html = _decode(part)


def mime_parts(raw: bytes) -> MailParts:
    """The parts of a raw message, before the shared rules apply."""
    msg = message_from_bytes(raw, policy=policy.default)
    found = _Bodies()
    _walk(msg, found)
    senders, reply_to = header_addresses(msg, "from"), header_addresses(msg, "reply-to")
    return MailParts(
        size=len(raw),
        fingerprint=raw,
        sender=senders[0] if senders else None,
        message_id=header_text(msg, "message-id"),
        in_reply_to=header_text(msg, "in-reply-to"),
        references=header_text(msg, "references"),
        reply_to=reply_to[0][1] if reply_to else None,
        to=[address for _, address in header_addresses(msg, "to")],
        cc=[address for _, address in header_addresses(msg, "cc")],
        subject=header_text(msg, "subject") or "",
        date=header_text(msg, "date"),
        auto_headers={n: v for n in AUTO_HEADERS if (v := header_text(msg, n)) is not None},
        plain="\n".join(found.plain),
        html=found.html,
        attachments=found.attachments,
    )


def parse_rfc822(
    raw: bytes,
    *,
    max_bytes: int,
    max_text_chars: int = MAX_TEXT_CHARS,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> ParsedEmail:
    """Parse one raw message; EmailParseError (EmailTooLarge) when it cannot be used."""
    check_size(len(raw), max_bytes)
    with parse_errors("message"):
        parts = mime_parts(raw)
        return build_email(parts, max_text_chars=max_text_chars, languages=languages)
