"""Feedback on answers: what a thumbs up or down becomes, and what a thread's feedback says."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from bot.core.events import Done, Event, Feedback
from bot.core.thread import Thread

Rating = Literal["up", "down"]


def answer_ref(index: int) -> str:
    """The ref of the answer that is event `index` (as its delivery is recorded)."""
    return f"done:{index}"


def answer_of(thread: Thread, ref: str) -> Done | None:
    """The answer `ref` names, if it is one of the thread's answers."""
    kind, _, index = ref.partition(":")
    if kind != "done" or not index.isdigit() or int(index) >= len(thread.events):
        return None
    event = thread.events[int(index)]
    return event if isinstance(event, Done) else None


def rate(thread: Thread, user: str, rating: Rating, ref: str, now: datetime) -> list[Event]:
    """The event recording `user`'s `rating` of answer `ref`; nothing if that is already
    their latest word on it (a double click, a retry); ValueError if `ref` is no answer."""
    if answer_of(thread, ref) is None:
        raise ValueError(f"{ref!r} is not an answer of thread {thread.id}")
    if latest(thread, ref).get(user) == rating:
        return []
    return [Feedback(user=user, rating=rating, ref=ref, at=now)]


def latest(thread: Thread, ref: str | None = None) -> dict[str, Rating]:
    """Each person's latest rating (of answer `ref`, or of any answer)."""
    found: dict[str, Rating] = {}
    for event in thread.events:
        if isinstance(event, Feedback) and (ref is None or event.ref == ref):
            found[event.user] = event.rating
    return found


def rated(thread: Thread, rating: Rating) -> bool:
    """Whether someone's latest word on one of the thread's answers is `rating`."""
    answers = {e.ref for e in thread.events if isinstance(e, Feedback)}
    return any(rating in latest(thread, ref).values() for ref in answers)
