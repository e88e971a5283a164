"""Who an API client is: the identity its bearer key acts as.

Until per-client keys (`HITLBOT_API_KEYS`) land, the one key is `HITLBOT_API_TOKEN`, whose
identity is `api`; this is the one function to swap for theirs.
"""

from __future__ import annotations

from fastapi import Request

from bot.api.http import Credentials, require_token

TOKEN_IDENTITY = "api"
"""Who `HITLBOT_API_TOKEN` acts as."""


async def client_identity(request: Request, credentials: Credentials) -> str:
    """The identity of the request's bearer key; 401 for a missing or wrong key."""
    await require_token(request, credentials)
    return TOKEN_IDENTITY
