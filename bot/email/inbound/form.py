"""HTML form bodies (SendGrid Inbound Parse, Mailgun routes) into their text fields (pure).

The stdlib's MIME parser reads `multipart/form-data` well enough, and keeps each field's
bytes exact: a raw message posted in a field must reach the MIME parser byte for byte, in
whatever charset it was written.
"""

from __future__ import annotations

import json
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32
from urllib.parse import parse_qsl

from bot.email.message import EmailParseError

RAW_FIELDS = frozenset({"email", "body-mime"})
"""Fields that carry a whole raw message: kept as bytes (decoded with surrogateescape)."""
MAX_FIELDS = 1000
"""More fields than any provider sends; a flood of tiny parts is refused."""


def _decode(name: str, data: bytes, charsets: dict[str, str]) -> str:
    if name in RAW_FIELDS:
        return data.decode("utf-8", "surrogateescape")
    charset = charsets.get(name, "utf-8")
    try:
        return data.decode(charset, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def _charsets(raw: bytes | None) -> dict[str, str]:
    """SendGrid's `charsets` field: the charset of each other field."""
    if not raw:
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {str(k): str(v) for k, v in found.items()}


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    msg = BytesParser(policy=compat32).parsebytes(head + body)
    if not msg.is_multipart():
        raise EmailParseError("malformed form: multipart/form-data without a boundary or parts")
    parts = msg.get_payload()
    if len(parts) > MAX_FIELDS:
        raise EmailParseError(f"malformed form: more than {MAX_FIELDS} fields")
    fields: dict[str, bytes] = {}
    for part in parts:
        if not isinstance(part, Message):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename() is not None:
            continue  # uploaded files are attachments: listed by the provider, content unused
        payload = part.get_payload(decode=True)
        fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


def parse_form(content_type: str, body: bytes) -> dict[str, str]:
    """The text fields of a form body; EmailParseError when it is not a readable form."""
    media = content_type.split(";")[0].strip().lower()
    try:
        if media == "application/x-www-form-urlencoded":
            pairs = parse_qsl(
                body.decode("latin-1"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="surrogateescape",
                max_num_fields=MAX_FIELDS,
            )
            raw = {k: v.encode("utf-8", "surrogateescape") for k, v in pairs}
        elif media == "multipart/form-data":
            raw = _multipart(content_type, body)
        else:
            raise EmailParseError(f"not a form: {media!r}")
    except EmailParseError:
        raise
    except Exception as exc:  # the stdlib parsers' crashes on hostile input
        raise EmailParseError(f"malformed form: {type(exc).__name__}: {exc}") from exc
    charsets = _charsets(raw.get("charsets"))
    return {name: _decode(name, data, charsets) for name, data in raw.items()}
