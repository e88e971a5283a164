"""Where Claude is called (`HITLBOT_MODEL_PROVIDER`): the Anthropic API, AWS Bedrock or Google
Vertex AI, each through the SDK's own client. The three speak the same Messages API, so one
adapter (`bot.llm.claude`) serves them all: the same request, the same one tool call, the same
errors. Each reads its own standard variables:

- `anthropic`: `ANTHROPIC_API_KEY` (and `ANTHROPIC_BASE_URL`);
- `bedrock`: `AWS_REGION`, and credentials from the usual AWS chain (`AWS_ACCESS_KEY_ID` /
  `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, `AWS_PROFILE`, an instance role; signed with
  `pip install hitlbot[bedrock]`) or a Bedrock API key (`AWS_BEARER_TOKEN_BEDROCK`);
  `ANTHROPIC_BEDROCK_BASE_URL` for another endpoint;
- `vertex`: `CLOUD_ML_REGION`, `ANTHROPIC_VERTEX_PROJECT_ID`, and Google's application default
  credentials (`GOOGLE_APPLICATION_CREDENTIALS`); needs `pip install hitlbot[vertex]`;
  `ANTHROPIC_VERTEX_BASE_URL` for another endpoint.
"""

from __future__ import annotations

import os
from typing import Any

import anthropic

from bot.config import NotConfigured, Settings
from bot.llm.cache import CachePolicy, min_tokens
from bot.llm.claude import AnthropicModel


def cache_policy(settings: Settings) -> CachePolicy:
    """The prompt-cache policy the settings ask for."""
    least = settings.prompt_cache_min_tokens or min_tokens(settings.model)
    return CachePolicy(enabled=settings.prompt_cache, min_tokens=least)


def claude(settings: Settings) -> AnthropicModel:
    """Claude through the provider's client: one for the process, its pool reused."""
    return AnthropicModel(
        client(settings),
        settings.model,
        settings.llm_max_tokens,
        cache_policy(settings),
        settings.model_provider,
    )


def client(settings: Settings) -> Any:
    """The SDK client of `settings.model_provider`."""
    # The SDK's aiohttp transport (aiohttp is here for Slack already): per call, about a third
    # less of the worker's CPU than its default httpx one (one socket write, a C parser).
    common: dict[str, Any] = {
        "timeout": settings.llm_timeout,
        "max_retries": settings.llm_sdk_retries,
        "http_client": anthropic.DefaultAioHttpClient(timeout=settings.llm_timeout),
    }
    if settings.model_provider == "bedrock":
        return _bedrock(common)
    if settings.model_provider == "vertex":
        return _vertex(common)
    return anthropic.AsyncAnthropic(**common)


def _bedrock(common: dict[str, Any]) -> Any:
    if not (os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")):
        raise NotConfigured(
            "HITLBOT_MODEL_PROVIDER=bedrock needs AWS_REGION (e.g. us-east-1), and AWS "
            "credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role)"
        )
    if not os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):  # else SigV4, signed with botocore
        try:
            import boto3  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:
            raise NotConfigured(
                "HITLBOT_MODEL_PROVIDER=bedrock signs its requests with the AWS libraries: "
                "pip install 'hitlbot[bedrock]' (or set AWS_BEARER_TOKEN_BEDROCK)"
            ) from None
    return anthropic.AsyncAnthropicBedrock(**common)


def _vertex(common: dict[str, Any]) -> Any:
    names = ("CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID")
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise NotConfigured(
            f"HITLBOT_MODEL_PROVIDER=vertex needs {' and '.join(missing)} (e.g. us-east5 and "
            "your Google Cloud project id), and Google credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS, or gcloud auth application-default login)"
        )
    try:
        import google.auth  # noqa: F401  (the client's credentials come from it)
    except ImportError:
        raise NotConfigured(
            "HITLBOT_MODEL_PROVIDER=vertex needs Google's auth library: "
            "pip install 'hitlbot[vertex]'"
        ) from None
    return anthropic.AsyncAnthropicVertex(**common)
