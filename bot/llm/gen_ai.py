"""A model call and a tool run as OpenTelemetry's GenAI semantic conventions name them
(`gen_ai.*`), for the spans of `bot.telemetry`: model, tokens, finish reason; never content."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.core.events import ToolCall, Usage

PROVIDERS = {"anthropic": "anthropic", "bedrock": "aws.bedrock", "vertex": "gcp.vertex_ai"}
"""`gen_ai.provider.name` of each `HITLBOT_MODEL_PROVIDER`."""


def request(settings: Settings) -> dict[str, Any]:
    """A chat span's attributes known before the call."""
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": PROVIDERS.get(settings.model_provider, "anthropic"),
        "gen_ai.system": "anthropic",
        "gen_ai.request.model": settings.model,
        "gen_ai.request.max_tokens": settings.llm_max_tokens,
    }


def response(usage: Usage | None, stop_reason: str | None) -> dict[str, Any]:
    """A chat span's attributes from the answer (input tokens count cached ones too)."""
    found: dict[str, Any] = {}
    if stop_reason is not None:
        found["gen_ai.response.finish_reasons"] = [stop_reason]
    if usage is None:
        return found
    return {
        **found,
        "gen_ai.response.model": usage.model,
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cache_read_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
    }


def tool(call: ToolCall) -> dict[str, Any]:
    """A tool span's attributes (its name and call id; never its arguments)."""
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": call.name,
        "gen_ai.tool.call.id": call.call_id,
    }
