"""`hitlbot` as a bench child with a lever switched off: the A side of an A/B in one venv.

`python -m bench.serve [FLAGS] web ...` runs `hitlbot web ...` with:
- `--no-hiredis`: `hiredis` made unimportable before redis-py looks for it, so redis-py parses
  replies in Python, as it does where hiredis is not installed;
- `--no-orjson`: `orjson` made unimportable, so the Slack fast path parses with json alone;
- `--no-job-bytes`: each job's message dumped whole by taskiq's serializer, not spliced into
  its dumped template (`bot.store.queue.cut_message`);
- `--uuid-task-ids`: taskiq's own task ids (`uuid4().hex`), not `bot.store.queue.task_id`;
- `--no-coalesce`: the intake script called once per message (`AsyncScript`) instead of its
  concurrent calls going as one pipeline per round trip (`bot.store.coalesce`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

FLAGS = {
    "--no-hiredis",
    "--no-orjson",
    "--no-job-bytes",
    "--uuid-task-ids",
    "--no-coalesce",
}


class _PerCall:
    """`CoalescedScript`'s interface over redis-py's own script: one EVALSHA per call."""

    def __init__(self, redis: Any, script: str, replicas: Any = None) -> None:
        self._script = redis.register_script(script)

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        return await self._script(keys=keys, args=args)


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
    from bot.cli import app

    app(prog_name="hitlbot")
