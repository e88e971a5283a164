"""Many paused threads: Redis memory per paused thread, and resume latency as they grow.

One real thread is run to its approval card; its keys are then cloned under new ids with a
pipeline, writing exactly what the store wrote (every key of the thread: its hash, event list,
audit stream, fence; and its index entries), to 1k, 10k and 100k paused threads. At each
size, Approve is clicked (a signed `block_actions` on the card of record) on randomly chosen
clones, one at a time, and the latency runs from the click being sent to the next request
arriving at the model stand-in.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
from redis import Redis

from bench.cycle_client import MESSAGE
from bench.stack import API_TOKEN, APPROVER, SIGNING_SECRET, StandIns, hitlbot_env, web, worker
from bench.stats import Row, percentile
from bot.slack.cards import APPROVE
from bot.standins.slack_signing import block_actions
from bot.store.keys import Keys

BATCH = 1000


@dataclass(frozen=True)
class Config:
    sizes: tuple[int, ...]
    samples: int


@dataclass(frozen=True)
class Template:
    thread_id: str
    request_id: str
    channel: str
    ts: str


def _paused_thread(client: httpx.Client, stand: StandIns) -> Template:
    thread_id = client.post("/threads", json={"agent": "deploy", "message": MESSAGE}).json()[
        "thread_id"
    ]
    card = stand.control(f"/card?thread={thread_id}&timeout=30")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        thread = client.get(f"/threads/{thread_id}").json()
        sent = [e for e in thread["events"] if e["type"] == "request_sent"]
        if sent:
            coordinates = sent[0]["coordinates"]
            assert coordinates.get("ts") == card["ts"], (coordinates, card)
            return Template(
                thread_id, str(card["request_id"]), str(card["channel"]), str(card["ts"])
            )
        time.sleep(0.01)
    raise TimeoutError("the template thread did not pause at its approval card")


class Cloner:
    """Writes copies of one paused thread's keys under fresh ids."""

    def __init__(self, redis: Redis, keys: Keys, template: str) -> None:
        self.redis = redis
        self.keys = keys
        self.template = template
        tag = f"{{{template}}}"
        # A lease or a dirty mark is a worker's, not the thread's: a clone starts with neither.
        transient = (keys.lease(template), keys.dirty(template))
        found = [k.decode() for k in redis.scan_iter(match=f"{keys.prefix}:{tag}:*")]
        self.own = [k for k in found if k not in transient]
        self.types = {key: redis.type(key).decode() for key in self.own}
        self.hashes = {k: redis.hgetall(k) for k, t in self.types.items() if t == "hash"}
        self.streams = {
            k: [fields for _, fields in redis.xrange(k)]
            for k, t in self.types.items()
            if t == "stream"
        }
        self.strings = {k: redis.get(k) for k, t in self.types.items() if t == "string"}
        self.lists = {k: redis.lrange(k, 0, -1) for k, t in self.types.items() if t == "list"}
        self.ttls = {key: redis.ttl(key) for key in self.own}
        self.index_score = redis.zscore(keys.index, template)
        self.queued_score = redis.zscore(keys.queued, template)
        others = [t for t in self.types.values() if t not in ("hash", "stream", "string", "list")]
        assert not others, f"the template has keys the cloner does not copy: {others}"
        self.made: list[str] = []

    def clone(self, count: int) -> None:
        for start in range(0, count, BATCH):
            pipe = self.redis.pipeline(transaction=False)
            for i in range(start, min(count, start + BATCH)):
                new_id = f"th_b{len(self.made):015x}"
                self._copy(pipe, new_id, i)
                self.made.append(new_id)
            pipe.execute()

    def _copy(self, pipe: Any, new_id: str, i: int) -> None:
        """Queue on `pipe` the writes of one clone: its keys, then its index entries."""
        old, new = self.template.encode(), new_id.encode()
        for key, fields in self.hashes.items():
            pipe.hset(
                self._named(key, new_id),
                mapping={f: v.replace(old, new) for f, v in fields.items()},
            )
        for key, entries in self.streams.items():
            for fields in entries:
                pipe.xadd(
                    self._named(key, new_id), {f: v.replace(old, new) for f, v in fields.items()}
                )
        for key, value in self.strings.items():
            pipe.set(self._named(key, new_id), value.replace(old, new))
        for key, items in self.lists.items():
            pipe.rpush(self._named(key, new_id), *(item.replace(old, new) for item in items))
        for key, ttl in self.ttls.items():
            if ttl > 0:
                pipe.expire(self._named(key, new_id), ttl)
        if self.index_score is not None:
            pipe.zadd(self.keys.index, {new_id: self.index_score + i * 1e-6})
        if self.queued_score is not None:
            pipe.zadd(self.keys.queued, {new_id: self.queued_score})

    def _named(self, key: str, new_id: str) -> str:
        return key.replace(self.template, new_id)

    def key_bytes(self) -> int:
        """MEMORY USAGE of the template thread's own keys."""
        return sum(int(self.redis.memory_usage(key, samples=0) or 0) for key in self.own)


