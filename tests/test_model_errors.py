"""How a thread fails when the model cannot be called: configuration apart from rejections."""

from __future__ import annotations

import httpx
import pytest

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import wait_for


async def failed_reason(api: httpx.AsyncClient) -> str:
    reply = await api.post("/threads", json={"agent": "deploy", "message": "list services"})
    assert reply.status_code == 202, reply.text
    view = await wait_for(api, reply.json()["thread_id"], "failed")
    error: str = view["error"]
    return error


async def test_a_missing_key_says_what_to_set_and_where(settings: Settings) -> None:
    no_key = settings.model_copy(update={"anthropic_api_key": None})
    async with app_client(no_key) as api:
        error = await failed_reason(api)
    assert error.startswith("hitlbot is not configured"), error
    assert "ANTHROPIC_API_KEY is not set" in error
    assert "in the environment or in .env" in error and "restart" in error
    assert "refused" not in error and "rejected" not in error


@pytest.mark.parametrize(
    ("status", "message", "names"),
    [
        (401, "invalid x-api-key", "did not accept ANTHROPIC_API_KEY"),
        (403, "this key may not use the API", "did not accept ANTHROPIC_API_KEY"),
        (404, "model: claude-test", "found no model 'claude-test'"),
    ],
)
async def test_a_rejected_key_or_model_is_a_configuration_error(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub, status: int, message: str, names: str
) -> None:
    anthropic_stub.fail(status, message=message)
    error = await failed_reason(api)
    assert error.startswith("hitlbot is not configured"), error
    assert names in error and f"HTTP {status}: {message}" in error
    assert ("HITLBOT_MODEL" if status == 404 else ".env") in error
    assert len(anthropic_stub.requests) == 1  # a retry cannot fix configuration


async def test_a_bad_request_is_the_apis_rejection_not_configuration(
    api: httpx.AsyncClient, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.fail(400, message="tools.0: bad schema")
    error = await failed_reason(api)
    assert error == "the Messages API rejected the request: HTTP 400: tools.0: bad schema"
