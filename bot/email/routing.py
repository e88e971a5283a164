"""Which agent a new mail goes to, and what a mail matched to a thread may do there (pure).

Routing (factor 11): the recipient address picks the agent, `+tags` ignored, so
`support+orders@example.com` reaches the route of `support@example.com`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.config import agent_routes
from bot.core.external import mail_senders
from bot.core.thread import EmailOrigin, ExternalOrigin, Thread
from bot.email.headers import clean_address, split_plus_address
from bot.email.message import ParsedEmail


def parse_routes(spec: str) -> dict[str, str]:
    """`a@x.com=support,b@x.com=deploy` -> {address: agent}; ValueError when malformed."""
    return agent_routes(spec, "HITLBOT_EMAIL_ROUTES", "`address=agent`", key=mailbox_of)


def mailbox_of(address: str) -> str | None:
    """`Support+Tag@Example.com` -> `support@example.com`; None if it is not an address."""
    parts = split_plus_address(address)
    return f"{parts[0]}@{parts[2]}" if parts else None


def recipients(mail: ParsedEmail) -> list[str]:
    """Where the mail was sent: the envelope (it has Bcc) first, then `To`, then `Cc`."""
    return list(dict.fromkeys([*mail.envelope_to, *mail.to, *mail.cc]))


@dataclass(frozen=True)
class Route:
    """Where a new mail goes."""

    agent: str
    """The agent that takes it."""
    mailbox: str | None
    """The routed bot address it was sent to, if a route matched."""


def route(addresses: Sequence[str], routes: Mapping[str, str], default_agent: str) -> Route:
    """The first recipient with a route picks the agent; otherwise the default agent."""
    for address in addresses:
        base = mailbox_of(address)
        if base is not None and base in routes:
            return Route(routes[base], base)
    return Route(default_agent, None)


def reply_mailbox(found: Route, addresses: Sequence[str], email_from: str | None) -> str:
    """The address the bot answers from: the routed one, else EMAIL_FROM, else the recipient."""
    if found.mailbox:
        return found.mailbox
    if email_from and (address := clean_address(email_from)):
        return address
    return next((a for a in (mailbox_of(x) for x in addresses) if a), "")


@dataclass(frozen=True)
class Resume:
    """The thread's human wrote: answer its question, or start its next turn."""


@dataclass(frozen=True)
class Hold:
    """Keep the mail on the thread, flagged, without resuming it."""

    reason: str


def disposition(mail: ParsedEmail, thread: Thread) -> Resume | Hold:
    """What a mail matched to `thread` by its headers may do there."""
    origin = thread.origin
    if isinstance(origin, ExternalOrigin) and mail.sender in mail_senders(origin):
        # An external call's question by mail: its addressees answer it.
        if mail.auto_submitted:
            return Hold("auto-submitted (an auto-reply or a bounce); never answered")
        return Resume()
    if not isinstance(origin, EmailOrigin):
        return Hold(f"the thread did not start by email (it is a {origin.kind} thread)")
    if mail.sender != origin.address.lower():
        return Hold(f"sent from {mail.sender}, not from the thread's human")
    if mail.auto_submitted:
        return Hold("auto-submitted (an auto-reply or a bounce); never answered")
    pending = thread.pending_request
    if pending is not None and pending.kind == "approval":
        return Hold("the thread is waiting for an approval decision; kept for the team to read")
    return Resume()


STOP_WORDS = frozenset({"stop", "cancel", "please stop", "stop please", "stop it"})
"""A reply that says only one of these (case, spaces and end punctuation aside) cancels."""


def wants_stop(mail: ParsedEmail, thread: Thread, text: str) -> bool:
    """Whether the mail is the thread's own human replying "stop" to a thread still going."""
    origin = thread.origin
    if not isinstance(origin, EmailOrigin) or mail.sender != origin.address.lower():
        return False
    if mail.auto_submitted or thread.status in ("done", "failed", "cancelled"):
        return False
    return " ".join(text.lower().strip().strip(".!").split()) in STOP_WORDS


def candidate_ids(mail: ParsedEmail) -> list[str]:
    """Message-IDs that may name the thread, best first: `In-Reply-To`, then `References`
    from the most recent back to the root."""
    found = [mail.in_reply_to] if mail.in_reply_to else []
    return list(dict.fromkeys([*found, *reversed(mail.references)]))
