"""`hitlbot` as a bench child with a lever switched off: the A side of an A/B in one venv.

`python -m bench.serve [FLAGS] web|worker ...` runs `hitlbot web ...` or `hitlbot worker` with:
- `--no-hiredis`: `hiredis` made unimportable before redis-py looks for it, so redis-py parses
  replies in Python, as it does where hiredis is not installed;
- `--no-orjson`: `orjson` made unimportable, so the Slack fast path parses with json alone;
- `--no-job-bytes`: each job's message dumped whole by taskiq's serializer, not spliced into
  its dumped template (`bot.store.queue.cut_message`);
- `--uuid-task-ids`: taskiq's own task ids (`uuid4().hex`), not `bot.store.queue.task_id`;
- `--no-coalesce`: the intake script called once per message (`AsyncScript`) instead of its
  concurrent calls going as one pipeline per round trip (`bot.store.coalesce`);
- `--stream-every-step`: every Claude step sent as a streamed request (`next_call_streaming`),
  not only where the thread's channel shows the answer as it is written;
- `--sdk-reply`: Claude's answer read through the SDK's response models
  (`messages.create`) instead of from its JSON (`messages.with_raw_response`);
- `--status-read`: a read of the thread's status (one HGET) before each tool and model step,
  as the worker checked for a cancel before it relied on its last round trip;
- `--quiet-library-logs` (a lever *on*, not shipped): httpx's line per request and taskiq's
  line per job (INFO) left out, to measure what they cost.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any, cast

FLAGS = {
    "--no-hiredis",
    "--no-orjson",
    "--no-job-bytes",
    "--uuid-task-ids",
    "--no-coalesce",
    "--stream-every-step",
    "--sdk-reply",
    "--status-read",
    "--quiet-library-logs",
}


class _PerCall:
    """`CoalescedScript`'s interface over redis-py's own script: one EVALSHA per call."""

    def __init__(self, redis: Any, script: str, replicas: Any = None) -> None:
        self._script = redis.register_script(script)

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return await self._script(keys=keys, args=args)


def _stream_every_step() -> None:
    from bot.llm.claude import AnthropicModel

    async def ignore(text: str) -> None:
        pass

    async def next_call(self: AnthropicModel, **request: Any) -> Any:
        return await self.next_call_streaming(**request, on_answer=ignore)

    AnthropicModel.next_call = next_call  # type: ignore[method-assign]


def _sdk_reply() -> None:
    import anthropic

    from bot.llm import claude

    async def next_call(self: claude.AnthropicModel, **request: Any) -> Any:
        params = claude.request_params(**request, cache=self.cache)
        started = time.perf_counter()
        try:
            message = await self.client.messages.create(
                model=self.model, max_tokens=self.max_tokens, **cast(Any, params)
            )
        except anthropic.APIError as exc:
            raise claude.failure(exc, self.model, self.provider) from exc
        return claude.read_reply(message, claude.usage_of(message, self.model, started))

    claude.AnthropicModel.next_call = next_call  # type: ignore[method-assign]


def _status_read() -> None:
    from bot.core.decide import CallModel, RunTool
    from bot.runtime import loop

    step = loop.step

    async def read_then_step(thread: Any, agent: Any, action: Any, deps: Any) -> Any:
        if isinstance(action, RunTool | CallModel):
            store = deps.store
            await store.redis.hget(store.keys.thread(thread.id), "status")
        return await step(thread, agent, action, deps)

    loop.step = read_then_step  # type: ignore[assignment]


if __name__ == "__main__":
    off = set()
    while sys.argv[1:2] and sys.argv[1] in FLAGS:
        off.add(sys.argv.pop(1))
    if "--no-hiredis" in off:
        sys.modules["hiredis"] = None  # type: ignore[assignment]  # import raises ImportError
    if "--no-orjson" in off:
        sys.modules["orjson"] = None  # type: ignore[assignment]
    if "--no-job-bytes" in off:
        import bot.store.queue

        assert bot.store.queue.cut_message.__name__ == "cut_message"
        bot.store.queue.cut_message = lambda serializer, message: None
    if "--uuid-task-ids" in off:
        from taskiq.abc.broker import default_id_generator

        import bot.store.queue

        assert bot.store.queue.task_id.__name__ == "task_id"
        bot.store.queue.task_id = default_id_generator
    if "--no-coalesce" in off:
        import bot.store.intake

        # Fails loudly if the intake stops using it, rather than measuring the same thing twice.
        assert bot.store.intake.CoalescedScript.__name__ == "CoalescedScript"
        bot.store.intake.CoalescedScript = _PerCall  # type: ignore[misc,assignment]
    if "--stream-every-step" in off:
        _stream_every_step()
    if "--sdk-reply" in off:
        _sdk_reply()
    if "--status-read" in off:
        _status_read()
    if "--quiet-library-logs" in off:
        import logging

        for name in ("httpx", "httpx2", "taskiq.receiver.receiver"):
            logging.getLogger(name).setLevel(logging.WARNING)
    from bot.cli import app

    app(prog_name="hitlbot")
