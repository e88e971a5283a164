"""Claude, the model adapter (factor 1): one Messages API request in, exactly one tool call out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, cast

import anthropic
from anthropic.types import Message, ToolUseBlock
from jiter import from_json

from bot.config import NotConfigured
from bot.core.events import Usage
from bot.core.model import REASON_FIELD, LLMFatal, LLMUnavailable, ModelCall, ModelOutputError
from bot.llm.cache import DEFAULT, CachePolicy, cached_request
from bot.llm.streamed import OnAnswer, streamed_message

HOW_TO_SET_KEY = (
    "set ANTHROPIC_API_KEY=sk-ant-... in the environment or in .env (see .env.example), "
    "then restart hitlbot"
)
"""The fix for a missing or rejected key, said the same way wherever it comes up."""


class AnthropicModel:
    """Claude through the official async SDK, forced to answer with exactly one tool call."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic | Any,
        model: str,
        max_tokens: int,
        cache: CachePolicy = DEFAULT,
        provider: str = "anthropic",
    ) -> None:
        self.client = client
        """`AsyncAnthropic`, `AsyncAnthropicBedrock` or `AsyncAnthropicVertex`: one API."""
        self.model = model
        self.max_tokens = max_tokens
        self.cache = cache
        self.provider = provider
        """`HITLBOT_MODEL_PROVIDER`: what an error message tells the operator to check."""

    async def aclose(self) -> None:
        await self.client.close()

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        params = request_params(system=system, context=context, tools=tools, cache=self.cache)
        started = time.perf_counter()
        try:
            # The SDK's request (retries, auth, the provider's client), its answer read here:
            # building the SDK's response models cost more than the one tool call needs.
            raw = await self.client.messages.with_raw_response.create(
                model=self.model, max_tokens=self.max_tokens, **cast(Any, params)
            )
            body = await raw.read()
        except anthropic.APIError as exc:
            raise failure(exc, self.model, self.provider) from exc
        return read_body(body, self.model, started)

    async def next_call_streaming(
        self,
        *,
        system: str,
        context: str,
        tools: Sequence[dict[str, Any]],
        on_answer: OnAnswer,
    ) -> ModelCall:
        """`next_call`, streamed: the final answer's text to `on_answer` as it is written."""
        params = request_params(system=system, context=context, tools=tools, cache=self.cache)
        params |= {"model": self.model, "max_tokens": self.max_tokens}
        started = time.perf_counter()
        try:
            message = await streamed_message(self.client, params, on_answer)
        except anthropic.APIError as exc:
            raise failure(exc, self.model, self.provider) from exc
        return read_reply(message, usage_of(message, self.model, started))


def failure(exc: anthropic.APIError, model: str, provider: str = "anthropic") -> Exception:
    """What a failed request means to the loop: retry later, fix a setting, or give up."""
    if isinstance(exc, anthropic.APITimeoutError | anthropic.APIConnectionError):
        return LLMUnavailable(f"{type(exc).__name__}: {exc}")
    if not isinstance(exc, anthropic.APIStatusError):
        return LLMFatal(f"{type(exc).__name__}: {exc}")
    detail = f"HTTP {exc.status_code}: {_message(exc)}"
    if exc.status_code in (408, 409, 429) or exc.status_code >= 500:
        return LLMUnavailable(detail)
    where, credentials, fix = PROVIDERS.get(provider, PROVIDERS["anthropic"])
    if exc.status_code in (401, 403):
        return NotConfigured(f"{where} did not accept {credentials} ({detail}); {fix}")
    if exc.status_code == 404:
        return NotConfigured(
            f"{where} found no model {model!r} ({detail}); set HITLBOT_MODEL to a Claude model "
            f"id your {credentials} may use (and check the base URL, if set), then restart hitlbot"
        )
    return LLMFatal(detail)


