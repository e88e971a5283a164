"""Outbound for threads that started by email: questions, answers and failures go back to the
human by mail, in the same conversation; approvals go to the team through another channel.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from typing import Protocol

import structlog

from bot.config import Settings
from bot.core.events import Cancelled, DeadlinePassed, Event, HumanRequest, RequestSent
from bot.core.thread import EmailOrigin, Thread
from bot.email.compose import build_message, reply_to_thread
from bot.email.headers import address_domain
from bot.email.smtp import Mailer
from bot.runtime.delivery import DeliveryFailed
from bot.runtime.deps import Channel, Deps
from bot.store.mailindex import MessageIndex

log = structlog.get_logger(__name__)

REMINDER = "A reminder: I still need your answer to go on.\n\n"
"""What a question's reminder mail says above the question."""


class Sender(Protocol):
    """Sends one message (the `Mailer`, or a test's stand-in)."""

    async def send(self, message: EmailMessage) -> None:
        """Send it; raise DeliveryUnavailable or DeliveryFailed."""
        ...


class EmailChannel:
    """`deps.channels["email"]`."""

    def __init__(
        self,
        mailer: Sender | None,
        index: MessageIndex,
        email_from: str | None,
        *,
        approvals: Channel | None = None,
    ) -> None:
        self.mailer = mailer
        self.index = index
        self.email_from = email_from
        self.approvals = approvals
        """Where approval requests of email threads go (Slack's `SLACK_APPROVAL_CHANNEL`)."""

    @classmethod
    def from_deps(cls, deps: Deps, *, approvals: Channel | None = None) -> EmailChannel:
        """The channel with a Mailer when `SMTP_HOST` is set (without one, sends fail loudly)."""
        settings = deps.settings
        mailer = Mailer(settings) if settings.smtp_host else None
        index = deps.mail_index
        return cls(mailer, index, settings.email_from, approvals=approvals)

    async def deliver(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Mail `event` to the thread's human, or hand an approval to `approvals`."""
        origin = thread.origin
        if not isinstance(origin, EmailOrigin):
            raise TypeError(f"thread {thread.id} did not start by email")
        if isinstance(event, DeadlinePassed):
            request = thread.request(event.request_id)
            if request is None or request.kind == "approval":
                return await self._approval(thread, ref, event, now)
            if event.step != "remind":  # an expired question: the agent's next mail says so
                return RequestSent(ref=ref, channel="email", at=now)
            event = request.model_copy(update={"message": REMINDER + request.message})
        if isinstance(event, HumanRequest) and event.kind == "approval":
            return await self._approval(thread, ref, event, now)
        if isinstance(event, Cancelled) and self.approvals is not None and event.withdrawn:
            await self.approvals.deliver(thread, ref, event, now)  # its cards say it was cancelled
        if self.mailer is None:
            raise DeliveryFailed("outbound email is off: set SMTP_HOST (and SMTP_* to match)")
        sender = origin.mailbox or self.email_from
        domain = address_domain(self.email_from or "") or address_domain(sender or "")
        if not sender or not domain:
            raise DeliveryFailed("no address to send from: set EMAIL_FROM")
        mail = reply_to_thread(
            thread, origin.address, sender, origin.subject, ref, event, domain=domain
        )
        # Indexed before it leaves: the reply may arrive before this send is recorded.
        await self.index.add(mail.message_id, "out", thread.id)
        await self.mailer.send(build_message(mail, date=now))
        log.info("mail sent", thread_id=thread.id, ref=ref, message_id=mail.message_id)
        return RequestSent(
            ref=ref,
            channel="email",
            coordinates={"message_id": mail.message_id, "to": origin.address},
            at=now,
        )

    async def _approval(self, thread: Thread, ref: str, event: Event, now: datetime) -> RequestSent:
        """Approvals (and their deadlines) are the team's, in Slack; never mailed."""
        if self.approvals is not None:
            return await self.approvals.deliver(thread, ref, event, now)
        # Recorded as sent so the loop stops; the request stays answerable over the API.
        log.warning(
            "approval of an email thread has nowhere to go (Slack is not configured); "
            "answer it with POST /threads/{id}/responses",
            thread_id=thread.id,
            ref=ref,
        )
        return RequestSent(ref=ref, channel="api", coordinates={}, at=now)


def status(settings: Settings) -> str:
    """One line for `hitlbot dev`: what of email is on, and what is missing."""
    inbound = (
        "inbound on POST /email/inbound"
        if settings.email_inbound_secret or settings.mailgun_signing_key
        else "inbound off (EMAIL_INBOUND_SECRET unset)"
    )
    if not settings.smtp_host:
        outbound = "outbound off (SMTP_HOST unset: replies are recorded as delivery errors)"
    else:
        sender = settings.email_from or "the address each mail was sent to (EMAIL_FROM unset)"
        outbound = f"outbound via {settings.smtp_host}:{settings.smtp_port} from {sender}"
    return f"{inbound}; {outbound}"
