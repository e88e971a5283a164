"""A case file: one finished thread, and for each model step the request it sent and the reply.

Cases are YAML under `agents/<agent>/cases/<name>.yaml`. Everything a replay needs is in the
file (no Redis, no Slack, no network): the events, the origin (the prompt names the channel),
the context budget, and per step the request as sent (system prompt, messages, tool choice,
the tool set by its digest) with the model's reply. Long texts are written as YAML literal
blocks, so a prompt change reads as a plain diff in review.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.events import Event
from bot.core.thread import Origin

FORMAT: Literal[1] = 1
"""The case format this code reads and writes."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Request(_Strict):
    """The Messages API request of one step, but for `model` and `max_tokens` (settings)."""

    system: str | list[dict[str, Any]]
    """The rendered prompt (as a text block with its cache breakpoint, `bot.llm.cache`)."""
    messages: list[dict[str, Any]]
    """The messages as sent: the rendered event log as one user turn (a text block an event,
    cache breakpoints marked)."""
    tools: str
    """Digest of the tool set sent, a key of the case's `toolsets`."""
    tool_choice: dict[str, Any]
    """As sent."""


class Reply(_Strict):
    """The tool call the model answered with, as the loop read it."""

    tool: str
    """The tool it named."""
    args: dict[str, Any]
    """Its arguments (`reason` included, when it gave one)."""


class Step(_Strict):
    """One model step."""

    index: int = Field(ge=0)
    """Index in `events` of the step's first event; the events before it are its context."""
    request: Request
    """What the step sent."""
    reply: Reply | None
    """What the model answered; None when its output was an error (no tool call, an unknown
    tool, bad arguments: the event keeps only the error message)."""
    result: Any = None
    """What the call led to, for the reader: the tool's result or error, when it ran."""


class Case(_Strict):
    """One recorded thread."""

    format: Literal[1] = FORMAT
    """Case format version."""
    agent: str
    """The agent the thread ran on."""
    name: str
    """The case's name (its file name, without `.yaml`)."""
    thread_id: str
    """The thread it was recorded from."""
    recorded_at: datetime
    """When it was recorded."""
    origin: Origin
    """Where the thread started (the prompt names its channel)."""
    context_tokens: int = Field(gt=0)
    """The context budget (`HITLBOT_CONTEXT_TOKENS`) the steps were rendered under."""
    events: list[Event]
    """The thread's events, as stored."""
    toolsets: dict[str, list[dict[str, Any]]]
    """Each tool set sent, by digest (steps name theirs)."""
    steps: list[Step]
    """The model steps, in order."""


class CaseError(Exception):
    """A case file that cannot be read; the message starts with `file:line:`."""


def digest(tools: list[dict[str, Any]]) -> str:
    """A short, stable name for a tool set: the SHA-256 of its JSON, as sent."""
    return "sha256:" + hashlib.sha256(canonical(tools).encode()).hexdigest()[:16]


def canonical(data: Any) -> str:
    """JSON as the SDK sends it (keys in their order), the form compared byte for byte."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def load(path: Path) -> Case:
    """Read and check a case file; CaseError saying where (file:line) and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CaseError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise CaseError(f"{path}:{line}: not valid YAML: {problem}") from None
    if not isinstance(data, dict):
        raise CaseError(f"{path}:1: expected a mapping of case fields (agent, events, steps...)")
    try:
        case = Case.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "case"
        line = _line_of(text, first["loc"])
        raise CaseError(f"{path}:{line}: {where}: {first['msg']}") from None
    _check(path, text, case)
    return case


def _check(path: Path, text: str, case: Case) -> None:
    """What the schema alone cannot say: steps point at model output, tool sets exist."""
    for number, step in enumerate(case.steps):

        def fail(message: str, *loc: str | int, number: int = number) -> CaseError:
            line = _line_of(text, ("steps", number, *loc))
            return CaseError(f"{path}:{line}: steps.{number}: {message}")

        if step.index >= len(case.events):
            raise fail(f"index {step.index} is past the {len(case.events)} events", "index")
        if step.request.tools not in case.toolsets:
            raise fail(f"tool set {step.request.tools!r} is not in toolsets", "request", "tools")
        event = case.events[step.index]
        named = getattr(event, "name", None)
        if event.type not in ("tool_call", "error"):
            raise fail(f"events[{step.index}] is a {event.type}, not a model step's", "index")
        if step.reply is not None and event.type == "tool_call" and step.reply.tool != named:
            message = f"reply names {step.reply.tool!r} but events[{step.index}] calls {named!r}"
            raise fail(message, "reply", "tool")


def _line_of(text: str, loc: tuple[str | int, ...]) -> int:
    """The 1-based line of the node at `loc` (as deep as the file goes), for error messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return 1
    for part in loc:
        child = _child(node, part)
        if child is None:
            break
        node = child
    return node.start_mark.line + 1 if node is not None else 1


def _child(node: yaml.Node | None, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == str(part):
                return value  # type: ignore[no-any-return]
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return node.value[part]  # type: ignore[no-any-return]
    return None


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks (PyYAML falls back to quotes when it must)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)

HEADER = (
    "# A replay case: a finished {agent} thread, recorded by `hitlbot record`.\n"
    "# `hitlbot eval {agent}` re-renders each step's request from the events before it and\n"
    "# checks it is unchanged (`--accept` re-records it) or, with `--live`, that the model\n"
    "# still makes the same call.\n"
)


def dump(case: Case) -> str:
    """The case as YAML, fields in the model's order."""
    data = case.model_dump(mode="json")
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    if yaml.safe_load(body) != data:  # a replay compares bytes: never keep a lossy file
        raise CaseError(f"case {case.name}: YAML would not read back as written")
    return HEADER.format(agent=case.agent) + body


def save(case: Case, path: Path) -> None:
    """Write the case, whole or not at all (a temporary file renamed over the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(dump(case), encoding="utf-8")
    partial.replace(path)
