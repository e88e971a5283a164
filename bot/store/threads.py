"""Threads in Redis: load, create, and save under a compare-and-set on their version."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot import telemetry
from bot.clock import SYSTEM, Clock
from bot.core.audit import audit_entries
from bot.core.events import Event, HumanRequest
from bot.core.policy import deadline_steps
from bot.core.thread import Status, Thread
from bot.store import listing
from bot.store.codec import ThreadCache, encode_event, encode_head, loaded, tail_from
from bot.store.connect import RedisClient
from bot.store.keys import AUDIT_MAXLEN, Keys
from bot.store.listing import Summary
from bot.store.replicas import Replicas
from bot.store.scripts import source
from bot.store.watch import ThreadWatch

COMMIT_LUA = source("commit")

RECENT_COMMITS = 8
"""Commit ids remembered per thread for recognising a retried commit."""
COMMIT_ATTEMPTS = 20
"""Reload-and-retry rounds of `update` when concurrent writers move the thread on (rare)."""


class Conflict(Exception):
    """The thread changed since it was loaded; reload and decide again."""


class Fenced(Exception):
    """The writer's lease has lapsed and another worker may hold the thread: nothing written."""


class Busy(Exception):
    """Concurrent writers kept moving the thread on; the change was not made."""


class ThreadExists(Exception):
    """A thread with this id already exists."""


class StoreUnhealthy(Exception):
    """The store did not answer a health check; `args[0]`: what `/healthz` shows of it."""


@dataclass(frozen=True)
class Creation:
    """A new thread's writes, for a script of another module to make in its own round trip:
    run the commit script on `commit_keys`/`commit_args` (expect `{1, 1}`), then list the thread in
    `index`, mark it in `queued` with these scores and add its `deadlines`, exactly as
    `ThreadStore.create` does."""

    commit_keys: list[str]
    commit_args: list[Any]
    index: str
    index_score: str
    queued: str
    queued_score: str
    deadlines: dict[str, float]
    """Its requests' deadline marks (a thread born waiting, an external call's)."""


