"""The replies the Anthropic stand-in (`bot.standins.anthropic_stub`) can be scripted with."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
"""The API's `error.type` for each status it documents."""


def new_id(prefix: str) -> str:
    """A fresh id with `prefix`, as the API makes them."""
    return f"{prefix}{uuid.uuid4().hex[:24]}"


class _Reply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    delay: float = 0.0
    """Seconds to wait before answering (e.g. to trip a client timeout)."""


class ToolReply(_Reply):
    """The model calls one tool. The name is not checked against the request's `tools`."""

    name: str
    """Tool name."""
    input: dict[str, Any]
    """The tool arguments, as the model would send them."""
    id: str = Field(default_factory=lambda: new_id("toolu_"))
    """The `tool_use` block id."""
    text: str | None = None
    """Optional text block before the tool call, as models often write."""


class TextReply(_Reply):
    """The model answers in plain text and ends its turn."""

    text: str
    """The answer."""


class ErrorReply(_Reply):
    """The API fails with its error envelope."""

    status: int
    """HTTP status."""
    error_type: str | None = None
    """`error.type`; defaults from the status (`ERROR_TYPES`)."""
    message: str | None = None
    """`error.message`; a generic one when omitted."""
    retry_after: float | None = None
    """Seconds for the `retry-after` header, which the SDK honours."""
    should_retry: bool | None = None
    """`x-should-retry` header: the SDK obeys it over its own status rules."""


Reply = ToolReply | TextReply | ErrorReply
Responder = Callable[[dict[str, Any]], Reply]
