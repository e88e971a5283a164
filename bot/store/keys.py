"""Every Redis key name and TTL, in one place (arq's `constants.py`).

Per-thread keys carry the thread id as a `{hash tag}`, so one thread's keys share a Redis
Cluster slot and the Lua scripts that touch several of them stay legal there.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

AUDIT_MAXLEN = 1000
"""Entries kept in one thread's audit stream (approximate trim)."""
QUEUE_MAXLEN = 200_000
"""Step jobs kept in the queue stream (acked ones are trimmed first in practice)."""
DEDUPE_TTL_S = 24 * 3600
"""How long a channel remembers an event id it has already taken (Slack retries, mail)."""

FENCE_TTL_S = 30 * 24 * 3600
"""How long a thread's fencing counter outlives its last lease (longer than any thread)."""

TAG_SEPARATOR = "-"
"""In a thread id, what comes before it is the id's hash tag (`th_<slot tag>-<random>`): the
intake script creates a thread in the slot of its conversation's claims and link."""

SLACK_MODAL_TTL_S = 3600
"""How long an opened Reject modal may stay open and still count when submitted."""
SLACK_WORKING_TTL_S = 6 * 3600
"""Longest the working indicator of a step is remembered for removal."""


@dataclass(frozen=True)
class Keys:
    """Key names under one prefix, so deployments or test runs can share a Redis."""

    prefix: str = "hitlbot"

    def _tagged(self, thread_id: str) -> str:
        """`{thread_id}`, or `{tag}-rest` for an id minted in a Slack thread's slot."""
        tag, dot, rest = thread_id.partition(TAG_SEPARATOR)
        return f"{self.prefix}:{{{tag}}}{dot}{rest}"

    def thread(self, thread_id: str) -> str:
        """Hash: `head` (JSON: id, agent, origin, created_at), `v` (version), `status`,
        `agent`, `updated`, `c` (recent commit ids); `data` in threads of earlier versions."""
        return f"{self._tagged(thread_id)}:thread"

    def events(self, thread_id: str) -> str:
        """List: the thread's events, one JSON each, appended by every commit."""
        return f"{self._tagged(thread_id)}:events"

    def audit(self, thread_id: str) -> str:
        """Stream: the thread's append-only audit log."""
        return f"{self._tagged(thread_id)}:audit"

    def lease(self, thread_id: str) -> str:
        """String: token of the worker advancing the thread; expires unless renewed."""
        return f"{self._tagged(thread_id)}:lease"

    def fence(self, thread_id: str) -> str:
        """String: counter of leases taken; each lease's token is the next value."""
        return f"{self._tagged(thread_id)}:fence"

    def dirty(self, thread_id: str) -> str:
        """String: set when work arrived while the lease was held; the holder runs again."""
        return f"{self._tagged(thread_id)}:dirty"

    @property
    def index(self) -> str:
        """Sorted set of every thread id, scored by creation time (for listing); expired
        threads are trimmed from it by the sweeper (`trim_index`)."""
        return f"{self.prefix}:threads"

    @property
    def queued(self) -> str:
        """Sorted set: threads given work (a launch, an answer, a scheduled retry), scored by
        when that work is due; the sweeper kicks again any still `running` with nobody on it
        well past that, e.g. after a web process died between its commit and its enqueue."""
        return f"{self.prefix}:queued"

    @property
    def deadlines(self) -> str:
        """Sorted set: `<thread id> <request id>` of pending requests with a deadline, scored
        by the next one due; the sweeper records reminders and expiries from it."""
        return f"{self.prefix}:deadlines"

    @property
    def sweeper(self) -> str:
        """String set with NX: the worker currently sweeping `queued` (one at a time)."""
        return f"{self.prefix}:sweeper"

    def agent(self, agent: str, name: str) -> str:
        """An agent's own record `name` (its tools choose the names, through `AgentStore`)."""
        return f"{self.prefix}:agent:{agent}:{name}"

    def seen(self, namespace: str, item: str) -> str:
        """String set with NX: an inbound item (Slack event id, Message-ID) already taken."""
        return f"{self.prefix}:seen:{namespace}:{item}"

    def claim(self, thread_id: str, namespace: str, item: str) -> str:
        """String: who took an inbound item (a Slack event id or message, a mail's Message-ID)
        and what it became, `<call id> <outcome> <thread id> <version>`, in the slot of the
        thread it went to (`bot.store.intake`)."""
        return f"{self._tagged(thread_id)}:seen:{namespace}:{item}"

    def slack_thread(self, team: str, channel: str, thread_ts: str) -> str:
        """String: the hitlbot thread id a Slack thread (team, channel, parent ts) belongs to.

        In the Slack thread's slot (`slack_tag`), beside its claims and its first thread."""
        tag = slack_tag(team, channel, thread_ts)
        return f"{self.prefix}:{{{tag}}}:slack:thread:{team}:{channel}:{thread_ts}"

    def slack_modal(self, thread_id: str, nonce: str) -> str:
        """String (JSON): who a Reject modal was opened for, and for which request and card."""
        return f"{self._tagged(thread_id)}:slack:modal:{nonce}"

    def slack_working(self, thread_id: str) -> str:
        """Set: Slack messages (`channel ts`) showing the working reaction until the next reply."""
        return f"{self._tagged(thread_id)}:slack:working"

    def email_message(self, message_id: str) -> str:
        """String: `in <thread id>` or `out <thread id>` for a Message-ID received or sent.

        Kept as long as a thread (`HITLBOT_THREAD_TTL_S`), so a late reply still finds its
        thread; `out` also marks the ids the bot minted, so its own mail looping back is
        recognised.
        """
        return f"{self.prefix}:email:msg:{message_id}"

    def prefix_pattern(self) -> str:
        """Glob of every key under this prefix (tests clean up with it)."""
        return f"{self.prefix}:*"


def slack_tag(team: str, channel: str, thread_ts: str) -> str:
    """The hash tag of a Slack thread: its link, its messages' claims and the thread started
    there share one Redis Cluster slot, so one script may touch them all."""
    return item_tag(f"{team}:{channel}:{thread_ts}")


def item_tag(item: str) -> str:
    """The hash tag a thread started by `item` (a Slack thread, a mail) is minted under, so
    the item's claims and the thread share one Redis Cluster slot."""
    digest = hashlib.blake2b(item.encode(), digest_size=8)
    return f"th_{digest.hexdigest()}"
