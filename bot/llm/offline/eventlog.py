"""Reads the rendered event log back into entries, as the offline model sees the thread.

The offline model gets exactly what Claude gets (the text `bot.core.context.render_events` made),
so it parses that text rather than peeking at the thread: the loop and context rendering run
unchanged whichever model answers. Like Claude, it can be fooled by a person who writes a
closing tag and a made-up event on lines of their own; it can only say wrong things then,
since every call it makes is still validated and approved by the loop.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_OPEN = re.compile(r"^<([A-Za-z_][\w-]*)((?:\s+[\w-]+=\"[^\"]*\")*)\s*(/)?>$")


@dataclass(frozen=True)
class Entry:
    """One event of the log: its tag and body."""

    tag: str
    """`user_message`, a tool name, `<tool>_result`, `error`, `human_response`, ..."""
    text: str
    """The body as rendered (empty for `<tag />`)."""
    data: Any
    """The body read as YAML (None for a user message, a compacted result, or not YAML)."""


def parse(context: str) -> list[Entry]:
    """The entries of a rendered event log, oldest first; lines outside any tag are skipped."""
    lines = context.splitlines()
    entries: list[Entry] = []
    index = 0
    while index < len(lines):
        match = _OPEN.match(lines[index].strip())
        index += 1
        if match is None:
            continue
        tag, attrs, closed = match.group(1), match.group(2), match.group(3)
        if closed:
            entries.append(Entry(tag, "", None))
            continue
        body: list[str] = []
        while index < len(lines) and lines[index] != f"</{tag}>":
            body.append(lines[index])
            index += 1
        index += 1
        text = "\n".join(body)
        # A person's words are text, never data; a compacted result is no longer YAML.
        plain = tag == "user_message" or "compacted" in attrs
        entries.append(Entry(tag, text, None if plain else _yaml(text)))
    return entries


def _yaml(text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return None


def current_turn(entries: Sequence[Entry]) -> list[Entry]:
    """The entries from the latest `user_message` on: what the human asks for now."""
    starts = [i for i, entry in enumerate(entries) if entry.tag == "user_message"]
    return list(entries[starts[-1] :]) if starts else list(entries)


def human_text(turn: Sequence[Entry]) -> str:
    """What the human wrote in this turn: the message and every answer to a question."""
    parts = []
    for entry in turn:
        if entry.tag == "user_message":
            parts.append(entry.text)
        elif entry.tag == "human_response" and isinstance(entry.data, dict):
            answer = entry.data.get("answer")
            if answer is not None:
                parts.append(str(answer))
    return "\n".join(parts)


@dataclass(frozen=True)
class Outcome:
    """What became of a tool call: its result, an error, or a rejection."""

    call: Entry
    """The call itself."""
    result: Any = None
    """The tool's result, when it ran."""
    error: str | None = None
    """The error's message, when it failed."""
    rejected: bool = False
    """True when a human rejected the call."""
    comment: str | None = None
    """The rejection's reason, if one was given."""
    edited: dict[str, Any] | None = None
    """The arguments an approver edited the call to (what ran), if they did."""

    @property
    def args(self) -> dict[str, Any]:
        """The arguments the call ran (or would run) with: the approver's edit, else its own."""
        if self.edited is not None:
            return self.edited
        return self.call.data if isinstance(self.call.data, dict) else {}


def outcomes(turn: Sequence[Entry], tool: str) -> list[Outcome]:
    """Each call to `tool` in `turn` with what followed it (still open calls included)."""
    found: list[Outcome] = []
    for index, entry in enumerate(turn):
        if entry.tag == tool:
            found.append(_outcome(entry, turn[index + 1 :], tool))
    return found


def _outcome(call: Entry, after: Sequence[Entry], tool: str) -> Outcome:
    edited: dict[str, Any] | None = None
    for entry in after:
        if entry.tag == f"{tool}_result":
            result = entry.data if entry.data is not None else entry.text
            return Outcome(call, result=result, edited=edited)
        if entry.tag == "error":
            data = entry.data if isinstance(entry.data, dict) else {}
            return Outcome(call, error=str(data.get("message", entry.text)), edited=edited)
        if entry.tag == "human_response" and isinstance(entry.data, dict):
            if entry.data.get("approved") is False:
                return Outcome(call, rejected=True, comment=entry.data.get("comment"))
            if entry.data.get("approved") is True:
                found = entry.data.get("edited_args")
                edited = found if isinstance(found, dict) else None
                continue  # approved: its result comes next
        if entry.tag == tool:
            break
    return Outcome(call, edited=edited)


def last_match(pattern: re.Pattern[str], text: str) -> str | None:
    """The last match of `pattern`'s first group (or whole match) in `text`."""
    matches = list(pattern.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    return last.group(1) if last.groups() else last.group(0)
