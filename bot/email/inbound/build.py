"""Build the email: the rules every inbound format shares (required parts, ids, caps, replies).

Each format (raw MIME, Postmark, SendGrid) only translates its input into `MailParts`;
`build_email` turns those into a `ParsedEmail` the same way for all of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from bot.email.headers import (
    clean_address,
    is_auto_submitted,
    message_ids,
    normalize_message_id,
    parse_date,
    synthetic_message_id,
)
from bot.email.inbound.htmltext import html_to_text
from bot.email.inbound.reply import DEFAULT_LANGUAGES, extract_reply
from bot.email.message import Attachment, EmailParseError, EmailTooLarge, ParsedEmail

MAX_TEXT_CHARS = 20_000
"""Default cap on the text handed on (the model sees it; the reply parser scans it)."""
_MAX_SUBJECT_CHARS = 998
_MAX_HTML_CHARS = 1_000_000
"""HTML converted to text; past this the text is far over any sane cap (and HTMLParser
runs at a few MB/s)."""
_SPACES = re.compile(r"\s+")
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True, kw_only=True)
class MailParts:
    """What a format yields, as found: header values unnormalized, bodies decoded."""

    size: int
    """Bytes received, for the size limit."""
    fingerprint: bytes
    """Stable bytes identifying this mail, hashed into a Message-ID when it has none."""
    sender: tuple[str, str] | None
    """`(display name, address)` of `From`."""
    message_id: str | None = None
    """`Message-ID` as written; `In-Reply-To` and `References` likewise."""
    in_reply_to: str | None = None
    references: str | None = None
    reply_to: str | None = None
    """The first `Reply-To` address."""
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    envelope_from: str | None = None
    envelope_to: Sequence[str] = ()
    subject: str = ""
    """Decoded subject, possibly folded."""
    date: str | None = None
    """`Date` as written."""
    auto_headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case name -> value of the headers in `headers.AUTO_HEADERS`."""
    plain: str | None = None
    """The text part(s), decoded."""
    html: str | None = None
    """The first HTML part, decoded."""
    attachments: Sequence[Attachment] = ()


def check_size(size: int, max_bytes: int) -> None:
    """Refuse a mail over the limit before any expensive work."""
    if size > max_bytes:
        raise EmailTooLarge(f"message is {size} bytes, over the {max_bytes} byte limit")


@contextmanager
def parse_errors(what: str) -> Iterator[None]:
    """Turn any failure inside into EmailParseError.

    The stdlib MIME and header parsers have known crashes on hostile input (IndexError,
    AttributeError, RecursionError...); callers are promised one exception type only.
    """
    try:
        yield
    except EmailParseError:
        raise
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"[:200]
        raise EmailParseError(f"unreadable {what}: {reason}") from exc


def clean_text(value: str) -> str:
    """`value` with stray surrogates (undecodable bytes, broken JSON escapes) repaired."""
    try:
        # Bytes the parser smuggled in as surrogates are usually raw UTF-8: decode them.
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut to `limit` characters plus a marker line, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n[... truncated: {len(text) - limit} more characters]", True


def make_attachment(filename: str | None, content_type: str, size: int | None) -> Attachment:
    """An Attachment with its strings repaired, so the result always serializes."""
    name = clean_text(filename).strip() if filename else None
    kind = clean_text(content_type).strip().lower()[:255] or "application/octet-stream"
    return Attachment(filename=name or None, content_type=kind, size=size)


def _body_text(parts: MailParts) -> tuple[str, str | None, bool]:
    """The plain text to use (text part, else converted HTML), the HTML body, and whether
    the HTML was cut before conversion."""
    html = clean_text(parts.html) if parts.html is not None else None
    plain = clean_text(parts.plain or "")
    cut = False
    if plain.strip():
        text = plain
    else:
        text = html_to_text((html or "")[:_MAX_HTML_CHARS])
        cut = len(html or "") > _MAX_HTML_CHARS
    lines = (line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    # Runs of blank lines say nothing, and the reply parser's patterns are slow on them.
    text = _BLANK_RUNS.sub("\n\n", "\n".join(lines))
    return text.strip("\n"), html, cut


def _addresses(values: Sequence[str]) -> list[str]:
    return [a for v in values if (a := clean_address(clean_text(v)))]


def build_email(
    parts: MailParts,
    *,
    max_text_chars: int = MAX_TEXT_CHARS,
    languages: Sequence[str] = DEFAULT_LANGUAGES,
) -> ParsedEmail:
    """The ParsedEmail for `parts`; EmailParseError if it has no sender or no body."""
    name, address = parts.sender or ("", "")
    sender = clean_address(clean_text(address))
    if sender is None:
        raise EmailParseError(f"no usable From address (got {address[:100]!r})")
    full_text, html, html_cut = _body_text(parts)
    if not full_text.strip():
        raise EmailParseError("message has neither a text nor an HTML body (headers only)")
    text, truncated = cap_text(full_text, max_text_chars)
    truncated = truncated or html_cut
    message_id = normalize_message_id(parts.message_id)
    subject = _SPACES.sub(" ", clean_text(parts.subject)).strip()[:_MAX_SUBJECT_CHARS]
    return ParsedEmail(
        # No Message-ID: provider retries must still dedupe, so derive one from the mail.
        message_id=message_id or synthetic_message_id(parts.fingerprint),
        message_id_synthesized=message_id is None,
        in_reply_to=normalize_message_id(parts.in_reply_to),
        references=message_ids(parts.references),
        sender=sender,
        sender_name=clean_text(name).strip() or None,
        reply_to=clean_address(clean_text(parts.reply_to or "")),
        to=_addresses(parts.to),
        cc=_addresses(parts.cc),
        envelope_from=clean_address(clean_text(parts.envelope_from or "")),
        envelope_to=_addresses(parts.envelope_to),
        subject=subject,
        date=parse_date(parts.date),
        text=text,
        text_truncated=truncated,
        reply_text=extract_reply(text, languages),
        html=html,
        attachments=list(parts.attachments),
        auto_submitted=is_auto_submitted(parts.auto_headers),
        size=parts.size,
    )
