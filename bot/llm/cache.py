"""Prompt caching: where a request marks its cache breakpoints (`cache_control`).

The API caches a request's prefix (tools, then system, then messages) up to each marked
block, and a later request that begins with the same bytes reads it back at a tenth of the
input price. Four marks at most, each worth placing only past the model's minimum cacheable
length:

1. the last tool: the tool set, the same for every step of the agent;
2. the system prompt: the same through the steps of one turn (its time is the human's last
   word, `bot.core.context.prompt_time`);
3. the event log's last block, which the next step's request begins with (the log only grows
   by appends between compaction steps, `bot.core.context.COMPACT_STEPS`);
4. a checkpoint in the log every `CHECKPOINT_BLOCKS` blocks, for a step that added more blocks
   than the API looks back over from a mark (about 20).

The log is sent as one text block per event (split before each line that opens a tag, so
the blocks joined are the rendered log exactly): the block where the last request ended is a
block boundary of the next one, where the API finds it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.context import estimate_tokens

EPHEMERAL: dict[str, Any] = {"type": "ephemeral"}
"""The `cache_control` of a breakpoint (five minutes, renewed by each read)."""
CHECKPOINT_BLOCKS = 16
"""Blocks of the log between two checkpoints (fewer than the API's look-back of 20)."""
MIN_TOKENS = 1024
"""The least cacheable prefix of most Claude models; Haiku models need more (`min_tokens`)."""


@dataclass(frozen=True)
class CachePolicy:
    """Whether to mark breakpoints, and the shortest prefix worth one."""

    enabled: bool = True
    min_tokens: int = MIN_TOKENS


DEFAULT = CachePolicy()
"""On, at the common minimum: what `hitlbot record` and `hitlbot eval` build requests with."""
OFF = CachePolicy(enabled=False)


def min_tokens(model: str) -> int:
    """The minimum cacheable prompt length of `model`, as Anthropic documents it."""
    name = model.lower()
    if "haiku-4" in name or "opus-4-5" in name:
        return 4096
    if "haiku" in name:
        return 2048
    return MIN_TOKENS


_TAG_OPENS = re.compile(r"(?=\n<(?!/))")
"""Before each line that opens a tag (a closing tag stays with its event)."""


def log_blocks(context: str) -> list[str]:
    """The rendered log as text blocks, one an event: joined, exactly `context`."""
    return _TAG_OPENS.split(context)


def cached_request(
    system: str, context: str, tools: list[dict[str, Any]], policy: CachePolicy
) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
    """`system`, `messages` and `tools` with breakpoints marked. A part with no mark is sent
    as it was before caching (a string), and all of it when `policy` is off."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": context}]
    if not policy.enabled or not context:
        return system, messages, tools
    prefix = sum(estimate_tokens(_text(tool)) for tool in tools)
    marked_tools = list(tools)
    if tools and prefix >= policy.min_tokens:
        marked_tools[-1] = {**tools[-1], "cache_control": EPHEMERAL}
    prefix += estimate_tokens(system)
    marked_system: Any = system
    if prefix >= policy.min_tokens:
        marked_system = [{"type": "text", "text": system, "cache_control": EPHEMERAL}]
    blocks: list[dict[str, Any]] = []
    texts = log_blocks(context)
    last = len(texts) - 1
    for index, text in enumerate(texts):
        prefix += estimate_tokens(text)
        block: dict[str, Any] = {"type": "text", "text": text}
        checkpoint = (index + 1) % CHECKPOINT_BLOCKS == 0
        if prefix >= policy.min_tokens and (index == last or checkpoint):
            block["cache_control"] = EPHEMERAL
        blocks.append(block)
    _drop_extra_marks(blocks)
    if "cache_control" in blocks[-1]:  # else nothing in the log is worth a mark: sent as is
        messages = [{"role": "user", "content": blocks}]
    return marked_system, messages, marked_tools


def _drop_extra_marks(blocks: list[dict[str, Any]]) -> None:
    """Keep the log's last two marks (the end and the checkpoint nearest it)."""
    marked = [block for block in blocks if "cache_control" in block]
    for block in marked[:-2]:
        del block["cache_control"]


def _text(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def breakpoints(request: dict[str, Any]) -> int:
    """How many blocks of a request body carry `cache_control`."""
    found = sum("cache_control" in tool for tool in request.get("tools", []))
    system = request.get("system")
    if isinstance(system, list):
        found += sum("cache_control" in block for block in system)
    for message in request.get("messages", []):
        content = message.get("content")
        if isinstance(content, Sequence) and not isinstance(content, str):
            found += sum("cache_control" in block for block in content)
    return found
