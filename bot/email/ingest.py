"""Inbound mail, once parsed: dedupe it, thread it, and start, resume or hold a thread.

Every inbound path (the webhook, `hitlbot smtp`) ends here, so the rules are the same for all:
- mail the bot sent itself, or already took, is acknowledged and ignored (loops, retries);
- a reply is matched to its thread by `In-Reply-To`, then `References` (newest first);
- only the thread's human resumes it; anything else matched is kept on the thread as a
  `held_message`, never lost and never answered;
- machine mail (auto-replies, bounces) never starts a thread, so it is never answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import structlog

from bot.core.events import Event, HeldMessage
from bot.core.thread import EmailOrigin, Thread
from bot.email.compose import base_subject
from bot.email.inbound.build import cap_text
from bot.email.message import ParsedEmail
from bot.email.routing import (
    Hold,
    candidate_ids,
    disposition,
    mailbox_of,
    parse_routes,
    recipients,
    reply_mailbox,
    route,
    wants_stop,
)
from bot.runtime.intake import Message, NewThread, start_or_continue
from bot.runtime.service import Service
from bot.store.intake import Claim, MailLink

log = structlog.get_logger(__name__)

MARKER_ROOM = 100
"""Characters kept free under the message limit for the truncation marker."""


@dataclass(frozen=True)
class Outcome:
    """What became of one inbound mail; the webhook's 202 body."""

    status: Literal["started", "resumed", "held", "ignored", "cancelled"]
    """`started` a thread, `resumed` one, `held` it on one without resuming, `ignored` it, or
    `cancelled` the thread (its human replied "stop")."""
    thread_id: str | None
    """The thread it started or went to, if any."""
    reason: str | None = None
    """Why it was held or ignored, or a note on how it was threaded."""

    def body(self) -> dict[str, Any]:
        """The JSON body of the 202 answer."""
        body: dict[str, Any] = {"thread_id": self.thread_id, "status": self.status}
        if self.reason:
            body["reason"] = self.reason
        return body


def model_text(mail: ParsedEmail, *, first: bool, limit: int) -> str:
    """What the agent reads of a mail: subject (first mail), new text, attachments, capped."""
    parts = []
    if first and mail.subject:
        parts.append(f"Subject: {mail.subject}")
    # A new mail is read whole (it may forward the history it is about); a reply's quoted
    # history is the thread itself. A reply with nothing above the quote is read whole too:
    # the answer may be interleaved with the quote.
    parts.append(mail.text if first else (mail.reply_text or mail.text))
    if mail.attachments:
        names = ", ".join(f"{a.filename or 'unnamed'} ({a.content_type})" for a in mail.attachments)
        parts.append(f"[Attachments, not read: {names}]")
    text, _ = cap_text("\n\n".join(parts), max(limit - MARKER_ROOM, 1))
    return text


