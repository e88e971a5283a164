"""One Lua script called by many concurrent requests, sent as one pipeline per round trip.

Under load the web process has many mentions in flight at once, each awaiting its own EVALSHA:
one socket write, one read and one wake-up per call, plus redis-py's per-call bookkeeping.
`CoalescedScript` keeps at most one batch in flight: a call made while nothing is in flight
is sent at once (no added latency at low load); calls made while a batch is in flight wait for
it to return and then go together, as one non-transactional pipeline, in the order they were
made. Each caller still awaits its own reply: a script error fails only its own call (with
the error a direct call raises), a connection error fails the calls of that batch (as it
would have failed each of them), and the next batch takes a connection from the pool again.

NOSCRIPT (a Redis restarted or flushed since the script was loaded) is handled here, not by
redis-py's pipeline, which would ask `SCRIPT EXISTS` before every batch: the calls that got it
never ran, so the script is loaded and just those calls are sent again.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from redis.exceptions import NoScriptError

from bot.store.connect import RedisClient
from bot.store.replicas import Replicas

_Call = tuple[tuple[Any, ...], "asyncio.Future[Any]"]


class CoalescedScript:
    """A registered Lua script whose concurrent calls share round trips (see the module)."""

    def __init__(self, redis: RedisClient, script: str, replicas: Replicas | None = None) -> None:
        self.redis: Any = redis
        self.script = script
        self.sha = hashlib.sha1(script.encode("utf-8")).hexdigest()
        self.replicas = replicas
        """With replicas required, each batch ends with their WAIT (`bot.store.replicas`)."""
        self._pending: list[_Call] = []
        self._sender: asyncio.Task[None] | None = None
        self.batches = 0
        """Pipelines sent (NOSCRIPT resends not counted): the tests' and the bench's view."""

    async def __call__(self, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """The script's reply for these KEYS and ARGV, as `AsyncScript.__call__` returns it."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append(((len(keys), *keys, *args), future))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                self.batches += 1
                try:
                    await self._run(batch)
                except BaseException as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise  # cancelled: the callers of this batch are told, the rest wait
        finally:
            self._sender = None
            if self._pending:  # cancelled with calls queued: they still get sent
                self._sender = asyncio.create_task(self._send())

    async def _run(self, batch: list[_Call]) -> None:
        replies = await self._pipeline(batch)
        missing = [call for call, reply in zip(batch, replies, strict=True) if _noscript(reply)]
        if missing:
            self.sha = await self.redis.script_load(self.script)
            for call, reply in zip(missing, await self._pipeline(missing), strict=True):
                _settle(call[1], reply)
        for call, reply in zip(batch, replies, strict=True):
            _settle(call[1], reply)

    async def _pipeline(self, batch: list[_Call]) -> list[Any]:
        pipe = self.redis.pipeline(transaction=False)
        for args, _ in batch:
            pipe.execute_command("EVALSHA", self.sha, *args)
        waits = 0
        if self.replicas is not None and self.replicas.count > 0:
            waits = await self.replicas.add_waits(pipe, [args[1] for args, _ in batch])
        replies: list[Any] = await pipe.execute(raise_on_error=False)
        if waits:
            replies, acked = replies[:-waits], replies[-waits:]
            refused = self.replicas.refusal(acked) if self.replicas is not None else None
            if refused is not None:  # made, maybe, but not acknowledged: every call is told
                replies = [reply if isinstance(reply, Exception) else refused for reply in replies]
        return replies


def _noscript(reply: Any) -> bool:
    return isinstance(reply, NoScriptError)


def _settle(future: asyncio.Future[Any], reply: Any) -> None:
    if future.done():  # its caller was cancelled, or it was settled after NOSCRIPT
        return
    if isinstance(reply, Exception):
        future.set_exception(reply)
    else:
        future.set_result(reply)
