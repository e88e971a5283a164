"""The work queue: taskiq with taskiq-redis's stream broker, plus what its `listen` lacks.

taskiq-redis 1.2.4's `RedisStreamBroker.listen` runs XAUTOCLAIM only after XREADGROUP has
returned new messages, so on a quiet queue a dead worker's job is never reclaimed; and nothing
extends the claim of a job that runs longer than `idle_timeout`. `StreamStepBroker` keeps the
library's kick, ack and consumer-group handling and replaces `listen` with one that reclaims on
a timer, survives Redis restarts, and lets a running job `touch` its claim; on a Redis Cluster
`ClusterStepBroker` does the same on taskiq-redis's cluster stream broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import ClusterError, RedisClusterException, RedisError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage
from taskiq.kicker import AsyncKicker
from taskiq.serializers import JSONSerializer
from taskiq_redis import RedisStreamBroker, RedisStreamClusterBroker

from bot import telemetry
from bot.store.keys import QUEUE_MAXLEN
from bot.tasks import raise_lost_cancel

log = structlog.get_logger(__name__)

TASK_NAME = "hitlbot.advance"
"""The one task: advance a thread."""
RECONNECT_DELAY_S = 1.0
PASSING = ("READONLY", "TRYAGAIN", "LOADING", "MASTERDOWN", "CLUSTERDOWN")
"""Errors a read gets while a Redis or a Cluster's primary is being replaced."""


class _Reclaiming:
    """`listen` and `touch` of both brokers, on the client `_client` lends (see the module)."""

    queue_name: str
    consumer_group_name: str
    consumer_name: str
    block: int
    count: int | None
    idle_timeout: int
    unacknowledged_batch_size: int
    reclaim_every_s: float
    formatter: Any
    _claims: dict[str, bytes]
    if TYPE_CHECKING:  # the library's, of either broker: nothing here shadows them

        def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]: ...

        async def _declare_consumer_group(self) -> None: ...

    def _client(self) -> contextlib.AbstractAsyncContextManager[Any]:
        raise NotImplementedError

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        """New jobs as they come, and jobs idle past `idle_timeout` on a timer."""
        last_reclaim = 0.0
        async with self._client() as redis:
            while True:
                raise_lost_cancel()  # stopped while a read swallowed the cancel (bot.tasks)
                try:
                    for msg_id, fields in await self._read(redis):
                        yield self._ackable(msg_id, fields)
                    if time.monotonic() - last_reclaim >= self.reclaim_every_s:
                        last_reclaim = time.monotonic()
                        for msg_id, fields in await self._reclaim(redis):
                            yield self._ackable(msg_id, fields)
                except (
                    RedisConnectionError,
                    RedisTimeoutError,
                    ClusterError,
                    RedisClusterException,
                    OSError,
                ) as exc:
                    log.warning("queue unreachable; retrying", error=str(exc))
                    await asyncio.sleep(RECONNECT_DELAY_S)
                except ResponseError as exc:
                    reason = str(exc)
                    if reason.startswith(PASSING):  # a failover under way: wait it out
                        log.warning("queue unavailable; retrying", error=reason)
                        await asyncio.sleep(RECONNECT_DELAY_S)
                        continue
                    if "NOGROUP" not in reason and not reason.startswith("UNBLOCKED"):
                        raise
                    # The stream or its group is gone (a Redis restarted empty, a node that
                    # turned replica and resynced): declare them again, as at start.
                    log.warning("queue group missing (Redis restarted?); declaring it again")
                    try:
                        await self._declare_consumer_group()
                    except (RedisError, RedisClusterException, OSError) as again:
                        log.warning("queue group not declared; retrying", error=str(again))
                        await asyncio.sleep(RECONNECT_DELAY_S)

    async def _read(self, redis: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
        fetched = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            block=self.block,
            count=self.count,
        )
        return [entry for _, entries in fetched or [] for entry in entries]

    async def _reclaim(self, redis: Any) -> list[tuple[bytes, dict[bytes, bytes]]]:
        reply = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        claimed = [(msg_id, fields) for msg_id, fields in reply[1] if fields]
        if claimed:
            log.info("reclaimed jobs of a stalled worker", count=len(claimed))
        return claimed

    def _ackable(self, msg_id: bytes, fields: dict[bytes, bytes]) -> AckableMessage:
        data = fields[b"data"]
        try:
            task_id = self.formatter.loads(data).task_id
        except Exception:  # the receiver logs and acks unreadable jobs itself
            task_id = None
        if task_id:
            self._claims[task_id] = msg_id
        ack = self._ack_generator(id=msg_id, queue_name=self.queue_name)  # type: ignore[arg-type]

        async def ack_and_forget() -> None:
            await ack()
            if task_id:
                self._claims.pop(task_id, None)

        return AckableMessage(data=data, ack=ack_and_forget)

    async def touch(self, task_id: str) -> None:
        """Reset the idle time of a running job so no other worker reclaims it."""
        msg_id = self._claims.get(task_id)
        if msg_id is None:
            return
        async with self._client() as redis:
            await redis.xclaim(
                self.queue_name,
                self.consumer_group_name,
                self.consumer_name,
                min_idle_time=0,
                message_ids=[msg_id],
                justid=True,
            )