def _resume_latency(
    client: httpx.Client, stand: StandIns, template: Template, thread_id: str
) -> float:
    body, headers = block_actions(
        APPROVER,
        [
            {
                "action_id": APPROVE,
                "value": template.request_id.replace(template.thread_id, thread_id),
            }
        ],
        channel_id=template.channel,
        message_ts=template.ts,
        signing_secret=SIGNING_SECRET,
    )
    count = int(stand.control("/count")["count"])  # type: ignore[call-overload]
    sent = time.monotonic()
    reply = client.post("/slack/events", content=body, headers=headers)
    assert reply.status_code == 200, reply.text
    arrived = stand.control(f"/wait?n={count + 1}&timeout=30")["at"]
    assert arrived is not None, f"no model request after approving {thread_id}"
    return float(arrived) - sent  # type: ignore[arg-type]


def run(redis_url: str, stand: StandIns, cfg: Config) -> list[Row]:
    redis = Redis.from_url(redis_url)
    redis.flushall()
    keys = Keys()
    env = hitlbot_env(redis_url, stand)
    by_size: dict[int, list[float]] = {}
    with web(env) as served, worker(env):
        client = httpx.Client(
            base_url=served.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=60
        )
        template = _paused_thread(client, stand)
        cloner = Cloner(redis, keys, template.thread_id)
        per_key = cloner.key_bytes()
        before = int(redis.info("memory")["used_memory"])
        rng = random.Random(8)
        used: set[str] = set()
        memory_per_thread = 0.0
        for size in cfg.sizes:
            cloner.clone(size - len(cloner.made))
            if size == cfg.sizes[-1]:
                memory_per_thread = (int(redis.info("memory")["used_memory"]) - before) / len(
                    cloner.made
                )
            samples = []
            fresh = [
                t for t in rng.sample(cloner.made, min(size, cfg.samples * 3)) if t not in used
            ]
            for thread_id in fresh[: cfg.samples]:
                used.add(thread_id)
                samples.append(_resume_latency(client, stand, template, thread_id))
            by_size[size] = samples
        client.close()
    redis.close()
    return _rows(cfg, by_size, per_key, memory_per_thread)


def _rows(
    cfg: Config, by_size: dict[int, list[float]], per_key: int, per_thread: float
) -> list[Row]:
    first, last = cfg.sizes[0], cfg.sizes[-1]

    def cell(size: int) -> str:
        values = by_size[size]
        return (
            f"{size:,}: p50 {percentile(values, 50) * 1e3:.1f} ms, "
            f"p99 {percentile(values, 99) * 1e3:.1f} ms"
        )

    flat = percentile(by_size[last], 50) / percentile(by_size[first], 50)
    middle = "; ".join(cell(size) for size in cfg.sizes[1:])
    rows: list[Any] = [
        Row(
            f"resume latency (click → next model request), {cfg.samples} clicks per size",
            middle,
            cell(first),
            f"{flat:.2f}× (p50, {last:,} vs {first:,})",
            "flat (≈1.0×)",
        ),
        Row(
            "Redis memory per paused thread",
            f"{per_thread / 1024:.1f} KB (used_memory over {last:,} threads)",
            f"MEMORY USAGE of one thread's keys: {per_key / 1024:.1f} KB",
            "—",
            "≤ 8 KB",
        ),
    ]
    return rows
