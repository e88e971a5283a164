"""How a thread is laid out in Redis: a small head, and its events one list item each.

Events are appended, never rewritten, so a commit writes only what is new and a worker that
has a thread in memory loads only the events added since (`ThreadCache`): the cost of a step
does not grow with the thread. Threads stored whole by earlier versions (one `data` field)
are still read; their first commit rewrites them in this layout.
"""

from __future__ import annotations

from typing import Any

from bot.core.events import EVENT, Event
from bot.core.lru import Lru
from bot.core.thread import Thread

CACHED_THREADS = 1000
"""Threads a process keeps in memory for tail loads (least recently used go first)."""


def encode_head(thread: Thread) -> str:
    """What never changes after the launch: id, agent, origin, created_at."""
    return thread.model_dump_json(exclude={"version", "events"})


def encode_event(event: Event) -> bytes:
    """One event as stored."""
    return EVENT.dump_json(event)


def decode(
    version: bytes | None,
    head: bytes | None,
    legacy: bytes | None,
    events: list[bytes],
    *,
    known: Thread | None = None,
) -> Thread | None:
    """A thread from its stored fields; `known`: the caller's copy of the first events."""
    if version is None:
        return None
    if head is None and legacy is not None:  # stored whole by an earlier version
        return Thread.model_validate_json(legacy).model_copy(update={"version": int(version)})
    decoded = [EVENT.validate_json(raw) for raw in events]
    if known is not None:
        # `appended` folds only the new events into the known thread's derived state.
        grown = known.appended(*decoded) if decoded else known
        return grown.model_copy(update={"version": int(version)})
    if head is None:
        return None
    thread = Thread.model_validate_json(head)
    return thread.model_copy(update={"events": decoded, "version": int(version)})


class ThreadCache:
    """The threads this process saw last, so a load fetches only what was appended since."""

    def __init__(self, size: int = CACHED_THREADS) -> None:
        self._threads: Lru[str, Thread] = Lru(size)

    def get(self, thread_id: str) -> Thread | None:
        """The last version seen of the thread, if still kept."""
        return self._threads.get(thread_id)

    def put(self, thread: Thread) -> None:
        """Remember `thread` (events are append-only, so it stays a prefix of the stored one)."""
        self._threads.put(thread.id, thread)

    def forget(self, thread_id: str) -> None:
        """Drop a thread whose stored events no longer extend the cached ones."""
        self._threads.pop(thread_id)


def tail_from(cache: ThreadCache, thread_id: str) -> tuple[int, Thread | None]:
    """Where a load may start: the number of events already known, and the known thread."""
    known = cache.get(thread_id)
    return (len(known.events), known) if known is not None else (0, None)


def loaded(cache: ThreadCache, thread_id: str, known: Thread | None, reply: Any) -> Thread | None:
    """The thread from a load script's reply `{v, head, legacy data, start, events}`, cached."""
    version, head, legacy, start, events = reply
    thread = decode(version, head, legacy, events, known=known if int(start) else None)
    if thread is None:
        cache.forget(thread_id)
    else:
        cache.put(thread)
    return thread
