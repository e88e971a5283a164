"""Long-poll support: a web process learns that a thread changed as soon as it is committed.

Every commit after a thread's first publishes `"<version> <status>"` on a channel named like
the thread's hash key (`COMMIT_LUA`; a channel name is not a key, the name is only reused).
A `GET /threads/{id}?wait=` subscribes to that channel on the process's one pub/sub
connection, then loads the thread, and sleeps until a commit says the condition may hold or
the wait ends; so a client waiting for a thread costs one request, not one every few ms.

A notification is a hint, never the answer: the request loads the thread again before it
answers. A notification lost (a reconnect between commit and delivery) only means the request
answers at the end of its wait with the thread as it is then; the client asks again. The one
reader of the connection is supervised: a message it cannot read, or an UNSUBSCRIBE that
fails, is logged and skipped, and should the reader end anyway it is started again. A
condition that holds already is answered at once, without the pub/sub connection at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from bot.core.thread import Thread
from bot.store.connect import RedisClient
from bot.store.keys import Keys
from bot.tasks import stopped

log = structlog.get_logger(__name__)

RETRY_S = 0.5
"""Pause of the reader after its connection failed beyond redis-py's own retries."""


@dataclass
class Change:
    """What a commit published: the thread's new version and status."""

    version: int
    status: str


@dataclass(frozen=True)
class Until:
    """What a long-poll waits for; met as soon as either given condition holds."""

    after_version: int | None = None
    """Met once the thread's version is above this."""
    while_status: frozenset[str] = frozenset()
    """Met once the thread's status is none of these."""

    def met(self, version: int, status: str) -> bool:
        """Whether a thread at `version` with `status` ends the wait."""
        if self.after_version is not None and version > self.after_version:
            return True
        return bool(self.while_status) and status not in self.while_status


@dataclass(eq=False)  # hashed by identity: a set of the waiters of a channel
class _Waiter:
    poked: asyncio.Event = field(default_factory=asyncio.Event)
    last: Change | None = None

    def poke(self, change: Change | None) -> None:
        self.last = change
        self.poked.set()


