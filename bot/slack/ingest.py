"""A Slack message made durable in one Redis round trip: claims, link, thread and its job.

Before the ack, a mention used to cost seven sequential round trips (two dedupe claims, the
link lookup, the link claim, the thread's commit, the queue kick, the working marker) and a
second kick for the reaction job. Here one script does all of it, atomically:

1. look the Slack thread's link up; channel talk with no link and no mention is ignored;
2. claim the event id and the message (`SET NX`): a retry, or the other event of a mention
   (`app_mention` and `message` with one ts), stops here;
3. a linked Slack thread returns its thread: the caller appends to it (`Service.post_message`,
   which decides from the thread's state whether the message answers its pending question);
4. otherwise link the Slack thread to a new thread and create it with the store's own commit
   script (`COMMIT_LUA`, on `ThreadStore.creation`'s keys and arguments), list it, mark it
   queued, mark the message working, and XADD the step job and the reaction job to the queue
   stream, byte for byte what taskiq's kick would send (`bot.store.queue.job_data`).

Two first messages in one Slack thread run one after the other in Redis: the first creates,
the second finds the link. The thread's id carries the Slack thread's hash tag
(`bot.store.keys.slack_tag`), like the claims and the link, so those keys share one Cluster slot.
The index, the queued set and the queue stream are global keys: on a single Redis (what the
runtime connects to) the script writes them too; see the README for what a Cluster needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.core.thread import Thread
from bot.slack.inbound import Incoming
from bot.slack.working_job import ShowWorking
from bot.store.coalesce import CoalescedScript
from bot.store.commit_script import COMMIT_LUA
from bot.store.connect import RedisClient
from bot.store.keys import DEDUPE_TTL_S, SLACK_WORKING_TTL_S, TAG_SEPARATOR, Keys, slack_tag
from bot.store.queue import Kicker, StepBroker
from bot.store.threads import ThreadStore

# KEYS: event claim, message claim, link, the commit's four keys (thread, audit, lease,
# events), index, queued, queue stream, working set.
# ARGV: 1 '1' if there is an event id, 2 '1' if the message may start a thread (a mention or
# a DM), 3 what to do with no link: 'create', 'empty' or 'refuse', 4 new thread id, 5 link
# TTL, 6 claim TTL, 7 index score, 8 queued score, 9 stream maxlen, 10 step job, 11 reaction
# job ('' for none), 12 working member ('' for none), 13 working TTL, 14 the trim ('~' or
# '=', as the broker's `approximate`), then the commit's ARGV.
# Returns {outcome, thread id}: ignored, seen, linked, empty, refused or started.
_INGEST = (
    "local function commit(KEYS, ARGV)\n"
    + COMMIT_LUA
    + """
end
local linked = redis.call('GET', KEYS[3])
if not linked and ARGV[2] ~= '1' then return {'ignored', ''} end
if ARGV[1] == '1' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[6]) then
  return {'seen', ''}
