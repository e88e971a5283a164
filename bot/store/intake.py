"""Intake: a human's message taken exactly once, in one script (`scripts/intake.lua`).

One call claims the delivery (a Slack event id and message, a mail's Message-ID), starts the
thread or appends the message to it, links the conversation (a Slack thread, the mail's
Message-ID) to the thread, marks it queued and adds its step job (and the Slack working
reaction's), atomically. The claims remember what the call did, so a call that Redis ran but
whose reply was lost, retried by redis-py, gets the first run's answer: the message is never
both stored and refused as "seen", and never stored twice.

Why this is durable, write by write (the README's "How a thread keeps moving"):
- claim, thread, link, working mark: one slot (`{thread}`), one script: all or nothing;
- index, queued mark, job: global keys, written by the same script on a single Redis. A Redis
  Cluster forbids that (CROSSSLOT); there the marks (index, queued) go in a pipeline before
  the script and the jobs in one after it: a crash after the marks leaves marks naming a
  thread never written or not moved on, which a listing and the sweeper drop; a crash after
  the script leaves a thread marked queued with no job, which the sweeper queues again.

With `HITLBOT_REDIS_REPLICAS_ACK`, every batch of script calls ends with a `WAIT` on its
connection (`CoalescedScript`), and the marks are waited for on their nodes.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from redis.crc import key_slot

from bot.core.events import Event
from bot.core.thread import Thread
from bot.store.coalesce import CoalescedScript
from bot.store.connect import RedisClient
from bot.store.keys import DEDUPE_TTL_S, SLACK_WORKING_TTL_S, TAG_SEPARATOR, Keys, item_tag
from bot.store.queue import Kicker, StepBroker
from bot.store.scripts import source
from bot.store.threads import ThreadStore


@dataclass(frozen=True)
class Claim:
    """One name a delivery is known by (`namespace`, `item`): Slack's event id, a Slack
    message's `team:channel:ts`, a mail's Message-ID. Taken in the thread's slot."""

    namespace: str
    item: str
    slot: str | None = None
    """The id the claim is kept under, if not the thread's: one known before any thread is
    (an Idempotency-Key's tag, which the thread's id is then minted in)."""


@dataclass(frozen=True)
class SlackLink:
    """A Slack thread (team, channel, parent ts): its messages continue one thread."""

    team: str
    channel: str
    thread_ts: str

    def key(self, keys: Keys) -> str:
        """The link's key."""
        return keys.slack_thread(self.team, self.channel, self.thread_ts)

    def value(self, thread_id: str) -> str:
        """What the link holds for `thread_id`."""
        return thread_id

    def thread_of(self, value: str) -> str | None:
        """The thread a stored value names (a Slack thread's messages follow it)."""
        return value or None


@dataclass(frozen=True)
class MailLink:
    """A mail's Message-ID, recorded as received on its thread (the email index)."""

    message_id: str

    def key(self, keys: Keys) -> str:
        """The index entry's key."""
        return keys.email_message(self.message_id)

    def value(self, thread_id: str) -> str:
        """`in <thread id>`: received on it."""
        return f"in {thread_id}"

    def thread_of(self, value: str) -> str | None:
        """None: a mail already indexed is not appended again (it was received, or sent)."""
        return None


Link = SlackLink | MailLink

Outcome = Literal[
    "started", "appended", "claimed", "linked", "ignored", "seen", "conflict", "gone", "legacy"
]


@dataclass(frozen=True)
class Taken:
    """What the script did (see `scripts/intake.lua`)."""

    outcome: Outcome
    thread_id: str | None
    """The thread started, appended to or claimed on; for `seen`, the one the first delivery
    went to; for `linked`, the thread the link names (None if not one to follow)."""
    version: int | None = None
    """The thread's version after the write (`started`, `appended`, `seen`), or the current
    one (`conflict`)."""


