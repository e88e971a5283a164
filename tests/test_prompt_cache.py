"""Prompt caching over the Anthropic stand-in: breakpoints in every request, and each step's
request beginning, byte for byte, with what the previous step's wrote to the cache."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bot.config import Settings
from bot.core import context
from bot.core.context import ContextCache, prompt_time, render_events, render_events_full
from bot.core.events import HumanResponse, ToolCall, ToolResult, UserMessage
from bot.core.thread import ApiOrigin, Thread
from bot.llm.cache import EPHEMERAL, CachePolicy, breakpoints, log_blocks
from bot.llm.claude import request_params
from bot.runtime.loop import advance
from bot.runtime.service import Service
from bot.runtime.wiring import runtime
from bot.standins.anthropic_replies import Reply, ToolReply
from bot.standins.anthropic_stub import AnthropicStub, RecordedRequest
from bot.standins.prompt_cache import prefix_text
from tests.helpers import T0

STEPS = 30
MIN_TOKENS = 256
"""A lower minimum than the models' (1024 and up), so the deploy agent's tools pass it."""


def scripted(steps: int) -> Any:
    """`steps - 1` calls of a tool with a result, then a question (the thread pauses)."""
    made = 0

    def reply(body: dict[str, Any]) -> Reply:
        nonlocal made
        made += 1
        if made < steps:
            return ToolReply(name="list_versions", input={"service": "api"})
        return ToolReply(name="request_more_information", input={"message": "Which one?"})

    return reply


async def run_thread(settings: Settings, stub: AnthropicStub, steps: int) -> Thread:
    stub.responder = scripted(steps)
    stub.cache.min_tokens = MIN_TOKENS
    settings = settings.model_copy(update={"prompt_cache_min_tokens": MIN_TOKENS})
    async with runtime(settings) as (deps, _):
        service = Service(deps)
        thread = await service.launch("deploy", "what versions of api are there?", ApiOrigin(), "u")
        await advance(deps, thread.id)
        return await service.get(thread.id)


def _log_marked_at_end(request: RecordedRequest) -> bool:
    content = request.body["messages"][0]["content"]
    return isinstance(content, list) and content[-1].get("cache_control") == EPHEMERAL


async def test_every_step_marks_breakpoints_and_begins_with_the_previous_prefix(
    settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    thread = await run_thread(settings, anthropic_stub, STEPS)
    assert thread.status == "waiting_human"
    requests = anthropic_stub.requests
    assert len(requests) == STEPS
    for request in requests:
        assert 1 <= breakpoints(request.body) <= 4
        assert request.body["tools"][-1]["cache_control"] == EPHEMERAL  # tools: long enough
    # Once the log itself is past the minimum, its last block is marked in every request.
    marked = [i for i, request in enumerate(requests) if _log_marked_at_end(request)]
    assert marked and marked == list(range(marked[0], STEPS)) and marked[0] < STEPS // 2
    for before, after in zip(requests, requests[1:], strict=False):
        wrote = prefix_text(before.body)
        assert wrote and prefix_text(after.body).startswith(wrote)
        assert after.cache is not None and after.cache.matched_blocks > 0
    # And the stand-in's cache says the same: after the first, each step reads all the
    # previous one wrote, and pays full price only for nothing (every block is marked past).
    for before, after in zip(requests[marked[0] :], requests[marked[0] + 1 :], strict=False):
        assert after.cache is not None and before.cache is not None
        seen = before.cache.cache_read_input_tokens + before.cache.cache_creation_input_tokens
        assert after.cache.cache_read_input_tokens == seen
        assert after.cache.input_tokens == 0
    # The usage each step reported is kept on the event it made.
    usages = [e.usage for e in thread.events if isinstance(e, ToolCall) and e.usage]
    assert len(usages) == STEPS
    assert sum(u.cache_read_tokens for u in usages) > 5 * sum(u.cache_write_tokens for u in usages)


def test_the_log_is_split_into_blocks_that_join_back_to_it() -> None:
    text = "<a>\nx\n<b>not a tag start</b>\n</a>\n<b />\n<c>\ny\n</c>"
    assert "".join(log_blocks(text)) == text
    assert log_blocks(text)[-2:] == ["\n<b />", "\n<c>\ny\n</c>"]


def test_nothing_is_marked_below_the_minimum_or_when_off() -> None:
    tools = [{"name": "t", "description": "d", "input_schema": {"type": "object"}}]
    short = request_params(system="s", context="<user_message>\nhi\n</user_message>", tools=tools)
    assert breakpoints(short) == 0
    assert short["system"] == "s" and isinstance(short["messages"][0]["content"], str)
    long_log = "\n".join(f"<e{i}>\n{'x' * 400}\n</e{i}>" for i in range(60))
    on = request_params(system="s", context=long_log, tools=tools)
    assert breakpoints(on) == 2  # the log: its end and a checkpoint (tools, system: too short)
    off = request_params(system="s", context=long_log, tools=tools, cache=CachePolicy(False))
    assert breakpoints(off) == 0 and off["messages"][0]["content"] == long_log


def test_the_prompt_time_is_the_humans_last_word() -> None:
    thread = Thread(id="t", agent="deploy", origin=ApiOrigin(), events=[], created_at=T0)
    now = UserMessage(text="x", at=T0).at
    assert prompt_time(thread, now) == now
    said = UserMessage(text="go", at=T0)
    answered = HumanResponse(request_id="r", answer="yes", user="u", at=T0)
    later = ToolResult(call_id="c", name="n", result=1, at=T0)
    assert prompt_time(thread.appended(said, later), now) == said.at
    assert prompt_time(thread.appended(said, answered, later), now) == answered.at


def _renders(budget: int, *, incremental: bool) -> list[str]:
    events: list[Any] = [UserMessage(text="go", at=T0)]
    for i in range(80):
        events += [
            ToolCall(call_id=f"c{i}", name="lookup", args={"i": i}, at=T0),
            ToolResult(
                call_id=f"c{i}", name="lookup", result={"rows": [f"{i}" + "r" * 30] * 12}, at=T0
            ),
        ]
    texts, cache = [], ContextCache()
    for end in range(1, len(events) + 1):
        thread = Thread(
            id="tc", agent="deploy", origin=ApiOrigin(), events=events[:end], created_at=T0
        )
        text = render_events_full(thread, budget)
        if incremental:
            assert render_events(thread, budget, cache) == text
        texts.append(text)
    return texts


def _kept(texts: list[str]) -> tuple[int, float]:
    """Renders that do not begin with the one before, and the mean share of it they keep."""
    pairs = list(zip(texts, texts[1:], strict=False))
    rewrites = sum(not after.startswith(before) for before, after in pairs)
    kept = [len(os.path.commonprefix([before, after])) / len(before) for before, after in pairs]
    return rewrites, sum(kept) / len(kept)


def test_compaction_goes_in_steps_so_the_log_mostly_grows_by_appends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Over budget, compaction saves a quarter of the budget at a time: the log is rewritten
    (from the first result newly compacted on) now and then, not at every step."""
    rewrites, kept = _kept(_renders(4000, incremental=True))
    assert 0 < rewrites <= 12 and kept > 0.95
    # Compacting just enough to fit, as before, rewrote the log at most steps.
    monkeypatch.setattr(context, "COMPACT_STEPS", 10**9)
    rewrites, kept = _kept(_renders(4000, incremental=False))
    assert rewrites > 40 and kept < 0.85
