"""Commits acknowledged only once replicas hold them (`HITLBOT_REDIS_REPLICAS_ACK`).

Redis replicates asynchronously: a primary that dies right after a commit may take the commit
with it, though the human who made it was told it counted. With `replicas` set, the pipeline
of a commit that answers a human ends with `WAIT <replicas> <timeout>`, sent on the very
connection (so to the very node) that ran the commit: `WAIT` counts the replicas that have
this connection's writes. On a cluster the queued mark (the sweeper's way back to a thread
whose job was lost) is on another node, written first: it is waited for there too. Fewer in time:
`NotReplicated`, and the caller answers 503 instead of acknowledging (the commit is made;
a retry finds it, or is refused as already answered).

Also here: a pipeline that runs a registered script, made to survive a node that does not
have it (a Redis restarted, a replica promoted): redis-py's cluster pipeline does not load
scripts; a retry is safe, since every commit carries its commit id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from redis.asyncio import RedisCluster
from redis.exceptions import NoScriptError

from bot.store.connect import RedisClient

Build = Callable[[Any], Awaitable[None]]
"""Adds commands to a pipeline."""


class NotReplicated(Exception):
    """A commit was made, but fewer replicas than required have it yet: not acknowledged."""


class Replicas:
    """How many replicas must hold a commit that answers a human, and how long to wait."""

    def __init__(self, redis: RedisClient, count: int = 0, timeout_s: float = 2.0) -> None:
        self.redis: Any = redis
        self.count = count
        self.timeout_ms = max(int(timeout_s * 1000), 1)
        self.cluster = isinstance(redis, RedisCluster)

    async def commit(
        self,
        commit: Build,
        marks: Build,
        *,
        scripts: Sequence[str],
        commit_key: str,
        mark_keys: Sequence[str],
        answers: bool,
    ) -> Any:
        """The reply of the commit `commit(pipe)` sends, with the marks (sorted sets of other
        slots: queued, deadlines, index) `marks(pipe)` sends. `answers`: it answers a human,
        so it waits for the replicas.

        One Redis: one pipeline, the commit first. A Cluster sends a pipeline's commands to
        their nodes at once, so a process dying mid-send could leave a commit without its
        mark; there the marks go first, in their own round trip: a crash between the two
        leaves only a mark naming a thread that has not moved, which the sweepers drop.
        """
        if self.cluster:
            await self.pipeline(marks, scripts=(), wait_on=mark_keys if answers else ())
            replies = await self.pipeline(
                commit, scripts=scripts, wait_on=[commit_key] if answers else ()
            )
            return replies[0]

        async def both(pipe: Any) -> None:
            await commit(pipe)
            await marks(pipe)

        wait_on = [commit_key] if answers else ()  # one connection: one WAIT covers both
        return (await self.pipeline(both, scripts=scripts, wait_on=wait_on))[0]

    async def pipeline(
        self,
        build: Build,
        *,
        scripts: Sequence[str],
        wait_on: Sequence[str] = (),
    ) -> list[Any]:
        """Run `build(pipe)`'s commands as one non-transactional pipeline; its replies.

        `wait_on`: keys the pipeline writes; when replicas are required, a `WAIT` goes last to
        each of their nodes (on the connection that wrote there), and NotReplicated is raised
        if too few replicas confirm any of them (the WAIT replies are not among those
        returned). `scripts`: the sources of the scripts `build` calls, loaded (once) if a
        node answers NOSCRIPT, and the pipeline sent again.
        """
        waits = 0
        for attempt in range(2):
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    await build(pipe)
                    if self.count > 0 and wait_on:
                        waits = await self.add_waits(pipe, wait_on)
                    replies: list[Any] = await pipe.execute()
                break
            except NoScriptError:
                if attempt:
                    raise
                for script in scripts:
                    await self.redis.script_load(script)
        if waits:
            replies, acked = replies[:-waits], replies[-waits:]
            refused = self.refusal(acked)
            if refused is not None:
                raise refused
        return replies

    def refusal(self, acked: Sequence[Any]) -> NotReplicated | None:
        """NotReplicated if any of the WAIT replies `acked` falls short (or failed)."""
        counts = [-1 if isinstance(count, Exception) else int(count) for count in acked]
        fewest = min(counts)
        if fewest >= self.count:
            return None
        return NotReplicated(
            f"committed, but {max(fewest, 0)} of {self.count} replicas confirmed it in time; "
            "not acknowledged (retry: an answer already made is refused as such)"
        )

    async def add_waits(self, pipe: Any, keys: Sequence[str]) -> int:
        """Queue the WAITs for `keys`' nodes; how many."""
        if not isinstance(self.redis, RedisCluster):
            pipe.execute_command("WAIT", self.count, self.timeout_ms)
            return 1
        await self.redis.initialize()  # nothing to do once the slots are known
        nodes = {}
        for key in keys:
            node = self.redis.get_node_from_key(key)
            if node is None:  # the slot's primary is gone: nothing can confirm it yet
                raise NotReplicated(f"no primary serves {key!r} now; not acknowledged")
            nodes[node.name] = node
        for node in nodes.values():
            pipe.execute_command("WAIT", self.count, self.timeout_ms, target_nodes=node)
        return len(nodes)
