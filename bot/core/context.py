"""Own the context window (factors 2 and 3): the prompt template and the thread as an event log.

Each event renders as one XML-like tag with a YAML-ish body. Under a token budget, resolved
errors are dropped and then old tool results are shortened, oldest first, in steps of a
quarter of the budget: the log changes only by appends between two such steps, so each step's
request begins with the previous one's, byte for byte, and reads it from the prompt cache.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jinja2
import yaml

from bot.core.agent import Agent
from bot.core.events import (
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
from bot.core.lru import Lru
from bot.core.thread import Thread
from bot.core.tools import Tool

KEEP_RECENT_RESULTS = 2
"""The most recent tool results are never compacted: the model is most likely to need them."""
COMPACT_CHARS = 80
"""What is left of a compacted result."""
COMPACT_STEPS = 4
"""Compaction saves a multiple of `budget // COMPACT_STEPS` tokens: over budget, the log is
shortened to between three quarters of the budget and all of it, and then only grows (by
appends, a cacheable prefix kept) until it is over again."""
MEMO_SIZE = 100_000
"""Rendered events kept in memory (see `_Memo`)."""
LOGS_KEPT = 1000
"""Threads whose rendered log is kept for their next step (least recently used go first)."""
TEMPLATES_KEPT = 64
"""Compiled prompt templates kept (one per agent, and a few for a prompt being edited)."""
# libyaml's emitter when PyYAML was built with it (the wheels are): the same text, 3x faster.
_DUMPER: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class ContextCache:
    """What rendering keeps between calls: compiled templates (compiling on every step was
    a sixth of a worker's time), each thread's `_Log`, events rendered and compacted lately.
    The shell builds one per process and passes it in; it changes how fast, never what, a
    call renders (one given none renders from scratch)."""

    def __init__(
        self, memo_size: int = MEMO_SIZE, logs: int = LOGS_KEPT, templates: int = TEMPLATES_KEPT
    ) -> None:
        self.environment = jinja2.Environment(
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
        )
        self.templates: Lru[str, jinja2.Template] = Lru(templates)
        """Compiled templates, by their source text."""
        self.logs: Lru[str, _Log] = Lru(logs)
        """The `_Log` of each thread rendered lately, by thread id."""
        self.rendered = _Memo(memo_size)
        self.compacted = _Memo(memo_size)

    def template(self, source: str) -> jinja2.Template:
        """`source` compiled, once while it is kept."""
        if (found := self.templates.get(source)) is None:
            self.templates.put(source, found := self.environment.from_string(source))
        return found


def render_prompt(
    agent: Agent,
    thread: Thread,
    now: datetime,
    tools: Mapping[str, Tool[Any]] | None = None,
    *,
    prompt: str,
    cache: ContextCache | None = None,
) -> str:
    """The agent's prompt template (`prompt`: the text of its `prompt.md`, read by the
    shell), rendered with what it may mention (`tools`: all the agent has, its MCP servers'
    included; default: its own and the built-ins)."""
    shown = agent.local_tools if tools is None else tools
    template = (cache or ContextCache(1, 1, 1)).template(prompt)
    return template.render(
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
    *,
    prompt: str,
    cache: ContextCache | None = None,
) -> ModelInput:
    """What a model step on `thread` at `now` is given (pure: the same thread, time, budget
    and prompt text always give the same input, which is what lets `hitlbot record` rebuild
    it; `cache` only saves work). `tools`: all the agent has, its MCP servers' included
    (default: its own and built-ins); `prompt`: the text of the agent's `prompt.md`."""
    shown = agent.local_tools if tools is None else tools
    cache = cache or ContextCache()
    return ModelInput(
        system=render_prompt(
            agent, thread, prompt_time(thread, now), shown, prompt=prompt, cache=cache
        ),
        context=render_events(thread, budget, cache),
        tools=[tool.schema() for tool in shown.values()],
    )


def prompt_time(thread: Thread, now: datetime) -> datetime:
    """The prompt's "current time": when the human last spoke (a message or an answer), so
    the system prompt stays the same, and cached, through the steps that follow; `now` when
    nobody has yet."""
    for event in reversed(thread.events):
        if isinstance(event, UserMessage | HumanResponse):
            return event.at
    return now


def estimate_tokens(text: str) -> int:
    """A cheap, conservative estimate (about four characters a token)."""
    return len(text) // 4 + 1


def render_events(thread: Thread, budget: int, cache: ContextCache | None = None) -> str:
    """The thread as the model reads it, compacted to fit `budget` tokens where it can.

    Exactly `render_events_full`, from the thread's `_Log` in `cache`: kept between calls and
    extended by the events appended since, so a step renders only its new events (see `_Log`).
    """
    cache = cache or ContextCache()
    events = thread.events
    log = cache.logs.get(thread.id)
    if log is None or not log.extends_to(events):
        if log is not None and log.covers(events):
            return render_events_full(thread, budget, cache)  # an earlier moment (the playground's)
        log = _Log(cache)
        cache.logs.put(thread.id, log)
    log.extend(events)
    return log.text(budget)


