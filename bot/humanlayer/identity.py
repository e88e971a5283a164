"""Who an API client is: the identity its bearer key acts as (`bot.api.identity`).

`HITLBOT_API_TOKEN` acts as `operator`; each key of `HITLBOT_API_KEYS` as its own identity
(a user id, or `service:NAME`, which the policy never lets decide).
"""

from __future__ import annotations

from fastapi import Request

from bot.api.identity import OPERATOR, Credentials, caller

TOKEN_IDENTITY = OPERATOR
"""Who `HITLBOT_API_TOKEN` acts as."""


async def client_identity(request: Request, credentials: Credentials) -> str:
    """The identity of the request's bearer key; 401 for a missing or wrong key."""
    return (await caller(request, credentials)).name
