"""Billed input tokens per step of one long thread (the `step_cost` kind): with prompt caching,
without it, and as a plain message list (what a LangGraph or OpenAI Agents user sends).

The real runner and the real adapter (`bot.llm.claude`) against the Anthropic stand-in, whose
prompt cache (`bot.standins.prompt_cache`) says what each request read from the cache, wrote to
it and paid in full, counting a quarter of each block's JSON characters a token. A step's
input "at full price" weighs a cache write 1.25 and a cache read 0.1, as Anthropic bills them.
The plain list is the same thread as `tool_use` / `tool_result` turns (`bench.context_tokens`),
the same tools and prompt, no cache marks, counted the same way.

`python -m bench.billed_tokens REDIS_URL --steps 30`; prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import uuid
from typing import Any

from bench.context_tokens import plain_messages
from bot.config import Settings
from bot.core.rebuild import model_steps
from bot.core.thread import ApiOrigin, Thread
from bot.llm.claude import request_params
from bot.logs import configure
from bot.runtime.loop import advance
from bot.runtime.service import Service
from bot.runtime.wiring import runtime
from bot.standins.anthropic_replies import Reply, ToolReply
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.prompt_cache import blocks, tokens_of

MODEL = "claude-sonnet-4-5"
"""A model with the common minimum cacheable length (1024 tokens)."""
WRITE, READ = 1.25, 0.1


def _script(steps: int) -> Any:
    made = 0

    def reply(body: dict[str, Any]) -> Reply:
        nonlocal made
        made += 1
        if made < steps:
            service = ("api", "web", "billing")[made % 3]
            return ToolReply(name="list_versions", input={"service": service, "reason": "check"})
        return ToolReply(name="request_more_information", input={"message": "Which one?"})

    return reply


async def _thread(url: str, steps: int, cache: bool) -> tuple[Thread, list[dict[str, int]]]:
    async with AnthropicStub() as stub:
        stub.responder = _script(steps)
        os.environ["ANTHROPIC_BASE_URL"] = stub.base_url
        os.environ["ANTHROPIC_API_KEY"] = "sk-bench"  # the SDK reads it there
        settings = Settings(
            _env_file=None,
            REDIS_URL=url,
            HITLBOT_REDIS_PREFIX=f"billed-{uuid.uuid4().hex[:8]}",
            ANTHROPIC_API_KEY="sk-bench",
            HITLBOT_MODEL=MODEL,
            HITLBOT_PROMPT_CACHE=cache,
        )
        async with runtime(settings) as (deps, _):
            service = Service(deps)
            thread = await service.launch("deploy", "which versions are there?", ApiOrigin(), "u")
            await advance(deps, thread.id)
            thread = await service.get(thread.id)
        billed = [request.cache.model_dump() for request in stub.requests if request.cache]
    assert len(billed) == steps, f"{len(billed)} model steps, wanted {steps}"
    return thread, billed


def _plain(thread: Thread, budget: int) -> list[int]:
    """Each step's input tokens as a plain message list (all at the full price)."""
    from bot.runtime.wiring import load_agents

    agent = load_agents()["deploy"]
    out = []
    for step in model_steps(thread, agent, budget, prompt=agent.prompt.read_text("utf-8")):
        before = thread.model_copy(update={"events": thread.events[: step.index]})
        params = request_params(system=step.input.system, context="-", tools=step.input.tools)
        body = {"tools": params["tools"], "system": step.input.system}
        body["messages"] = plain_messages(before)
        out.append(sum(tokens_of(text) for text, _ in blocks(body)))
    return out


def _at_full_price(row: dict[str, int]) -> float:
    return (
        row["input_tokens"]
        + WRITE * row["cache_creation_input_tokens"]
        + READ * row["cache_read_input_tokens"]
    )


def _prompt(row: dict[str, int]) -> int:
    return row["input_tokens"] + row["cache_creation_input_tokens"] + row["cache_read_input_tokens"]


async def main(url: str, steps: int) -> dict[str, Any]:
    thread, cached = await _thread(url, steps, cache=True)
    _, uncached = await _thread(url, steps, cache=False)
    plain = _plain(thread, Settings(_env_file=None).context_token_budget)
    per_step = [
        {
            "step": number,
            "prompt_tokens": _prompt(with_cache),
            "cached_at_full_price": round(_at_full_price(with_cache)),
            "read": with_cache["cache_read_input_tokens"],
            "written": with_cache["cache_creation_input_tokens"],
            "uncached": _prompt(without),
            "plain": plain_tokens,
        }
        for number, (with_cache, without, plain_tokens) in enumerate(
            zip(cached, uncached, plain, strict=True), 1
        )
    ]
    last = per_step[-10:]
    return {
        "steps": steps,
        "events": len(thread.events),
        "per_step": per_step,
        "last10_share": sum(s["cached_at_full_price"] for s in last)
        / sum(s["uncached"] for s in last),
        "last10_vs_plain": sum(s["cached_at_full_price"] for s in last)
        / sum(s["plain"] for s in last),
        "thread_share": sum(s["cached_at_full_price"] for s in per_step)
        / sum(s["uncached"] for s in per_step),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    configure("WARNING")
    print(json.dumps(asyncio.run(main(args.url, args.steps))))
