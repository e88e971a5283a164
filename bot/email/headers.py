"""Pure helpers over header values: Message-IDs, addresses, dates, auto-reply markers."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import AddressHeader, HeaderRegistry
from email.message import Message
from email.utils import parsedate_to_datetime

# A msg-id is printable ASCII between angle brackets; 998 is the RFC 5322 line limit and
# keeps a hostile id from becoming a megabyte Redis key.
_MSG_ID = re.compile(r"<([\x21-\x3b\x3d\x3f-\x7e]{1,998})>")
_BARE_ID = re.compile(r"[\x21-\x3b\x3d\x3f-\x7e]{1,998}")
MAX_REFERENCES = 100
"""References kept: the first (thread root) and the most recent ones, as RFC 5322 advises."""
AUTO_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "return-path",
    "content-type",
)
"""The headers `is_auto_submitted` looks at (lower-case)."""
_COLON_ZONE = re.compile(r"([+-]\d{2}):(\d{2})(?=\s*(?:\(.*\))?$)")
_REGISTRY = HeaderRegistry()
_HEADER_PARSER_BUGS = (IndexError, AttributeError, TypeError, ValueError, HeaderParseError)


def normalize_message_id(value: str | None) -> str | None:
    """The first Message-ID in `value` as `<id>`, or None when there is none.

    Accepts the bracketed form with surrounding comments (`<a@b> (added by X)`) and a bare
    id (`a@b`), which some mailers and providers emit.
    """
    if not value:
        return None
    found = _MSG_ID.search(value)
    if found:
        return f"<{found.group(1)}>"
    bare = value.strip()
    return f"<{bare}>" if _BARE_ID.fullmatch(bare) else None


def message_ids(value: str | None) -> list[str]:
    """Every Message-ID of a `References`-style header, in order, capped at MAX_REFERENCES."""
    if not value:
        return []
    ids = [f"<{found}>" for found in _MSG_ID.findall(value)]
    if not ids:
        ids = [i for token in re.split(r"[\s,]+", value) if (i := normalize_message_id(token))]
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1) :]
    return ids


def synthetic_message_id(fingerprint: bytes) -> str:
    """A Message-ID derived from the mail itself, so the same mail always gets the same one."""
    digest = hashlib.sha256(fingerprint).hexdigest()[:40]
    return f"<{digest}@synthesized.hitlbot.invalid>"


def clean_address(value: str | None) -> str | None:
    """`value` lower-cased and stripped if it looks like `local@domain`, else None."""
    if not value:
        return None
    address = value.strip().lower()
    local, at, domain = address.rpartition("@")
    if not (local and at and domain) or re.search(r"[\s<>@]", domain):
        return None
    return address


def header_value(msg: Message, name: str) -> object:
    """The parsed header `name` of `msg`; None when absent or when the stdlib cannot parse it.

    Its header parser raises on some malformed values; treating such a header as absent
    keeps one garbled Cc or Message-ID from sinking the mail (a garbled From still does).
    """
    try:
        return msg.get(name)
    except _HEADER_PARSER_BUGS:
        return None


def header_text(msg: Message, name: str) -> str | None:
    """The decoded value of header `name`, or None (see `header_value`)."""
    header = header_value(msg, name)
    return None if header is None else str(header)


def header_addresses(msg: Message, name: str) -> list[tuple[str, str]]:
    """`(display name, address)` pairs of address header `name` (see `_addresses_of`)."""
    return _addresses_of(header_value(msg, name))


def parse_addresses(value: str | None) -> list[tuple[str, str]]:
    """`(display name, address)` pairs of an address-list value (see `_addresses_of`)."""
    if not value:
        return []
    try:
        header = _REGISTRY("to", value)
    except _HEADER_PARSER_BUGS:
        return []
    return _addresses_of(header)


def _addresses_of(header: object) -> list[tuple[str, str]]:
    """Pairs of a parsed address header, groups flattened, entries without an address dropped."""
    if not isinstance(header, AddressHeader):
        return []
    pairs = []
    for address in header.addresses:
        if address.username and address.domain and (clean := clean_address(address.addr_spec)):
            pairs.append((address.display_name.strip(), clean))
    return pairs


def address_domain(address: str) -> str | None:
    """The lower-cased domain of `address`, or None if it is not an address."""
    clean = clean_address(address)
    return clean.rpartition("@")[2] if clean else None


def split_plus_address(address: str) -> tuple[str, str | None, str] | None:
    """`support+abc@example.com` -> `("support", "abc", "example.com")`, lower-cased.

    The tag is None when there is no `+tag`; the result is None if `address` is not an
    address. Mail systems may change case, so tags must not rely on it.
    """
    clean = clean_address(address)
    if clean is None:
        return None
    local, _, domain = clean.rpartition("@")
    base, _, tag = local.partition("+")
    return (base, tag or None, domain) if base else None


def parse_date(value: str | None) -> datetime | None:
    """An RFC 5322 date as an aware datetime; `-0000` (zone unknown) is taken as UTC."""
    if not value:
        return None
    # Postmark writes zones as "-04:00", which the stdlib silently drops.
    value = _COLON_ZONE.sub(r"\1\2", value.strip())
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_auto_submitted(headers: Mapping[str, str]) -> bool:
    """Whether a machine sent the mail (RFC 3834 and the common de-facto markers).

    `headers` maps lower-case names (those of AUTO_HEADERS) to values. Bounces count too:
    a delivery report or a null envelope sender must never get an answer.
    """
    auto = headers.get("auto-submitted", "no").split(";")[0].strip().lower()
    precedence = headers.get("precedence", "").strip().lower()
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return (
        auto not in ("no", "")
        or precedence in ("bulk", "junk", "list")
        or "x-autoreply" in headers
        or "x-autorespond" in headers
        or headers.get("return-path", "").strip() == "<>"
        or content_type == "multipart/report"
    )
