"""Own the context window (factors 2 and 3): the prompt template and the thread as an event log.

Each event renders as one XML-like tag with a YAML-ish body. Under a token budget, resolved
errors are dropped and then old tool results are shortened, oldest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml

from bot.agent import Agent
from bot.events import (
    Error,
    Event,
    Failed,
    HeldMessage,
    HumanRequest,
    HumanResponse,
    ToolCall,
    ToolResult,
    UserMessage,
)
from bot.thread import Thread
from bot.tools import Tool

KEEP_RECENT_RESULTS = 2
"""The most recent tool results are never compacted: the model is most likely to need them."""
COMPACT_CHARS = 80
"""What is left of a compacted result."""
MEMO_SIZE = 100_000
"""Rendered events kept in memory (see `_Memo`)."""
# libyaml's emitter when PyYAML was built with it (the wheels are): the same text, 3x faster.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_templates = jinja2.Environment(
    undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
)


def render_prompt(
    agent: Agent, thread: Thread, now: datetime, tools: Mapping[str, Tool[Any]] | None = None
) -> str:
    """The agent's `prompt.md`, rendered with what it may mention (`tools`: all the agent
    has, its MCP servers' included; default: its own and the built-ins)."""
    shown = agent.all_tools if tools is None else tools
    return _template(agent.prompt).render(
        agent=agent, tools=list(shown.values()), channel=thread.origin.kind, now=now
    )


@dataclass(frozen=True)
class ModelInput:
    """Everything one model step is given: what `Model.next_call` takes."""

    system: str
    """The rendered prompt."""
    context: str
    """The thread as an event log."""
    tools: list[dict[str, Any]]
    """The agent's tool definitions (built-ins included), in its order."""


def model_input(
    agent: Agent,
    thread: Thread,
    now: datetime,
    budget: int,
    tools: Mapping[str, Tool[Any]] | None = None,
) -> ModelInput:
    """What a model step on `thread` at `now` is given (pure: the same thread, time and
    budget always give the same input, which is what lets `hitlbot record` rebuild it).
    `tools`: all the agent has, its MCP servers' included (default: its own and built-ins)."""
    shown = agent.all_tools if tools is None else tools
    return ModelInput(
        system=render_prompt(agent, thread, now, shown),
        context=render_events(thread, budget),
        tools=[tool.schema() for tool in shown.values()],
    )


_compiled: dict[Path, tuple[int, jinja2.Template]] = {}


def _template(path: Path) -> jinja2.Template:
    """The compiled template of `path`, compiled again only when the file changes (compiling
    on every step was a sixth of a worker's time)."""
    changed = path.stat().st_mtime_ns
    found = _compiled.get(path)
    if found is None or found[0] != changed:
        found = (changed, _templates.from_string(path.read_text(encoding="utf-8")))
        _compiled[path] = found
    return found[1]


def estimate_tokens(text: str) -> int:
    """A cheap, conservative estimate (about four characters a token)."""
    return len(text) // 4 + 1


def render_events(thread: Thread, budget: int) -> str:
    """The thread as the model reads it, compacted to fit `budget` tokens where it can."""
    blocks = [(event, _rendered(event)) for event in thread.events]
    blocks = [(event, text) for event, text in blocks if text]
    size = _size(blocks)
    if size > budget:
        resolved = _resolved_errors(thread.events)
        blocks = [(e, t) for e, t in blocks if not (isinstance(e, Error) and id(e) in resolved)]
        size = _size(blocks)
    results = [i for i, (event, _) in enumerate(blocks) if isinstance(event, ToolResult)]
    for index in results[:-KEEP_RECENT_RESULTS]:
        if size <= budget:
            break
        event, text = blocks[index]
        assert isinstance(event, ToolResult)
        compacted = _COMPACTED.get(event, _compact)
        saved = estimate_tokens(text) - estimate_tokens(compacted)
        if saved > 0:  # a short result stays whole: its compacted form would be longer
            size -= saved  # a running total: O(n)
            blocks[index] = (event, compacted)
    return "\n".join(text for _, text in blocks)


def _size(blocks: list[tuple[Event, str]]) -> int:
    return sum(estimate_tokens(text) for _, text in blocks)


class _Memo:
    """Rendered text of events seen lately, by identity: a thread kept in memory between
    steps (the store's cache) renders only its new events. Holding the event keeps its id
    from being reused while the entry lives."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._texts: dict[int, tuple[Event, str]] = {}

    def get(self, event: Event, render: Callable[[Event], str]) -> str:
        found = self._texts.get(id(event))
        if found is not None and found[0] is event:
            return found[1]
        text = render(event)
        if len(self._texts) >= self.size:
            self._texts.clear()  # crude, and rare: a worker's working set is far smaller
        self._texts[id(event)] = (event, text)
        return text


_RENDERED = _Memo(MEMO_SIZE)
_COMPACTED = _Memo(MEMO_SIZE)


def _rendered(event: Event) -> str:
    return _RENDERED.get(event, _render)


def _render(event: Event) -> str:
    if isinstance(event, UserMessage):
        return _tag("user_message", event.text)
    if isinstance(event, ToolCall):
        return _tag(event.name, event.args)
    if isinstance(event, ToolResult):
        return _tag(f"{event.name}_result", event.result)
    if isinstance(event, Error):
        body = {"tool": event.name, "message": event.message} if event.name else event.message
        return _tag("error", body)
    if isinstance(event, HumanResponse):
        return _tag("human_response", _response_body(event))
    if isinstance(event, HumanRequest) and event.kind == "approval":
        return _tag("approval_requested", {"call": event.call_id})
    if isinstance(event, Failed):
        return _tag("failed", event.reason)
    if isinstance(event, HeldMessage):
        return ""  # not the human's word (another sender, an auto-reply): never acted on
    return ""  # request_sent and done add nothing the model has not seen


def _response_body(event: HumanResponse) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if event.approved is not None:
        body["approved"] = event.approved
    if event.edited_args is not None:
        # The model must know the call ran with the human's arguments, not its own.
        body["edited_args"] = event.edited_args
    if event.answer is not None:
        body["answer"] = event.answer
    if event.comment:
        body["comment"] = event.comment
    return body


def _tag(name: str, body: Any) -> str:
    if body in ({}, None, ""):
        return f"<{name} />"
    return f"<{name}>\n{_yamlish(body)}\n</{name}>"


def _yamlish(body: Any) -> str:
    if isinstance(body, str):
        return body.strip()
    dumped: str = yaml.dump(body, Dumper=_DUMPER, sort_keys=False, allow_unicode=True, width=100)
    return dumped.strip()


def _compact(event: Event) -> str:
    assert isinstance(event, ToolResult)
    text = " ".join(_yamlish(event.result).split())
    if len(text) > COMPACT_CHARS:
        text = text[:COMPACT_CHARS] + " …"
    return f'<{event.name}_result compacted="true">\n{text}\n</{event.name}_result>'


def _resolved_errors(events: list[Event]) -> set[int]:
    """Errors followed later by a successful tool result: the model got past them."""
    resolved: set[int] = set()
    pending: list[int] = []
    for event in events:
        if isinstance(event, Error):
            pending.append(id(event))
        elif isinstance(event, ToolResult):
            resolved.update(pending)
            pending.clear()
    return resolved