class Inbox:
    """Takes parsed inbound mail into threads."""

    def __init__(self, service: Service) -> None:
        self.service = service
        deps = service.deps
        self.settings = deps.settings
        self.index = deps.mail_index
        self.routes = parse_routes(deps.settings.email_routes)
        bot = [self.settings.email_from or "", *self.routes]
        self.bot_addresses = {a for a in (mailbox_of(x) for x in bot) if a}

    async def receive(self, mail: ParsedEmail) -> Outcome:
        """Take one mail; safe to call again with the same mail (it is then ignored)."""
        if mailbox_of(mail.sender) in self.bot_addresses:
            return self._ignored(mail, None, "sent from the bot's own address (a mail loop)")
        [known] = await self.index.find([mail.message_id])
        if known is not None:
            if known.direction == "out":
                return self._ignored(mail, known.thread_id, "a mail the bot sent (a mail loop)")
            return self._ignored(mail, known.thread_id, "already received (a retry)")
        outcome = await self._take(mail)
        log.info(
            "inbound mail",
            status=outcome.status,
            thread_id=outcome.thread_id,
            reason=outcome.reason,
            message_id=mail.message_id,
            sender=mail.sender,
        )
        return outcome

    async def _take(self, mail: ParsedEmail) -> Outcome:
        """Start or continue the mail's thread, through `start_or_continue`: its claim (the
        Message-ID), the thread, its index entry and the step in one script."""
        matched = await self._match(mail)
        first = matched is None
        text = model_text(mail, first=first, limit=self.settings.max_message_chars)
        held: str | None = None
        if matched is not None and await self._stopped(mail, matched, text):
            return Outcome("cancelled", matched)

        def take(fresh: Thread) -> Event:
            # Decided on the version it is committed on: an approval asked or decided meanwhile
            # changes whether the mail resumes the thread or is held on it.
            nonlocal held
            verdict = disposition(mail, fresh)
            if isinstance(verdict, Hold):
                held = verdict.reason
                return self._held(mail, text, verdict.reason)
            held = None
            return self.service.message_event(fresh, text, mail.sender, mail.message_id)

        message = Message(
            text=text,
            user=mail.sender,
            ref=mail.message_id,
            claims=[Claim("email", mail.message_id)],
            link=MailLink(mail.message_id),
            thread_id=matched,
            start=None if mail.auto_submitted else self._new_thread(mail),
            tag_of=mail.message_id,
            decide=take,
            keep_refused=False,
        )
        taken = await start_or_continue(self.service, message)
        if taken.error is not None:
            raise taken.error
        if taken.status == "started":
            note = None
            if mail.in_reply_to or mail.references:
                note = "its In-Reply-To/References name no known mail, so it started a new thread"
            return Outcome("started", taken.thread_id, note)
        if taken.status == "continued":
            if held is not None:
                log.warning("mail held on a thread", thread_id=taken.thread_id, sender=mail.sender)
                return Outcome("held", taken.thread_id, held)
            return Outcome("resumed", taken.thread_id)
        if taken.status == "seen":
            return Outcome("ignored", taken.thread_id, "already received (a retry)")
        return Outcome("ignored", None, "auto-submitted (an auto-reply or a bounce)")

    async def _stopped(self, mail: ParsedEmail, thread_id: str, text: str) -> bool:
        """A reply of only "stop" from the thread's own human cancels it (trusted as the
        canceller: the sender was checked); indexed, so a retry of it is ignored."""
        thread = await self.service.deps.store.get(thread_id)
        if thread is None or not wants_stop(mail, thread, text):
            return False
        await self.service.cancel(thread.id, mail.sender, "email", enforce=False)
        await self.index.add(mail.message_id, "in", thread.id)
        return True

    async def _match(self, mail: ParsedEmail) -> str | None:
        """The thread the first known id of `In-Reply-To` / `References` belongs to."""
        for known in await self.index.find(candidate_ids(mail)):
            if known is not None:
                thread = await self.service.deps.store.get(known.thread_id)
                if thread is not None:
                    return thread.id
        return None

    def _new_thread(self, mail: ParsedEmail) -> NewThread:
        addresses = recipients(mail)
        found = route(addresses, self.routes, self.settings.email_default_agent)
        origin = EmailOrigin(
            address=mail.sender,
            mailbox=reply_mailbox(found, addresses, self.settings.email_from),
            subject=base_subject(mail.subject),
        )
        return NewThread(found.agent, origin)

    def _held(self, mail: ParsedEmail, text: str, reason: str) -> HeldMessage:
        """The mail kept on the thread without resuming it."""
        return HeldMessage(
            text=text,
            sender=mail.sender,
            reason=reason,
            ref=mail.message_id,
            at=self.service.deps.clock.now(),
        )

    def _ignored(self, mail: ParsedEmail, thread_id: str | None, reason: str) -> Outcome:
        log.info("inbound mail ignored", reason=reason, message_id=mail.message_id)
        return Outcome("ignored", thread_id, reason)
