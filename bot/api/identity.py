"""Who is calling the API: the identity a bearer credential carries (issue 18.2).

`HITLBOT_API_TOKEN` is the operator's key: it launches and reads, and decides only as
`operator` (or, with `HITLBOT_API_TRUSTED_DECISIONS`, for development, as whoever the body
names). Each key of `HITLBOT_API_KEYS` acts as one identity: a user id, which decides (and
answers, and writes) only as itself, so a quorum, the self-approval rule and the audit mean
over the API what they mean in Slack; or `service:NAME`, which never decides. `caller` is the
FastAPI dependency every API route (and the HumanLayer routes) authenticates with.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bot.config import Settings, api_keys
from bot.core.refusals import Forbidden

OPERATOR = "operator"
"""The identity of `HITLBOT_API_TOKEN`."""
SERVICE = "service:"
"""The prefix of an identity that may not decide."""


@dataclass(frozen=True)
class Identity:
    """The identity a request's credential carries."""

    name: str
    """Who it acts as: a user id, `operator`, or `service:NAME`."""
    client: str
    """Which credential, for the audit: `operator`, or the key's identity and a short
    fingerprint of the key (never the key)."""
    trusted: bool = False
    """The operator's token with `HITLBOT_API_TRUSTED_DECISIONS` on: it decides as the user
    a body names, unchecked (development only)."""

    @property
    def service(self) -> bool:
        """A service identity: it launches and reads, never decides."""
        return self.name.startswith(SERVICE)

    @property
    def operator(self) -> bool:
        """The operator's token (`HITLBOT_API_TOKEN`)."""
        return self.client == OPERATOR

    def decider(self, claimed: str | None) -> str:
        """Who a decision (or an answer) made with this credential is by: its identity;
        Forbidden for a service, or for a body naming someone else (unless trusted)."""
        if self.trusted:
            return claimed or self.name
        if self.service:
            raise Forbidden(self.name, "service")
        if claimed is not None and claimed != self.name:
            raise Forbidden(claimed, "not_you", detail=f"this credential acts as {self.name}")
        return self.name

    def writer(self, claimed: str | None) -> str | None:
        """Who a launch or a message made with this credential is from: a user key's own
        identity (its words make it the requester of what follows, so it is never taken
        from the body); the operator and services name whom they write for."""
        if self.operator or self.service:
            return claimed
        return self.decider(claimed)


bearer = HTTPBearer(
    auto_error=False,  # `caller` answers itself, with messages that say what is wrong
    scheme_name="HITLBOT_API_TOKEN",
    description="`HITLBOT_API_TOKEN` or a key of `HITLBOT_API_KEYS` "
    "(under `hitlbot dev`, `dev` unless you set one).",
)
"""The API's security scheme: declared so OpenAPI (and /docs's Authorize button) knows it."""
Credentials = Annotated[HTTPAuthorizationCredentials | None, Security(bearer)]


def identify(settings: Settings, given: str) -> Identity | None:
    """The identity `given` carries, or None. Every configured credential is compared, in
    constant time, whichever matches."""
    token = given.encode()
    found: Identity | None = None
    if settings.api_token and secrets.compare_digest(token, settings.api_token.encode()):
        found = Identity(OPERATOR, OPERATOR, trusted=settings.api_trusted_decisions)
    for key, name in _keys(settings.api_keys).items():
        if secrets.compare_digest(token, key.encode()) and found is None:
            found = Identity(name, f"{name}#{fingerprint(key)}")
    return found


@functools.lru_cache(maxsize=8)
def _keys(spec: str) -> dict[str, str]:
    """`HITLBOT_API_KEYS` parsed once per value (checked already when settings load)."""
    return api_keys(spec)


def fingerprint(key: str) -> str:
    """Eight hex digits that tell two keys apart in the audit without revealing either."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


async def caller(request: Request, credentials: Credentials) -> Identity:
    """The request's identity from its bearer credential; 401 if there is none."""
    settings: Settings = request.app.state.settings
    if not settings.api_token and not settings.api_keys.strip():
        raise HTTPException(401, "the API is disabled: set HITLBOT_API_TOKEN or HITLBOT_API_KEYS")
    found = identify(settings, credentials.credentials if credentials is not None else "")
    if found is None:
        raise HTTPException(401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"})
    return found


Caller = Annotated[Identity, Depends(caller)]
"""A route parameter: the caller's identity (authenticated once per request)."""
