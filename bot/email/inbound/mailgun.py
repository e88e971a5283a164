"""Mailgun's webhook signature: HMAC-SHA256 of `timestamp` + `token` with the signing key.

A signature is good for `MAX_AGE_S` around its timestamp and for one use: a replayed token
is refused (the caller remembers tokens with SET NX for longer than the window).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

MAX_AGE_S = 300
"""How far a signature's timestamp may be from now, either way."""


class BadSignature(Exception):
    """The request is not signed by Mailgun with our key (or is stale); answer 401."""


def check_signature(fields: Mapping[str, str], key: str, now: float) -> str:
    """Verify the signature fields; returns the token, to be refused if seen again."""
    timestamp, token, signature = (fields.get(n) or "" for n in ("timestamp", "token", "signature"))
    if not (timestamp and token and signature):
        raise BadSignature("no Mailgun signature (timestamp, token, signature) and no secret")
    expected = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise BadSignature("the Mailgun signature does not match")
    try:
        age = abs(now - float(timestamp))
    except ValueError:
        raise BadSignature("the Mailgun timestamp is not a number") from None
    if not age <= MAX_AGE_S:  # written so that a NaN timestamp fails too
        raise BadSignature(f"the Mailgun signature is stale ({age:.0f} s off)")
    return token


def sign(key: str, timestamp: str, token: str) -> str:
    """The signature Mailgun would send (for tests and local tools)."""
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