class Intake:
    """The one script every channel's messages go through."""

    def __init__(
        self,
        redis: RedisClient,
        keys: Keys,
        store: ThreadStore,
        broker: StepBroker,
        *,
        link_ttl_s: int,
        claim_ttl_s: int = DEDUPE_TTL_S,
    ) -> None:
        self.redis: Any = redis  # redis-py types replies as a wide union
        self.keys = keys
        self.store = store
        self.broker = broker
        self.link_ttl_s = link_ttl_s
        self.claim_ttl_s = claim_ttl_s
        self._step = Kicker(broker)
        self.cluster = store.replicas.cluster
        """A Redis Cluster: the global keys are written around the script, not in it."""
        # Concurrent messages' calls share round trips (one pipeline per batch in flight);
        # each batch waits for the replicas HITLBOT_REDIS_REPLICAS_ACK asks for.
        self.script = CoalescedScript(redis, source("intake"), replicas=store.replicas)
        self._link = redis.register_script(source("link"))

    def new_id(self, ids: Any, tag_of: str) -> str:
        """A new thread's id in the slot of `tag_of` (`ids`: `Deps.ids`)."""
        return str(ids(item_tag(tag_of) + TAG_SEPARATOR))

    async def link(self, link: SlackLink, thread_id: str) -> str:
        """Link a conversation to `thread_id` unless it names another thread already (a
        refresh never takes one over); the thread it is linked to afterwards."""
        found = await self._link(keys=[link.key(self.keys)], args=[thread_id, self.link_ttl_s])
        return str(found.decode())

    async def linked(self, link: Link) -> str | None:
        """The thread `link` names to follow, if any (a plain read: nothing is claimed)."""
        found = await self.redis.get(link.key(self.keys))
        return link.thread_of(found.decode()) if found is not None else None

    async def start(
        self,
        thread: Thread,
        *,
        claims: Sequence[Claim] = (),
        link: Link | None = None,
        stale: str | None = None,
        working: str = "",
        jobs: Sequence[bytes] = (),
        claim_ttl_s: int | None = None,
    ) -> Taken:
        """Create `thread`, queued, unless `link` names another live thread (`linked`), a
        claim is taken or the thread exists already (`seen`: an id derived from the caller's
        own). `stale`: a thread the link may name that is gone. `claim_ttl_s`: how long the
        claims are kept, if not the intake's default."""
        creation = self.store.creation(thread)
        return await self._run(
            "start",
            thread.id,
            claims,
            link,
            stale=stale,
            scores=(creation.index_score, creation.queued_score),
            jobs=[self._step.job(thread.id), *jobs],
            working=working,
            commit=(creation.commit_keys, creation.commit_args),
            deadlines=creation.deadlines,
            claim_ttl_s=claim_ttl_s,
        )

    async def claim(
        self,
        slot_of: str,
        *,
        claims: Sequence[Claim],
        link: Link | None = None,
        may_start: bool = True,
        stale: str | None = None,
        claim_ttl_s: int | None = None,
    ) -> Taken:
        """Take the delivery without starting anything (`claimed`): a message with nothing to
        start on, or refused. Still `linked` to a thread the link names, `ignored` when it
        may not start a thread, `seen` when taken before. `slot_of`: a thread id whose slot
        the claims go in."""
        commit: tuple[list[str], list[Any]] = (self.store.commit_keys(slot_of), [])
        return await self._run(
            "claim",
            slot_of,
            claims,
            link,
            stale=stale,
            may_start=may_start,
            commit=commit,
            claim_ttl_s=claim_ttl_s,
        )

    async def append(
        self,
        before: Thread,
        new: list[Event],
        *,
        claims: Sequence[Claim] = (),
        link: Link | None = None,
        step: bool = True,
        working: str = "",
        jobs: Sequence[bytes] = (),
        replace: bool = False,
    ) -> tuple[Taken, Thread | None]:
        """Commit `new` on `before` (decided on it) with the delivery's claims; with `step`,
        mark it queued and add its jobs. `conflict`: it moved on, decide again; `gone`: it
        expired. Returns the thread as committed for `appended`."""
        after = before.appended(*new)
        keys, args = self.store.commit_parts(before, new, replace=replace, after=after)
        taken = await self._run(
            "append",
            before.id,
            claims,
            link,
            scores=("0", repr(self.store.clock.time())),
            jobs=[self._step.job(before.id), *jobs] if step else [],
            working=working if step else "",
            commit=(keys, args),
        )
        if taken.outcome == "legacy":  # stored whole by an earlier version: rewrite it
            return await self.append(
                before,
                new,
                claims=claims,
                link=link,
                step=step,
                working=working,
                jobs=jobs,
                replace=True,
            )
        if taken.outcome != "appended" or taken.version is None:
            return taken, None
        committed = after.model_copy(update={"version": taken.version})
        self.store.cache.put(committed)
        return taken, committed

    async def _run(
        self,
        mode: str,
        thread_id: str,
        claims: Sequence[Claim],
        link: Link | None,
        *,
        commit: tuple[list[str], list[Any]],
        stale: str | None = None,
        may_start: bool = True,
        scores: tuple[str, str] = ("0", "0"),
        jobs: Sequence[bytes] = (),
        working: str = "",
        deadlines: dict[str, float] | None = None,
        claim_ttl_s: int | None = None,
    ) -> Taken:
        keys = self.keys
        deadlines = deadlines or {}
        commit_keys, commit_args = commit
        thread_key = commit_keys[0]
        outside = self.cluster  # the global keys are ours to write, around the script
        apart = None  # a link in another slot than the thread's (a Cluster only)
        if outside and link is not None and _slot(link.key(keys)) != _slot(thread_key):
            apart, link = link, None
            if mode != "append":  # the script's check for a conversation taken already
                held = await self.redis.get(apart.key(keys))
                if held is not None and (not stale or held.decode() != apart.value(stale)):
                    return Taken("linked", apart.thread_of(held.decode()))
        if outside:
            await self._mark(thread_id, mode, scores, bool(jobs), deadlines)
        global_keys = [keys.index, keys.queued, self.broker.queue_name, keys.deadlines]
        keys_ = [
            *commit_keys[:4],
            link.key(keys) if link is not None else thread_key,
            keys.slack_working(thread_id),
            *([thread_key] * len(global_keys) if outside else global_keys),
            *(keys.claim(claim.slot or thread_id, claim.namespace, claim.item) for claim in claims),
        ]
        if outside:
            scores = ("", scores[1])
        args = [
            secrets.token_hex(8),  # the same on redis-py's retry of this very call
            mode,
            thread_id,
            "1" if may_start else "",
            link.value(thread_id) if link is not None else "",
            link.value(stale) if link is not None and stale else "",
            self.link_ttl_s,
            claim_ttl_s or self.claim_ttl_s,
            *scores,
            self.broker.maxlen or 0,
            "~" if self.broker.approximate else "=",
            working,
            SLACK_WORKING_TTL_S,
            len(jobs),
            *jobs,
            len(deadlines),
            *(part for member, due in deadlines.items() for part in (repr(due), member)),
            *commit_args,
        ]
        outcome, found, version = await self.script(keys_, args)
        name = outcome.decode()
        if outside and jobs and name in ("started", "appended"):
            await self._queue(jobs)
        if apart is not None and name in ("started", "appended"):
            # After the thread: a crash before it loses only the link (a later mail that
            # names this one is matched by its other references, or starts a new thread).
            value = apart.value(thread_id)
            await self._link(keys=[apart.key(keys)], args=[value, self.link_ttl_s])
        value = found.decode()
        if name == "linked":
            return Taken("linked", link.thread_of(value) if link is not None else None)
        number = version.decode()
        return Taken(name, value or None, int(number) if number.isdigit() else None)

    async def _mark(
        self,
        thread_id: str,
        mode: str,
        scores: tuple[str, str],
        queued: bool,
        deadlines: dict[str, float],
    ) -> None:
        """On a Cluster, before the script: list a thread to start (with its deadlines), mark
        one given work."""
        index, queued_at = scores
        listed = mode == "start"
        if not (listed or queued):
            return
        marked = [self.keys.index] if listed else []
        marked += [self.keys.queued] if queued else []
        marked += [self.keys.deadlines] if listed and deadlines else []

        async def marks(pipe: Any) -> None:
            if listed:
                # NX: a thread posted again (an id derived from the caller's, as a HumanLayer
                # call's) keeps its place; only the script knows it exists already.
                pipe.zadd(self.keys.index, {thread_id: float(index)}, nx=True)
                if deadlines:
                    pipe.zadd(self.keys.deadlines, deadlines)
            if queued:
                pipe.zadd(self.keys.queued, {thread_id: float(queued_at)})

        await self.store.replicas.pipeline(marks, scripts=(), wait_on=marked)

    async def _queue(self, jobs: Sequence[bytes]) -> None:
        """On a Cluster, after the script: the jobs, as the broker's kick adds them."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job in jobs:
                pipe.xadd(
                    self.broker.queue_name,
                    {b"data": job},
                    maxlen=self.broker.maxlen,
                    approximate=self.broker.approximate,
                )
            await pipe.execute()


def _slot(key: str) -> int:
    return int(key_slot(key.encode()))
