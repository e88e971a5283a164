"""Thumbs up or down under an answer: recorded on the thread, in its audit, and counted.

A click counts only on the message the answer's delivery recorded, for an answer the stored
thread has; a person's second click on the same button records nothing new, and switching
from up to down records the new word (the latest counts: `bot/core/feedback.py`).
"""

from __future__ import annotations

import structlog
from slack_bolt.async_app import AsyncApp

from bot import metrics
from bot.core.events import RequestSent
from bot.core.feedback import rate
from bot.slack.actions import on_click
from bot.slack.answers import FEEDBACK, read_rating
from bot.slack.deps import SlackDeps
from bot.slack.inbound import Click

log = structlog.get_logger(__name__)

THANKS = {"up": "Thanks! Glad it helped.", "down": "Thanks: noted, so it can be improved."}
"""What the person who rated is told (only they see it)."""
GONE = "This answer is no longer kept, so the feedback was not recorded."


def register(app: AsyncApp, slack: SlackDeps) -> None:
    """Listen to the feedback buttons (before the catch-all action listener)."""
    on_click(app, FEEDBACK, slack, take)


async def take(slack: SlackDeps, click: Click) -> None:
    """Record the click as a `Feedback` event, once."""
    rated = read_rating(click.value)
    if rated is None:
        return
    thread = await slack.store.get(rated.thread_id)
    if thread is None:
        _tell(slack, click, GONE)
        return
    shown = any(
        isinstance(event, RequestSent)
        and event.ref == rated.ref
        and event.coordinates.get("channel") == click.channel
        and event.coordinates.get("ts") == click.message_ts
        for event in thread.events
    )
    if not shown:
        log.warning("feedback click not on the answer's message", thread_id=thread.id)
        return
    now = slack.service.deps.clock.now()
    try:
        after = await slack.store.update(
            thread.id,
            lambda fresh: rate(fresh, click.user, rated.rating, rated.ref, now),
            loaded=thread,
        )
    except ValueError:
        return
    if after is not None and len(after.events) > len(thread.events):
        metrics.FEEDBACK.labels(thread.agent, rated.rating).inc()
    _tell(slack, click, THANKS[rated.rating])


def _tell(slack: SlackDeps, click: Click, text: str) -> None:
    slack.tell(click.channel, click.user, text, thread_ts=click.thread_ts)
