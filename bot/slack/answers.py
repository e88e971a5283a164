"""An answer in Slack: its messages, with Slack's feedback buttons under the last (pure).

The buttons' values name the thread and the answer (`up|down <thread id> <ref>`), nothing
trusted: a click counts only on the message the answer's delivery recorded, for an answer the
stored thread has (`bot/slack/feedback.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.events import Done
from bot.core.jsondata import Json
from bot.slack.cards import SlackMessage, done_messages

FEEDBACK = "feedback"
"""action_id of the feedback buttons."""


@dataclass(frozen=True)
class Rated:
    """What a feedback button's value says."""

    rating: Literal["up", "down"]
    """Which button."""
    thread_id: str
    """The thread the answer belongs to."""
    ref: str
    """The answer (`done:<index>`)."""


def answer_messages(thread_id: str, ref: str, done: Done) -> list[SlackMessage]:
    """The answer's messages; the last one carries the feedback buttons."""
    messages = done_messages(done)
    last = messages[-1]
    blocks = [*last.blocks, feedback_block(thread_id, ref)]
    return [*messages[:-1], SlackMessage(text=last.text, blocks=blocks)]


def feedback_block(thread_id: str, ref: str) -> Json:
    """Thumbs up and down under an answer (`context_actions` with `feedback_buttons`)."""
    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "👍"},
                    "value": f"up {thread_id} {ref}",
                    "accessibility_label": "This answer was good",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "👎"},
                    "value": f"down {thread_id} {ref}",
                    "accessibility_label": "This answer was not good",
                },
            }
        ],
    }


def read_rating(value: str) -> Rated | None:
    """A feedback button's value read back; None if it is not one of ours."""
    rating, _, rest = value.partition(" ")
    thread_id, _, ref = rest.partition(" ")
    if rating == "up" and thread_id and ref and " " not in ref:
        return Rated("up", thread_id, ref)
    if rating == "down" and thread_id and ref and " " not in ref:
        return Rated("down", thread_id, ref)
    return None