PROVIDERS: dict[str, tuple[str, str, str]] = {
    "anthropic": ("the Messages API", "ANTHROPIC_API_KEY", HOW_TO_SET_KEY),
    "bedrock": (
        "AWS Bedrock",
        "the AWS credentials",
        "check AWS_REGION and the credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
        "AWS_PROFILE, a role, or AWS_BEARER_TOKEN_BEDROCK), and that the model is enabled for "
        "the account in Bedrock, then restart hitlbot",
    ),
    "vertex": (
        "Google Vertex AI",
        "the Google credentials",
        "check CLOUD_ML_REGION, ANTHROPIC_VERTEX_PROJECT_ID and the credentials "
        "(GOOGLE_APPLICATION_CREDENTIALS, or gcloud auth application-default login), and that "
        "the model is enabled in the project's Model Garden, then restart hitlbot",
    ),
}
"""Per provider: who answered, what it did not accept, and how to fix it."""


def read_reply(message: Message, usage: Usage) -> ModelCall:
    """The one tool call of a whole answer (a streamed one too, once it has ended)."""
    calls = [block for block in message.content if isinstance(block, ToolUseBlock)]
    if len(calls) != 1:
        raise ModelOutputError(f"expected exactly one tool call, got {len(calls)}", usage)
    args = calls[0].input if isinstance(calls[0].input, dict) else {}
    return ModelCall(
        name=calls[0].name, args=dict(args), usage=usage, stop_reason=message.stop_reason
    )


def read_body(body: bytes, model: str, started: float) -> ModelCall:
    """`read_reply` of an answer's JSON as sent (`with_raw_response`), without the SDK's
    models: the one tool call, the stop reason and the usage are all a step needs."""
    try:
        message = from_json(body)
    except ValueError as exc:
        raise LLMFatal(f"the Messages API's answer is not JSON: {exc}") from exc
    if not isinstance(message, dict):
        raise LLMFatal("the Messages API's answer is not a message")
    counts = message.get("usage") or {}
    usage = Usage(
        model=message.get("model") or model,
        input_tokens=counts.get("input_tokens") or 0,
        output_tokens=counts.get("output_tokens") or 0,
        cache_read_tokens=counts.get("cache_read_input_tokens") or 0,
        cache_write_tokens=counts.get("cache_creation_input_tokens") or 0,
        latency_ms=round((time.perf_counter() - started) * 1000),
    )
    calls = [
        block
        for block in message.get("content") or ()
        if isinstance(block, dict) and block.get("type") == "tool_use"
    ]
    if len(calls) != 1:
        raise ModelOutputError(f"expected exactly one tool call, got {len(calls)}", usage)
    args = calls[0].get("input")
    return ModelCall(
        name=calls[0].get("name") or "",
        args=dict(args) if isinstance(args, dict) else {},
        usage=usage,
        stop_reason=message.get("stop_reason"),
    )


def usage_of(message: Message, model: str, started: float) -> Usage:
    """The answer's `usage`, with the time since `started` (a `time.perf_counter()`)."""
    usage = message.usage
    return Usage(
        model=message.model or model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_input_tokens or 0,
        cache_write_tokens=usage.cache_creation_input_tokens or 0,
        latency_ms=round((time.perf_counter() - started) * 1000),
    )


def request_params(
    *,
    system: str,
    context: str,
    tools: Sequence[dict[str, Any]],
    cache: CachePolicy = DEFAULT,
) -> dict[str, Any]:
    """The Messages API request of one step, but for `model` and `max_tokens` (settings):
    what the model reads, as sent, cache breakpoints included (`bot.llm.cache`).
    `hitlbot eval` compares these, byte for byte."""
    marked_system, messages, marked_tools = cached_request(
        system, context, [_with_reason(tool) for tool in tools], cache
    )
    return {
        "system": marked_system,
        "messages": messages,
        "tools": marked_tools,
        "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
    }


class MissingCredentials:
    """Stands in when no API key is configured, so the thread fails saying exactly that."""

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        raise NotConfigured(
            f"ANTHROPIC_API_KEY is not set, so no model can be called; {HOW_TO_SET_KEY}"
        )

    async def aclose(self) -> None:
        pass


def _with_reason(tool: dict[str, Any]) -> dict[str, Any]:
    schema = dict(tool["input_schema"])
    properties = dict(schema.get("properties", {}))
    if REASON_FIELD in properties:  # the tool has a `reason` of its own; it serves both ends
        return tool
    properties[REASON_FIELD] = {
        "type": "string",
        "description": "One short sentence: why this call, for the humans who review it.",
    }
    return {**tool, "input_schema": {**schema, "properties": properties}}


def _message(exc: anthropic.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
    return str(exc.message)
