"""The Messages API's prompt cache, as the Anthropic stand-in keeps it, for tests and the bench.

A request is a sequence of blocks: each tool, the system prompt's blocks, each message's
content blocks (the order the API caches them in). A block marked with `cache_control` writes
the prefix up to it (when at least `min_tokens` long); a later request reads back the longest
prefix found in the cache, looked for at each of its marks and at up to `LOOKBACK` block
boundaries before each. Tokens are counted as a quarter of the characters of each block's
text (a tool's JSON), the stand-in's usual rough measure. What each request read, wrote and
paid in full is its `usage`, and how much of it repeats the request before it is reported
beside.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from pydantic import BaseModel, ConfigDict

LOOKBACK = 20
"""Block boundaries the API checks before a mark for an earlier cached prefix."""


class CacheUsage(BaseModel):
    """How one request met the cache."""

    model_config = ConfigDict(frozen=True)

    input_tokens: int
    """Billed at the full price."""
    cache_read_input_tokens: int
    """Read from the cache."""
    cache_creation_input_tokens: int
    """Written to the cache."""
    blocks: int
    """Blocks in the request (tools, system blocks, message blocks)."""
    matched_blocks: int
    """Leading blocks identical, byte for byte, to the previous request's."""
    marks: int
    """Blocks marked with `cache_control`."""


def blocks(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The request as the cache sees it: each block's JSON (its mark left out), and whether
    it is marked."""
    found: list[dict[str, Any]] = list(body.get("tools") or [])
    system = body.get("system")
    if isinstance(system, str) and system:
        found.append({"type": "text", "text": system})
    elif isinstance(system, list):
        found += system
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            found.append({"role": message.get("role"), "type": "text", "text": content})
        else:
            found += [{"role": message.get("role"), **block} for block in content or []]
    return [
        (
            _canonical({k: v for k, v in block.items() if k != "cache_control"}),
            "cache_control" in block,
        )
        for block in found
    ]


def prefix_text(body: dict[str, Any]) -> str:
    """The request's blocks, up to and including its last mark, as one string: what a later
    request must begin with, byte for byte, to read it back."""
    units = blocks(body)
    marked = [index for index, (_, mark) in enumerate(units) if mark]
    return "".join(text for text, _ in units[: marked[-1] + 1]) if marked else ""


class PromptCache:
    """Cached prefixes by hash, kept for the stand-in's lifetime (no expiry)."""

    def __init__(self, min_tokens: int = 1024) -> None:
        self.min_tokens = min_tokens
        self._lock = threading.Lock()
        self._entries: set[str] = set()
        self._last: list[str] = []

    def account(self, body: dict[str, Any]) -> CacheUsage:
        """Read and write the cache as the API would for `body`; what it billed."""
        units = blocks(body)
        tokens = [tokens_of(text) for text, _ in units]
        seed = _canonical([body.get("model"), body.get("tool_choice")])
        hashes, running = [], hashlib.sha256(seed.encode())
        for text, _ in units:
            running.update(text.encode())
            hashes.append(running.copy().hexdigest())
        marks = [index for index, (_, mark) in enumerate(units) if mark]
        with self._lock:
            hit = -1
            for mark in marks:
                for index in range(mark, max(-1, mark - LOOKBACK - 1), -1):
                    if hashes[index] in self._entries:
                        hit = max(hit, index)
                        break
            written_to = -1
            for mark in marks:
                if sum(tokens[: mark + 1]) >= self.min_tokens:
                    self._entries.add(hashes[mark])
                    written_to = max(written_to, mark)
            texts = [text for text, _ in units]
            matched = 0
            for mine, theirs in zip(texts, self._last, strict=False):
                if mine != theirs:
                    break
                matched += 1
            self._last = texts
        read = sum(tokens[: hit + 1])
        write = sum(tokens[hit + 1 : written_to + 1])
        return CacheUsage(
            input_tokens=sum(tokens) - read - write,
            cache_read_input_tokens=read,
            cache_creation_input_tokens=write,
            blocks=len(units),
            matched_blocks=matched,
            marks=len(marks),
        )


def tokens_of(block: str) -> int:
    """A block's tokens: a quarter of its text's characters (of its JSON, for a tool), so the
    same words count the same however they are split into blocks."""
    data = json.loads(block)
    text = data.get("text") if isinstance(data, dict) else None
    return max(1, len(text if isinstance(text, str) else block) // 4)


def _canonical(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