end
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[6]) then return {'seen', ''} end
if linked then return {'linked', linked} end
if ARGV[3] == 'empty' then return {'empty', ''} end
if ARGV[3] ~= 'create' then return {'refused', ''} end
local written = commit({KEYS[4], KEYS[5], KEYS[6], KEYS[7]}, {unpack(ARGV, 15, #ARGV)})
if written[1] ~= 1 then return redis.error_reply('thread ' .. ARGV[4] .. ' exists') end
redis.call('SET', KEYS[3], ARGV[4], 'EX', ARGV[5])
redis.call('ZADD', KEYS[8], ARGV[7], ARGV[4])
redis.call('ZADD', KEYS[9], ARGV[8], ARGV[4])
if ARGV[12] ~= '' then
  redis.call('SADD', KEYS[11], ARGV[12])
  redis.call('EXPIRE', KEYS[11], ARGV[13])
end
redis.call('XADD', KEYS[10], 'MAXLEN', ARGV[14], ARGV[9], '*', 'data', ARGV[10])
if ARGV[11] ~= '' then
  redis.call('XADD', KEYS[10], 'MAXLEN', ARGV[14], ARGV[9], '*', 'data', ARGV[11])
end
return {'started', ARGV[4]}
"""
)

Outcome = Literal["ignored", "seen", "linked", "empty", "refused", "started"]


@dataclass(frozen=True)
class Taken:
    """What the script did with a message."""

    outcome: Outcome
    """`ignored` (not for the bot), `seen` (a retry or the other event of one message: drop
    it), `linked` (claimed; append to `thread_id`), `empty` (claimed; no text to start on),
    `refused` (claimed; this thread cannot be started here: the caller's slow path says why),
    `started` (claimed, and `thread_id` created and queued)."""
    thread_id: str | None
    """The linked or created thread."""


class Ingest:
    """The web process's one-round-trip path for a person's Slack message."""

    def __init__(
        self,
        redis: RedisClient,
        keys: Keys,
        store: ThreadStore,
        broker: StepBroker,
        *,
        link_ttl_s: int,
        reaction: bool,
    ) -> None:
        self.redis: Any = redis
        self.keys = keys
        self.store = store
        self.broker = broker
        self.link_ttl_s = link_ttl_s
        self.reaction = reaction
        """Whether the working reaction is on: its marker and job go in the script."""
        self._step = Kicker(broker)
        self._working = ShowWorking(broker)
        # Concurrent mentions' calls share round trips (one pipeline per batch in flight).
        self._script = CoalescedScript(redis, _INGEST)

    @staticmethod
    def thread_id(message: Incoming, ids: Any) -> str:
        """A new thread's id in the slot of the message's Slack thread (`ids`: `Deps.ids`)."""
        tag = slack_tag(message.team, message.channel, message.thread_ts)
        return str(ids(tag + TAG_SEPARATOR))

    async def take(self, message: Incoming, event_id: str | None, thread: Thread | None) -> Taken:
        """Run the script for `message`; `thread`: the thread to create if the Slack thread
        has none yet (None: `empty` when the text is empty, else `refused`)."""
        tag = slack_tag(message.team, message.channel, message.thread_ts)
        own_id = thread.id if thread is not None else f"{tag}{TAG_SEPARATOR}none"
        mode, tail, step, reaction, member = "refuse", [], b"", b"", ""
        if thread is not None:
            creation = self.store.creation(thread)
            mode, tail = "create", creation.commit_args
            step = self._step.job(thread.id)
            if self.reaction:
                member = f"{message.channel} {message.ts}"
                reaction = self._working.job(
                    thread.id, message.channel, message.ts, message.thread_ts
                )
        elif not message.text:
            mode = "empty"
        keys = [
            *self._claims(message, event_id, tag),
            self.keys.slack_thread(message.team, message.channel, message.thread_ts),
            *self.store.commit_keys(own_id),
            self.keys.index,
            self.keys.queued,
            self.broker.queue_name,
            self.keys.slack_working(own_id),
        ]
        args = [
            "1" if event_id else "",
            "1" if message.mentioned or message.direct else "",
            mode,
            own_id,
            self.link_ttl_s,
            DEDUPE_TTL_S,
            repr(thread.created_at.timestamp()) if thread is not None else "0",
            creation.queued_score if thread is not None else "0",
            self.broker.maxlen or 0,
            step,
            reaction,
            member,
            SLACK_WORKING_TTL_S,
            "~" if self.broker.approximate else "=",
            *tail,
        ]
        outcome, found = await self._script(keys, args)
        name = outcome.decode()
        return Taken(name, found.decode() or None)

    async def release(self, message: Incoming, event_id: str | None) -> None:
        """Give the claims back, so Slack's retry of a message we failed on is taken again."""
        tag = slack_tag(message.team, message.channel, message.thread_ts)
        claims = self._claims(message, event_id, tag)
        await self.redis.delete(*(claims if event_id else claims[1:]))

    def _claims(self, message: Incoming, event_id: str | None, tag: str) -> list[str]:
        item = f"{message.team}:{message.channel}:{message.ts}"
        return [
            self.keys.slack_seen(tag, "slack", event_id or ""),
            self.keys.slack_seen(tag, "slack-message", item),
        ]