class ThreadStore:
    """Reads and writes threads; every write is one atomic script call."""

    def __init__(
        self,
        redis: RedisClient,
        keys: Keys,
        ttl_s: int,
        cache: ThreadCache | None = None,
        replicas: Replicas | None = None,
        clock: Clock = SYSTEM,
    ) -> None:
        # redis-py types every reply as a wide union; the shapes here are fixed by the commands.
        self.redis: Any = redis
        self.keys = keys
        self.ttl_s = ttl_s
        self.cache = cache or ThreadCache()
        """Threads seen last: loads fetch only the events appended since."""
        self.replicas = replicas or Replicas(redis)
        """Replicas a commit that answers a human waits for (none by default)."""
        self.clock = clock
        """What scores a queued mark and a commit's time (the process's one clock)."""
        self._commit = redis.register_script(source("commit"))
        self._load = redis.register_script(source("load"))

    async def health(self, timeout_s: float) -> dict[str, str]:
        """What `/healthz` says of the store: `{"redis": "ok"}`, or the reason it did not
        answer within `timeout_s` (StoreUnhealthy)."""
        try:
            # Bounded: the client retries through a Redis restart, a probe must not wait.
            await asyncio.wait_for(self.redis.ping(), timeout_s)
        except Exception as exc:
            raise StoreUnhealthy({"redis": str(exc) or type(exc).__name__}) from exc
        return {"redis": "ok"}

    def watch(self) -> ThreadWatch:
        """Commits published as they happen, for long-polls (one per web process)."""
        return ThreadWatch(self.redis, self.keys)

    async def get(self, thread_id: str) -> Thread | None:
        """The stored thread, or None (one round trip, new events only when it is cached)."""
        start, known = tail_from(self.cache, thread_id)
        reply = await self._load(
            keys=[self.keys.thread(thread_id), self.keys.events(thread_id)], args=[start]
        )
        return loaded(self.cache, thread_id, known, reply)

    async def create(self, thread: Thread) -> Thread:
        """Store a new thread, list it and mark it queued; ThreadExists if the id is taken."""
        keys, args = self.commit_parts(_empty(thread), thread.events)

        async def commit(pipe: Any) -> None:
            await self._commit(keys=keys, args=args, client=pipe)

        async def marks(pipe: Any) -> None:
            pipe.zadd(self.keys.index, {thread.id: thread.created_at.timestamp()})
            pipe.zadd(self.keys.queued, {thread.id: self.clock.time()})
            due = deadlines_of(thread.id, thread.events)  # born waiting (an external call)
            if due:
                pipe.zadd(self.keys.deadlines, due)

        # A launch answers a human: with HITLBOT_REDIS_REPLICAS_ACK, acknowledged once held.
        ok, _ = await self.replicas.commit(
            commit,
            marks,
            scripts=[COMMIT_LUA],
            commit_key=keys[0],
            mark_keys=[self.keys.index, self.keys.queued],
            answers=True,
        )
        if int(ok) != 1:
            raise ThreadExists(thread.id)
        return thread.model_copy(update={"version": 1})

    async def commit(
        self,
        thread: Thread,
        new: list[Event],
        *,
        queued: bool = False,
        fence: str | None = None,
        replace: bool = False,
    ) -> Thread:
        """Append `new` to `thread` if nobody saved it since it was loaded, else Conflict.

        `queued`: the caller enqueues a step next; the thread is marked in the same round
        trip, so the sweeper can kick it again should that enqueue never happen.
        `fence`: the writer's lease token; if that lease is no longer held, Fenced and nothing
        is written (a worker that stalled past its lease must not commit onto the new holder).
        """
        committed, _ = await self._commit_step(
            thread, new, queued=queued, fence=fence, replace=replace
        )
        return committed

    async def commit_step(
        self,
        thread: Thread,
        new: list[Event],
        *,
        fence: str | None = None,
        renew_ms: int = 0,
        release: bool = False,
        after: Thread | None = None,
    ) -> tuple[Thread, bool | None]:
        """A worker's commit, traced (`redis commit`): `commit`, for a lease holder: in the
        same round trip, renew the fenced lease to `renew_ms` (0: leave it), and with
        `release` let it go unless work arrived meanwhile (the dirty mark). Returns the
        committed thread and, with `release`, whether the lease is still held (new work: go
        on), else None. `after`: `thread` with `new`, if the caller built it already."""
        attributes = {"db.system.name": "redis", "hitlbot.events": len(new)}
        with telemetry.span("redis commit", attributes):
            return await self._commit_step(
                thread, new, fence=fence, renew_ms=renew_ms, release=release, after=after
            )

    async def _commit_step(
        self,
        thread: Thread,
        new: list[Event],
        *,
        queued: bool = False,
        fence: str | None = None,
        renew_ms: int = 0,
        release: bool = False,
        after: Thread | None = None,
        replace: bool = False,
    ) -> tuple[Thread, bool | None]:
        """`commit_step`, untraced, with `commit`'s `queued` and `replace`."""
        due = deadlines_of(thread.id, new)
        after = after if after is not None else thread.appended(*new)
        keys, args = self.commit_parts(
            thread, new, fence, replace, after=after, renew_ms=renew_ms, release=release
        )
        if queued or due:
            # The marks go with the commit (an unmarked deadline would never be swept; a mark
            # whose commit was refused is dropped by the sweeper). Queued work is a human's
            # answer or message (or a deadline's): held by the replicas
            # HITLBOT_REDIS_REPLICAS_ACK asks for before it is acknowledged.
            async def commit(pipe: Any) -> None:
                await self._commit(keys=keys, args=args, client=pipe)

            async def marks(pipe: Any) -> None:
                if queued:
                    pipe.zadd(self.keys.queued, {thread.id: self.clock.time()})
                if due:
                    pipe.zadd(self.keys.deadlines, due)

            reply = await self.replicas.commit(
                commit,
                marks,
                scripts=[COMMIT_LUA],
                commit_key=keys[0],
                mark_keys=[self.keys.queued] if queued else [self.keys.deadlines],
                answers=queued,
            )
        else:
            reply = await self._commit(keys=keys, args=args)
        ok, version = reply[0], reply[1]
        if int(ok) == -2:  # stored whole by an earlier version: rewrite it in this layout
            return await self._commit_step(
                thread,
                new,
                queued=queued,
                fence=fence,
                renew_ms=renew_ms,
                release=release,
                after=after,
                replace=True,
            )
        if int(ok) == -1:
            raise Fenced(f"the lease on thread {thread.id} was lost; not committed")
        if not int(ok):
            raise Conflict(f"thread {thread.id} is at version {version}, not {thread.version}")
        committed = after.model_copy(update={"version": int(version)})
        self.cache.put(committed)
        return committed, (reply[2] == b"1" if release else None)

    async def update(
        self,
        thread_id: str,
        change: Callable[[Thread], list[Event]],
        *,
        queued: bool = False,
        attempts: int = COMMIT_ATTEMPTS,
        loaded: Thread | None = None,
    ) -> Thread | None:
        """Load the thread, append what `change` makes of it, commit under that version.

        On a conflict it loads and asks `change` again, so the change is always decided on the
        very version it is committed on. `change` may raise to refuse; an empty list writes
        nothing. None if there is no such thread; Busy if writers kept getting there first.
        `loaded`: the caller's copy, just loaded, tried first instead of loading it again
        (the compare-and-set refuses it if the thread has moved on since).
        """
        for attempt in range(attempts):
            thread = loaded if attempt == 0 and loaded is not None else await self.get(thread_id)
            if thread is None:
                return None
            events = change(thread)
            if not events:
                return thread
            try:
                return await self.commit(thread, events, queued=queued)
            except Conflict:
                continue
        raise Busy(f"thread {thread_id} kept changing; try again")

    def commit_parts(
        self,
        before: Thread,
        new: list[Event],
        fence: str | None = None,
        replace: bool = False,
        *,
        after: Thread | None = None,
        renew_ms: int = 0,
        release: bool = False,
    ) -> tuple[list[str], list[Any]]:
        """KEYS and ARGV of the commit script (`scripts/commit.lua`) appending `new` to `before`
        (`after`: `before` with `new`, if the caller has it already; `renew_ms`, `release`:
        see `commit_step`).

        Public so a script that commits as part of more work (`bot.store.intake`) runs
        this very commit, with this layout, instead of a copy of it.
        """
        after = after if after is not None else before.appended(*new)
        audit = [json.dumps(entry) for entry in audit_entries(before, new, after)]
        first = before.version == 0 or replace
        written = after.events if replace else new
        keys = self.commit_keys(before.id)
        if release:
            keys.append(self.keys.dirty(before.id))
        args = [
            str(before.version),
            secrets.token_hex(8),  # the same on redis-py's retry of this very call
            fence or "",
            encode_head(after) if first else "",
            after.status,
            after.agent,
            repr(self.clock.time()),
            self.ttl_s,
            AUDIT_MAXLEN,
            RECENT_COMMITS,
            len(written),
            "1" if replace else "",
            str(renew_ms) if renew_ms else "",
            "1" if release else "",
            *(encode_event(event) for event in written),
            *audit,
        ]
        return keys, args

    def commit_keys(self, thread_id: str) -> list[str]:
        """KEYS of the commit script for `thread_id` (all in its slot)."""
        return [
            self.keys.thread(thread_id),
            self.keys.audit(thread_id),
            self.keys.lease(thread_id),
            self.keys.events(thread_id),
        ]

    def creation(self, thread: Thread) -> Creation:
        """Everything `create` writes for `thread`, for a script that creates it itself."""
        # `after` is the thread itself: the commit need not rebuild it from an empty copy.
        keys, args = self.commit_parts(_empty(thread), thread.events, after=thread)
        return Creation(
            commit_keys=keys,
            commit_args=args,
            index=self.keys.index,
            index_score=repr(thread.created_at.timestamp()),
            queued=self.keys.queued,
            queued_score=repr(self.clock.time()),
            deadlines=deadlines_of(thread.id, thread.events),
        )

    async def audit(self, thread_id: str) -> list[dict[str, Any]]:
        """The thread's audit entries, oldest first."""
        rows = await self.redis.xrange(self.keys.audit(thread_id))
        return [json.loads(fields[b"e"]) for _, fields in rows]

    async def list(
        self, status: Status | None, cursor: str | None, limit: int
    ) -> tuple[list[Summary], str | None]:
        """Threads newest first, filtered by status; returns a page and the next cursor."""
        return await listing.page(self.redis, self.keys, status, cursor, limit)


def deadlines_of(thread_id: str, events: list[Event]) -> dict[str, float]:
    """Sweeper marks for the requests among `events` that have deadlines."""
    marks: dict[str, float] = {}
    for event in events:
        if isinstance(event, HumanRequest):
            steps = deadline_steps(event)
            if steps:
                marks[f"{thread_id} {event.request_id}"] = steps[0][1]
    return marks


def _empty(thread: Thread) -> Thread:
    return thread.model_copy(update={"events": [], "version": 0})
