"""The one Slack Web API client of a process: our base URL, a shared session, retries."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

TIMEOUT_S = 10
"""Seconds one Web API request may take."""


def slack_client(settings: Settings) -> AsyncWebClient | None:
    """The client, or None when `SLACK_BOT_TOKEN` is unset. Call inside a running loop.

    It retries rate limits (429, waiting `Retry-After`), 5xx answers and dropped connections;
    one aiohttp session keeps connections alive across calls (close it with `close_client`).
    """
    if not settings.slack_bot_token:
        return None
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=TIMEOUT_S,
        session=aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT_S)),
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


async def close_client(client: AsyncWebClient) -> None:
    """Close the client's session."""
    if client.session is not None:
        await client.session.close()