def _stream_options(idle_timeout_s: float) -> dict[str, Any]:
    """What both brokers are given: one consumer group, read from the start, the bounds."""
    return {
        "consumer_group_name": "hitlbot-workers",
        "consumer_id": "0",  # jobs queued before the first worker started are not skipped
        "maxlen": QUEUE_MAXLEN,
        "xread_block": min(2000, max(int(idle_timeout_s * 250), 50)),
    }


class StreamStepBroker(_Reclaiming, RedisStreamBroker):
    """A stream broker whose pending jobs are reclaimed on a timer and can be kept claimed."""

    def __init__(self, url: str, *, queue_name: str, idle_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(
            url,
            queue_name=queue_name,
            idle_timeout=max(int(idle_timeout_s * 1000), 100),
            **_stream_options(idle_timeout_s),
            **kwargs,
        )
        self.reclaim_every_s = max(idle_timeout_s / 4, 0.05)
        self._claims = {}  # task id -> stream id, for touch()

    def _client(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return Redis(connection_pool=self.connection_pool)


class ClusterStepBroker(_Reclaiming, RedisStreamClusterBroker):
    """`StreamStepBroker` on a Redis Cluster: taskiq-redis's cluster stream broker (kick, ack),
    with the same timer reclaim and claim refresh. The stream is one key, so one slot."""

    def __init__(self, url: str, *, queue_name: str, idle_timeout_s: float, **kwargs: Any) -> None:
        super().__init__(url, queue_name=queue_name, **_stream_options(idle_timeout_s), **kwargs)
        self.idle_timeout = max(int(idle_timeout_s * 1000), 100)
        self.count = 100
        self.unacknowledged_batch_size = 100
        self.reclaim_every_s = max(idle_timeout_s / 4, 0.05)
        self._claims = {}

    def _client(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return contextlib.nullcontext(self.redis)  # the library's one cluster client, kept open

    async def _declare_consumer_group(self) -> None:
        # The library's own enters `async with self.redis`, which closes the cluster client.
        with contextlib.suppress(ResponseError):  # BUSYGROUP: declared already
            await self.redis.xgroup_create(
                self.queue_name, self.consumer_group_name, id=self.consumer_id, mkstream=True
            )


StepBroker = StreamStepBroker | ClusterStepBroker
"""The broker of a single Redis or of a Redis Cluster: the rest of hitlbot takes either."""


def build_broker(
    url: str,
    queue_name: str,
    lease_s: float,
    pool_size: int,
    *,
    cluster: bool = False,
    **connection: Any,
) -> StepBroker:
    """The broker both the web process (to kick) and workers (to listen) use."""
    kind = ClusterStepBroker if cluster else StreamStepBroker
    broker = kind(
        url,
        queue_name=queue_name,
        idle_timeout_s=lease_s,
        max_connection_pool_size=pool_size,
        **connection,
    )
    return broker.with_id_generator(task_id)


def task_id() -> str:
    """A job's id as taskiq's default makes it, `uuid4().hex` (32 hex digits, version 4 and
    the RFC 4122 variant), without building the `UUID`: a third of the cost, and a Slack
    mention takes two."""
    raw = bytearray(os.urandom(16))
    raw[6] = raw[6] & 0x0F | 0x40
    raw[8] = raw[8] & 0x3F | 0x80
    return raw.hex()


class Kicker:
    """The `Enqueue` of Deps, backed by the broker."""

    def __init__(self, broker: StepBroker) -> None:
        self._kicker: AsyncKicker[Any, Any] = AsyncKicker(TASK_NAME, broker, labels={})
        self._job = JobTemplate(self._kicker, attempt=0, not_before=0.0)

    async def __call__(self, thread_id: str, *, attempt: int = 0, not_before: float = 0.0) -> None:
        traced = telemetry.carrier()  # the trace goes on in the worker (`bot.telemetry`)
        kicker = self._kicker.with_labels(**traced) if traced else self._kicker
        await kicker.kiq(thread_id, attempt=attempt, not_before=not_before)

    def job(self, thread_id: str) -> bytes:
        """The stream entry's `data` that `self(thread_id)` would add (see `job_data`)."""
        return self._job(thread_id)


def job_data(kicker: AsyncKicker[Any, Any], *args: Any, **kwargs: Any) -> bytes:
    """The `data` field `kicker.kiq(*args, **kwargs)` would XADD to the broker's stream.

    Built the way `AsyncKicker.kiq` builds it (its message, the broker's formatter), so a Redis
    script can add the job itself: `XADD <queue_name> MAXLEN ~ <maxlen> * data <this>`, what
    `RedisStreamBroker.kick` sends. Our brokers have no `pre_send` middleware to run first.
    """
    broker = kicker.broker
    if broker.middlewares:
        raise RuntimeError("a job built outside kiq would skip the broker's middlewares")
    message = kicker._prepare_message(*args, **kwargs)
    return bytes(broker.formatter.dumps(message).message)


class JobTemplate:
    """`job_data` for one kicker and fixed keyword arguments, its message built once.

    Per job only the task id and the positional arguments (strings, which taskiq's kicker
    passes through as they are) change, so the job is the kicker's message with those two
    fields set, dumped by the broker's serializer as its formatter does: the same bytes as
    `job_data(kicker, *args, **kwargs)` but for the task id, at a fraction of the cost
    (no pydantic message to build and dump per job).
    """

    def __init__(self, kicker: AsyncKicker[Any, Any], **kwargs: Any) -> None:
        broker = kicker.broker
        if broker.middlewares:
            raise RuntimeError("a job built outside kiq would skip the broker's middlewares")
        self._broker = broker
        self._message = kicker._prepare_message(**kwargs).model_dump(mode="json")
        self._new_id = broker.id_generator
        self._dumpb = broker.serializer.dumpb
        self._cut = cut_message(broker.serializer, self._message)

    def __call__(self, *args: str) -> bytes:
        """The job's `data` for these positional arguments."""
        if self._broker.middlewares:
            raise RuntimeError("a job built outside kiq would skip the broker's middlewares")
        traced = telemetry.carrier()
        if self._cut is not None and not traced:
            head, middle, tail = self._cut
            task_id, listed = json.dumps(self._new_id()), json.dumps(list(args))
            return b"".join((head, task_id.encode(), middle, listed.encode(), tail))
        message = {**self._message, "task_id": self._new_id(), "args": list(args)}
        if traced:
            message["labels"] = {**message.get("labels", {}), **traced}
        return bytes(self._dumpb(message))


_TASK_ID, _ARGS = "\x00task_id\x00", "\x00args\x00"
"""Stand-ins for the two fields a job sets, found again in the dumped message (no task id or
argument list dumps as these: JSON escapes the NUL)."""


def cut_message(serializer: object, message: dict[str, Any]) -> tuple[bytes, bytes, bytes] | None:
    """`message` as taskiq's default JSON serializer dumps it, cut around its task id and its
    arguments: a job is then the three parts joined by those two fields' own `json.dumps`,
    which is what the serializer writes for them inside the message (the same separators and
    escaping). None for another serializer, or a JSON one with other options: a job is then
    dumped whole."""
    if type(serializer) is not JSONSerializer or serializer.default or not serializer.ensure_ascii:
        return None
    dumped = serializer.dumpb({**message, "task_id": _TASK_ID, "args": _ARGS})
    head, found, rest = dumped.partition(json.dumps(_TASK_ID).encode())
    middle, found_too, tail = rest.partition(json.dumps(_ARGS).encode())
    if not (found and found_too):  # the task id after the arguments: not taskiq's layout
        return None
    return head, middle, tail
