"""Tools are structured outputs (factor 4): a pydantic model of arguments and an async function."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, Field

from bot.core.policy import Rule

if TYPE_CHECKING:
    import httpx

    from bot.config import Settings
    from bot.core.records import AgentRecords

A = TypeVar("A", bound=BaseModel)


class ToolError(Exception):
    """A tool refused its input or failed in a way the model should read and correct."""


@dataclass(frozen=True)
class ToolContext:
    """What a running tool may use besides its arguments, and nothing more: not the worker's
    dependencies, not raw Redis."""

    call_id: str
    """Idempotency key: the same for every (re)run of one call."""
    thread_id: str
    """The thread the call belongs to."""
    store: AgentRecords
    """The agent's own records, with the atomic primitives (`reserve`, `once`) keyed by
    `call_id`: use these for anything a re-run must not do twice."""
    http: httpx.AsyncClient
    """The process's shared HTTP client (pooled: never one per call)."""
    settings: Settings
    """The operator's configuration, read-only (e.g. `deploy_webhook_url`)."""


@dataclass(frozen=True)
class Tool(Generic[A]):
    """One tool an agent may call."""

    name: str
    """Name the model calls it by, and the tag it renders as."""
    description: str
    """What the model is told about it."""
    args: type[A]
    """Pydantic model of its arguments; its JSON schema is what the model sees."""
    run: Callable[[A, ToolContext], Awaitable[Any]] | None = None
    """The plain async function; None for the built-in control tools the loop handles."""
    approval: bool | Callable[[A], bool] = False
    """Whether a human must approve the call before it runs (a predicate may read the args)."""
    approvers: tuple[str, ...] = field(default=())
    """Who may approve, narrowing the channel's default approvers (empty: no narrowing)."""
    rule: Rule | None = None
    """The whole approval rule (approvers, groups, quorum, self-approval, deadlines), when
    `approvers` is not enough; the operator's policy file may replace it."""
    input_schema: Mapping[str, Any] | None = field(default=None, hash=False, compare=False)
    """The JSON schema the model is shown, when it is not `args`'s own (an MCP server's
    schema, shown as the server wrote it; `args` was converted from it)."""
    status: str = ""
    """Slack's status line while it runs, after the bot's name: "is checking the deploy
    catalog…"; empty: "is running <name>…"."""
    prose: tuple[str, ...] = field(default=())
    """Arguments written for people (a message, a reason): a replay eval compares a call's
    other arguments exactly and these not at all, as a model never words them twice alike."""

    def approval_rule(self) -> Rule:
        """The approval rule the tool declares."""
        return self.rule if self.rule is not None else Rule(approvers=self.approvers)

    def needs_approval(self, args: A) -> bool:
        """Whether this call pauses for a human decision."""
        return self.approval(args) if callable(self.approval) else self.approval

    def schema(self) -> dict[str, Any]:
        """The Messages API tool definition (built once per tool: it never changes, and
        pydantic's schema generation on every model call was a seventh of a worker's time)."""
        if self.input_schema is not None:
            schema = {"type": "object", **self.input_schema}
            return {"name": self.name, "description": self.description, "input_schema": schema}
        return _schema(self.name, self.description, self.args)


@functools.cache
def _schema(name: str, description: str, args: type[BaseModel]) -> dict[str, Any]:
    schema = args.model_json_schema()
    schema.pop("title", None)
    return {"name": name, "description": description, "input_schema": schema}


class RequestMoreInformation(BaseModel):
    """Ask the human who started the thread; the thread pauses until they answer."""

    message: str = Field(description="The question, in plain words.")
    choices: list[str] = Field(
        default_factory=list, description="Optional short answers to offer as buttons."
    )


class RequestChoice(BaseModel):
    """Ask a human to pick one of a few options; the thread pauses until one is picked."""

    message: str = Field(min_length=1, description="The question, in plain words.")
    choices: list[Annotated[str, Field(min_length=1, max_length=75)]] = Field(
        min_length=2, max_length=10, description="The options, short (they become buttons)."
    )


class DoneForNow(BaseModel):
    """Give the final answer for this turn; the thread ends until the human writes again."""

    message: str = Field(description="The answer for the human.")


REQUEST_MORE_INFORMATION: Tool[RequestMoreInformation] = Tool(
    name="request_more_information",
    description="Ask the human a question when you cannot proceed without their input.",
    args=RequestMoreInformation,
    prose=("message",),
)
DONE_FOR_NOW: Tool[DoneForNow] = Tool(
    name="done_for_now",
    description="Reply to the human with your final answer for now.",
    args=DoneForNow,
    prose=("message",),
)
BUILTINS: tuple[Tool[Any], ...] = (REQUEST_MORE_INFORMATION, DONE_FOR_NOW)
REQUEST_CHOICE: Tool[RequestChoice] = Tool(
    name="request_choice",
    description=(
        "Ask a human to pick exactly one of 2 to 10 options (buttons in Slack); only the "
        "thread's human and the approvers may pick, and the answer is always one of them."
    ),
    args=RequestChoice,
    prose=("message",),
)
"""A control tool an agent opts into by listing it among its tools; the loop handles it like
`request_more_information`. Who may pick can be narrowed by its rule (`approvers`)."""