def render_events_full(thread: Thread, budget: int, cache: ContextCache | None = None) -> str:
    """The definition of `render_events`: every event read, every size summed, each time.

    Each event renders as its tag; over `budget`, errors that a later tool result resolved
    are dropped; still over, old tool results are shortened, oldest first, until it saves the
    excess rounded up to a step (`COMPACT_STEPS`; the last `KEEP_RECENT_RESULTS` never are).
    """
    cache = cache or ContextCache()
    blocks = [(event, cache.rendered.get(event, _render)) for event in thread.events]
    blocks = [(event, text) for event, text in blocks if text]
    size = _size(blocks)
    if size > budget:
        resolved = _resolved_errors(thread.events)
        blocks = [(e, t) for e, t in blocks if not (isinstance(e, Error) and id(e) in resolved)]
        size = _size(blocks)
    results = [i for i, (event, _) in enumerate(blocks) if isinstance(event, ToolResult)]
    goal = size - _to_save(size, budget)
    for index in results[:-KEEP_RECENT_RESULTS]:
        if size <= goal:
            break
        event, text = blocks[index]
        assert isinstance(event, ToolResult)
        compacted = cache.compacted.get(event, _compact)
        saved = estimate_tokens(text) - estimate_tokens(compacted)
        if saved > 0:  # a short result stays whole: its compacted form would be longer
            size -= saved  # a running total: O(n)
            blocks[index] = (event, compacted)
    return "\n".join(text for _, text in blocks)


def _to_save(size: int, budget: int) -> int:
    """What compaction must save: the excess over `budget`, rounded up to a whole step."""
    if size <= budget:
        return 0
    quantum = max(1, budget // COMPACT_STEPS)
    return -(-(size - budget) // quantum) * quantum


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


class _Log:
    """`render_events_full`'s sums and lists for one thread's events, extended by each new
    event, so a render costs the same at event 500 as at event 10 (bar joining the text).

    What the full version recomputes each time is kept as it grows: every block's text and the
    total size; and, for when that total is over budget, the blocks without the resolved errors
    (every error before the last tool result is resolved, and only those are) with a twin list
    in which each result that compaction shortens is shortened, the running sum of what
    compacting the results saves, oldest first, and where each result ends. Compaction stops at
    the first result after which it saved what `_to_save` asks, a binary search on that sum;
    the text is the twin list up to there and the plain list after it.
    """

    def __init__(self, cache: ContextCache) -> None:
        self.cache = cache
        """Where rendered and compacted events are kept (the log's own texts are its own)."""
        self.count = 0
        """Events read so far (the first `count` of the list last extended to)."""
        self.source: list[Event] = []
        """The list it was last extended to; its events are held, so their ids stay unique."""
        self.texts: list[str] = []
        self.size = 0
        self.kept: list[str] = []
        """Blocks up to the last tool result, errors left out (they are resolved)."""
        self.kept_compacted: list[str] = []
        """`kept` with each result replaced by its compacted text where that is shorter."""
        self.result_ends: list[int] = []
        """For each tool result, the length of `kept` just after it."""
        self.savings: list[int] = []
        """Tokens saved by compacting results up to and including each one (non-decreasing)."""
        self.resolved = 0
        """Tokens of the errors left out of `kept`."""
        self.tail: list[tuple[bool, str]] = []
        """Blocks after the last tool result: (is an error, text)."""

    def extends_to(self, events: list[Event]) -> bool:
        """Whether `events` starts with the events read so far (appends only, same objects)."""
        count = self.count
        if count == 0 or events is self.source:
            return True
        return (
            len(events) >= count
            and events[count - 1] is self.source[count - 1]
            and events[0] is self.source[0]
        )

    def covers(self, events: list[Event]) -> bool:
        """Whether `events` is a shorter beginning of the events read so far."""
        count = len(events)
        return (
            0 < count < self.count
            and events[count - 1] is self.source[count - 1]
            and events[0] is self.source[0]
        )

    def extend(self, events: list[Event]) -> None:
        """Read the events of `events` after the first `count`."""
        for event in events[self.count :]:
            self._take(event)
        self.count, self.source = len(events), events

    def _take(self, event: Event) -> None:
        text = self.cache.rendered.get(event, _render)
        if not text:
            return
        tokens = estimate_tokens(text)
        self.texts.append(text)
        self.size += tokens
        if not isinstance(event, ToolResult):
            self.tail.append((isinstance(event, Error), text))
            return
        for is_error, earlier in self.tail:  # this result resolves the errors before it
            if is_error:
                self.resolved += estimate_tokens(earlier)
            else:
                self.kept.append(earlier)
                self.kept_compacted.append(earlier)
        self.tail = []
        compacted = self.cache.compacted.get(event, _compact)
        saved = tokens - estimate_tokens(compacted)
        self.kept.append(text)
        self.kept_compacted.append(compacted if saved > 0 else text)
        self.result_ends.append(len(self.kept))
        self.savings.append((self.savings[-1] if self.savings else 0) + max(saved, 0))

    def text(self, budget: int) -> str:
        """The log as `render_events_full` renders these events under `budget`."""
        if self.size <= budget:
            return "\n".join(self.texts)
        size = self.size - self.resolved
        shortened = 0  # results compacted, oldest first: until it fits, never the recent ones
        if size > budget:
            eligible = max(0, len(self.result_ends) - KEEP_RECENT_RESULTS)
            need = _to_save(size, budget)
            shortened = min(eligible, bisect_left(self.savings, need) + 1)
        cut = self.result_ends[shortened - 1] if shortened else 0
        tail = [text for _, text in self.tail]
        return "\n".join([*self.kept_compacted[:cut], *self.kept[cut:], *tail])
