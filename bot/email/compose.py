"""Outbound mail as plain data: the bot's replies, threaded into the human's conversation.

Pure builders, tested as plain data; `bot.email.outbound` does the sending.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from bot.core.events import (
    Cancelled,
    Done,
    Event,
    Failed,
    HumanRequest,
    HumanResponse,
    RequestSent,
    UserMessage,
)
from bot.core.thread import Thread

MAX_REFERENCES = 20
"""References sent: the root and the most recent ones (RFC 5322 §3.6.4 allows trimming)."""
FAILED_NOTICE = (
    "Sorry, something went wrong on our side and we could not finish handling your message. "
    "The team has been told; you do not need to write again."
)
"""What the human reads when their thread fails (the reason is for operators, not for them)."""
SYNTHESIZED = "@synthesized.hitlbot.invalid>"
"""The domain part of the Message-IDs `bot.email` makes up for mail that has none."""
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv|antw|r)\s*(?:\[\d+\])?\s*:)+\s*", re.IGNORECASE)
"""`Re:` and its translations (`AW:`, `SV:`, `Antw:`), repeated or numbered (`Re[2]:`)."""


@dataclass(frozen=True)
class Outbound:
    """One mail the bot sends, before it becomes MIME."""

    sender: str
    """`From` address."""
    to: str
    """The human's address."""
    subject: str
    """Full subject, `Re:` included."""
    text: str
    """Plain-text body; the HTML part is made from it."""
    message_id: str
    """Its own `<id@domain>`."""
    in_reply_to: str | None = None
    """The last Message-ID of the conversation."""
    references: list[str] = field(default_factory=list)
    """The conversation's Message-IDs, oldest first, trimmed."""
    thread_id: str | None = None
    """Sent as `X-Hitlbot-Thread`, for operators reading the mail."""


def base_subject(subject: str) -> str:
    """`subject` without its `Re:` prefixes."""
    return _REPLY_PREFIX.sub("", subject).strip()


def reply_subject(subject: str) -> str:
    """`Re: <subject>` exactly once, however many `Re:` it had."""
    return f"Re: {base_subject(subject) or 'your message'}"


def minted_message_id(thread_id: str, ref: str, domain: str) -> str:
    """The Message-ID of the bot's mail for outbound event `ref` of a thread.

    Derived, not random: a send retried (after a relay's 4xx, or by a worker that died before
    recording it) carries the same id, so mail clients show one message, not two.
    """
    digest = hashlib.sha256(f"{thread_id}\0{ref}".encode()).hexdigest()[:32]
    return f"<hitlbot.{digest}@{domain}>"


def conversation_ids(thread: Thread) -> list[str]:
    """Message-IDs of the thread's mail, received and sent, in the order they happened."""
    found: list[str] = []
    for event in thread.events:
        if isinstance(event, UserMessage | HumanResponse) and event.ref:
            found.append(event.ref)
        elif isinstance(event, RequestSent) and event.channel == "email":
            found.append(event.coordinates.get("message_id", ""))
    # Other channels' refs (a Slack ts on an approval) are not Message-IDs, and an id made up
    # for a mail that had none means nothing to the human's mail client.
    ids = [i for i in found if i.startswith("<") and i.endswith(">") and SYNTHESIZED not in i]
    return list(dict.fromkeys(ids))


def trimmed_references(ids: list[str], limit: int = MAX_REFERENCES) -> list[str]:
    """The first id (the thread's root) and the most recent ones, `limit` in all."""
    if len(ids) <= limit:
        return ids
    return [ids[0], *ids[len(ids) - limit + 1 :]]


def body_text(event: Event) -> str:
    """The plain-text body for an outbound event."""
    if isinstance(event, HumanRequest):
        text = event.message.strip()
        if event.only_choices:
            options = "\n".join(f"{n}. {choice}" for n, choice in enumerate(event.choices, 1))
            text += f"\n\nPlease answer with one of these (its words or its number):\n{options}"
        elif event.choices:
            options = "\n".join(f"- {choice}" for choice in event.choices)
            text += f"\n\nYou can answer with one of:\n{options}"
        return text + "\n\nJust reply to this email."
    if isinstance(event, Done):
        return event.message.strip()
    if isinstance(event, Failed):
        return FAILED_NOTICE
    if isinstance(event, Cancelled):
        why = f" ({event.reason})" if event.reason else ""
        return (
            f"This request was stopped by {event.user}{why}; nothing more will be done on it."
            "\n\nReply to this email to start again."
        )
    raise TypeError(f"no email for a {event.type} event")


def html_body(text: str) -> str:
    """The HTML alternative of a plain-text body: paragraphs and line breaks, escaped."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    inner = "\n".join(
        "<p>" + "<br>\n".join(html.escape(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    head = '<!DOCTYPE html>\n<html><body style="font-family: sans-serif">'
    return f"{head}\n{inner}\n</body></html>\n"


def build_message(mail: Outbound, *, date: datetime) -> EmailMessage:
    """The MIME message: headers that thread it, and text with an HTML alternative."""
    msg = EmailMessage()
    msg["From"] = mail.sender
    msg["To"] = mail.to
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if mail.references:
        msg["References"] = " ".join(mail.references)
    # RFC 3834: other robots (auto-responders, other bots) must not answer us; and Exchange's
    # own out-of-office replies are suppressed.
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    if mail.thread_id:
        msg["X-Hitlbot-Thread"] = mail.thread_id
    msg.set_content(mail.text)
    msg.add_alternative(html_body(mail.text), subtype="html")
    return msg


def reply_to_thread(
    thread: Thread, to: str, sender: str, subject: str, ref: str, event: Event, domain: str
) -> Outbound:
    """The mail that carries `event` to the thread's human, continuing its conversation."""
    chain = conversation_ids(thread)
    return Outbound(
        sender=sender,
        to=to,
        subject=reply_subject(subject),
        text=body_text(event),
        message_id=minted_message_id(thread.id, ref, domain),
        in_reply_to=chain[-1] if chain else None,
        references=trimmed_references(chain),
        thread_id=thread.id,
    )