@dataclass
class _Channel:
    """One subscribed channel: confirmed by Redis yet, and who waits on it."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    waiters: set[_Waiter] = field(default_factory=set)


class Changes:
    """The commits of one thread, from the moment Redis confirmed the subscription."""

    def __init__(self, waiter: _Waiter) -> None:
        self._waiter = waiter

    async def next(self, timeout: float) -> Change | None:
        """The next commit's version and status; None when `timeout` passed first, or when
        the pub/sub connection failed (notifications may have been lost: load and look)."""
        waiter = self._waiter
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.poked.wait(), timeout)
        waiter.poked.clear()
        change, waiter.last = waiter.last, None
        return change


async def wait_for(
    watch: ThreadWatch,
    load: Callable[[], Awaitable[Thread]],
    thread_id: str,
    until: Until,
    seconds: float,
) -> Thread:
    """The thread as soon as `until` is met, or as it is when `seconds` have passed."""
    deadline = time.monotonic() + seconds
    thread = await load()
    if until.met(thread.version, thread.status):
        return thread  # at once, whatever state the pub/sub connection is in
    async with watch.watching(thread_id, seconds) as changes:
        thread = await load()  # after the subscription: no commit falls in between
        while not until.met(thread.version, thread.status):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            change = await changes.next(left)
            if change is None or until.met(change.version, change.status):
                thread = await load()
    return thread


class ThreadWatch:
    """The web process's one pub/sub connection and the requests waiting on threads.

    A channel is subscribed while someone waits on it and unsubscribed when the last waiter
    leaves, but only once Redis has confirmed it: the confirmations of one channel then come
    strictly as subscribe, unsubscribe, subscribe..., so each marks the right subscription
    ready.
    """

    def __init__(self, redis: RedisClient, keys: Keys) -> None:
        self._pubsub: Any = redis.pubsub()
        self._keys = keys
        self._channels: dict[str, _Channel] = {}
        self._reader: asyncio.Task[None] | None = None
        self._closed = False

    @contextlib.asynccontextmanager
    async def watching(self, thread_id: str, timeout: float) -> AsyncIterator[Changes]:
        """Subscribed to `thread_id`'s commits; waits for Redis to confirm it (at most
        `timeout`: past that, the caller's wait is over anyway) before yielding."""
        name = self._keys.thread(thread_id)
        waiter = _Waiter()
        channel = self._channels.get(name)
        if channel is None:
            # The waiter is in before the SUBSCRIBE goes: its confirmation may be read while
            # this send is still being awaited, and a channel nobody waits on is dropped.
            channel = self._channels[name] = _Channel(waiters={waiter})
            try:
                await self._pubsub.subscribe(name)
            except BaseException:  # never sent: no confirmation will come for this entry
                if self._channels.get(name) is channel:
                    del self._channels[name]
                raise
        self._supervise()  # the connection exists from the first subscribe on
        channel.waiters.add(waiter)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(channel.ready.wait(), timeout)
            yield Changes(waiter)
        finally:
            channel.waiters.discard(waiter)
            if not channel.waiters and channel.ready.is_set():
                await self._drop(name, channel)

    def _supervise(self) -> None:
        """Start the reader, or start it again if it ended: it is the only thing that wakes
        the waiters, and without it every long-poll would sleep its full wait."""
        if self._closed or (self._reader is not None and not self._reader.done()):
            return
        self._reader = asyncio.create_task(self._read())
        self._reader.add_done_callback(self._ended)

    def _ended(self, reader: asyncio.Task[None]) -> None:
        # Cancelled: by `aclose`, or by the loop shutting down; either way, not restarted.
        if self._closed or reader is not self._reader or reader.cancelled():
            return
        why = repr(reader.exception())
        log.error("thread watch: the pub/sub reader died; restarted", error=why)
        self._wake_all()  # what it would have read meanwhile may be lost
        self._supervise()

    async def _drop(self, name: str, channel: _Channel) -> None:
        if self._channels.get(name) is channel:
            del self._channels[name]
            await self._unsubscribe(name)

    async def _unsubscribe(self, name: str) -> None:
        try:
            await self._pubsub.unsubscribe(name)
        except Exception as exc:  # a reconnect subscribes again; then it is dropped again
            log.warning("thread watch: unsubscribe failed", channel=name, error=repr(exc))

    async def _read(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # beyond redis-py's retries: wake everyone, try again
                log.warning("thread watch: pub/sub connection failed", error=str(exc))
                self._wake_all()
                await asyncio.sleep(RETRY_S)
                continue
            if message is None:
                continue
            try:
                await self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # one bad message (or a failed UNSUBSCRIBE) is skipped
                log.warning("thread watch: message not handled", error=repr(exc))
                self._wake_all()

    def _wake_all(self) -> None:
        """Every waiter loads its thread again: a notification may have been lost."""
        for channel in self._channels.values():
            for waiter in channel.waiters:
                waiter.poke(None)

    async def _dispatch(self, message: dict[str, Any]) -> None:
        name = message["channel"].decode()
        channel = self._channels.get(name)
        if message["type"] == "subscribe":
            if channel is None:  # resubscribed by a reconnect after it was dropped
                await self._unsubscribe(name)
                return
            channel.ready.set()
            if not channel.waiters:  # everyone left before the confirmation
                await self._drop(name, channel)
        elif message["type"] == "message" and channel is not None:
            version, _, status = message["data"].decode().partition(" ")
            change = Change(int(version), status)
            for waiter in channel.waiters:
                waiter.poke(change)

    async def aclose(self) -> None:
        """Stop reading and give the connection back."""
        self._closed = True
        reader, self._reader = self._reader, None
        if reader is not None:
            await stopped(reader)
        await self._pubsub.aclose()
