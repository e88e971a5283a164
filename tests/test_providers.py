"""Claude on AWS Bedrock and Google Vertex AI, through the SDK's own clients, against a local
stand-in of each endpoint's shape: the same request (cache marks included), the same one tool
call and usage, the same error mapping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.config import NotConfigured, Settings
from bot.core.model import LLMFatal, LLMUnavailable
from bot.dev.server import _model as banner_model_line
from bot.llm.claude import AnthropicModel, request_params
from bot.llm.providers import cache_policy, claude
from bot.standins.anthropic_stub import AnthropicStub

BEDROCK_MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
VERTEX_MODEL = "claude-sonnet-4-5@20250929"
TOOLS = [
    {
        "name": "lookup",
        "description": "Look a thing up.",
        "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
    }
]
LONG_LOG = "\n".join(f"<lookup_result>\n{'row ' * 300}\n</lookup_result>" for _ in range(5))


@pytest.fixture
def stub() -> Iterator[AnthropicStub]:
    """On its own thread: Vertex's client refreshes its Google token with a blocking call."""
    with AnthropicStub.run_in_thread() as running:
        yield running


def settings_for(provider: str, model: str) -> Settings:
    return Settings(_env_file=None, HITLBOT_MODEL_PROVIDER=provider, HITLBOT_MODEL=model)


async def _ask(model: AnthropicModel) -> Any:
    try:
        return await model.next_call(system="You look things up.", context=LONG_LOG, tools=TOOLS)
    finally:
        await model.aclose()


def _same_request_as_the_api(body: dict[str, Any]) -> None:
    expected = request_params(system="You look things up.", context=LONG_LOG, tools=TOOLS)
    sent = {k: v for k, v in body.items() if k not in ("anthropic_version", "max_tokens")}
    assert sent == expected and body["anthropic_version"]
    assert "model" not in body  # named in the path


@pytest.fixture
def bedrock_env(monkeypatch: pytest.MonkeyPatch, stub: AnthropicStub) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_BEARER_TOKEN_BEDROCK", raising=False)
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", stub.base_url)


async def test_bedrock_signs_the_same_request_and_reads_one_tool_call(
    bedrock_env: None, stub: AnthropicStub
) -> None:
    stub.reply_tool("lookup", {"q": "x"})
    model = claude(settings_for("bedrock", BEDROCK_MODEL))
    assert isinstance(model.client, anthropic.AsyncAnthropicBedrock)
    call = await _ask(model)
    assert (call.name, call.args) == ("lookup", {"q": "x"})
    (request,) = stub.requests
    assert (
        request.path.startswith("/model/anthropic.claude-sonnet-4-5") and "invoke" in request.path
    )
    assert request.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/bedrock/" in request.headers["authorization"]
    _same_request_as_the_api(request.body)
    assert call.usage is not None and call.usage.cache_write_tokens > 0  # the marks were kept


@pytest.mark.parametrize(
    ("status", "error"), [(429, LLMUnavailable), (529, LLMUnavailable), (400, LLMFatal)]
)
async def test_bedrock_errors_map_as_the_apis_do(
    bedrock_env: None, stub: AnthropicStub, status: int, error: type[Exception]
) -> None:
    stub.fail(status)
    settings = settings_for("bedrock", BEDROCK_MODEL).model_copy(update={"llm_sdk_retries": 0})
    with pytest.raises(error):
        await _ask(claude(settings))


async def test_bedrock_refusing_the_credentials_says_what_to_check(
    bedrock_env: None, stub: AnthropicStub
) -> None:
    stub.fail(403, message="The security token included in the request is invalid.")
    with pytest.raises(NotConfigured, match="AWS Bedrock did not accept the AWS credentials"):
        await _ask(claude(settings_for("bedrock", BEDROCK_MODEL)))


def test_bedrock_without_a_region_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(NotConfigured, match="needs AWS_REGION"):
        claude(settings_for("bedrock", BEDROCK_MODEL))


@pytest.fixture
def vertex_env(monkeypatch: pytest.MonkeyPatch, stub: AnthropicStub, tmp_path: Path) -> None:
    """Application default credentials of a service account whose token endpoint is the
    stand-in's (`/token`): google-auth's real signed-JWT exchange, no network."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    credentials = tmp_path / "adc.json"
    credentials.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "hitlbot-test",
                "private_key_id": "k1",
                "private_key": pem,
                "client_email": "hitlbot@hitlbot-test.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"{stub.base_url}/token",
            }
        )
    )
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(credentials))
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.setenv("ANTHROPIC_VERTEX_PROJECT_ID", "hitlbot-test")
    monkeypatch.setenv("ANTHROPIC_VERTEX_BASE_URL", f"{stub.base_url}/v1")


async def test_vertex_sends_the_same_request_with_a_google_token(
    vertex_env: None, stub: AnthropicStub
) -> None:
    stub.reply_tool("lookup", {"q": "y"})
    model = claude(settings_for("vertex", VERTEX_MODEL))
    assert isinstance(model.client, anthropic.AsyncAnthropicVertex)
    call = await _ask(model)
    assert (call.name, call.args) == ("lookup", {"q": "y"})
    (request,) = stub.requests
    assert request.path == (
        "/v1/projects/hitlbot-test/locations/us-east5/publishers/anthropic/models/"
        f"{VERTEX_MODEL}:rawPredict"
    )
    assert request.headers["authorization"] == f"Bearer {stub.google_token}"
    _same_request_as_the_api(request.body)
    assert call.usage is not None and call.usage.model == VERTEX_MODEL


async def test_vertex_errors_map_as_the_apis_do(vertex_env: None, stub: AnthropicStub) -> None:
    stub.fail(429)
    settings = settings_for("vertex", VERTEX_MODEL).model_copy(update={"llm_sdk_retries": 0})
    with pytest.raises(LLMUnavailable):
        await _ask(claude(settings))
    stub.fail(403)
    with pytest.raises(NotConfigured, match="Google Vertex AI did not accept"):
        await _ask(claude(settings))


def test_vertex_without_a_project_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUD_ML_REGION", "us-east5")
    monkeypatch.delenv("ANTHROPIC_VERTEX_PROJECT_ID", raising=False)
    with pytest.raises(NotConfigured, match="needs ANTHROPIC_VERTEX_PROJECT_ID"):
        claude(settings_for("vertex", VERTEX_MODEL))


def test_a_cloud_provider_needs_no_anthropic_key_and_is_never_offline() -> None:
    settings = Settings(_env_file=None, HITLBOT_MODEL_PROVIDER="bedrock")
    assert not settings.offline_model()
    assert banner_model_line(settings) == "Model: claude-sonnet-5-5 on bedrock"  # not MISSING
    assert cache_policy(settings).enabled
    off = Settings(_env_file=None, HITLBOT_PROMPT_CACHE=False)
    assert not cache_policy(off).enabled
    haiku = Settings(_env_file=None, HITLBOT_MODEL="claude-3-5-haiku-latest")
    assert cache_policy(haiku).min_tokens == 2048
