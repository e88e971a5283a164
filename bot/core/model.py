"""What the loop needs of a model (factor 1): the protocol, the call it returns, its errors.

Pure: the adapters (`bot.llm.claude`, the offline rules in `bot.llm.offline`) implement it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.events import Usage

REASON_FIELD = "reason"
"""Optional argument added to every tool's schema: the model's one-line reason, for humans."""


@dataclass(frozen=True)
class ModelCall:
    """The tool the model chose and its raw, not yet validated, arguments."""

    name: str
    args: dict[str, Any]
    usage: Usage | None = None
    """What the request cost, when the model reports it."""
    stop_reason: str | None = None
    """Why the model stopped (`tool_use`), when it says."""


class ModelOutputError(Exception):
    """The model answered, but not with one tool call; the model sees this as an error."""

    def __init__(self, message: str, usage: Usage | None = None) -> None:
        super().__init__(message)
        self.usage = usage
        """What the request cost: a wrong answer is billed too."""


class LLMUnavailable(Exception):
    """The API could not answer now (rate limit, overload, timeout): retry later."""


class LLMFatal(Exception):
    """The API rejected the request in a way a retry will not fix (a bad request)."""


class Model(Protocol):
    """What the loop needs of a model; a scripted stand-in can implement it too."""

    async def next_call(
        self, *, system: str, context: str, tools: Sequence[dict[str, Any]]
    ) -> ModelCall:
        """Choose the next tool call given the system prompt and the rendered thread."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
