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
from bot.email.inbound.common import cap_text
from bot.email.index import MessageIndex
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
from bot.runtime.service import Service
from bot.store.keys import DEDUPE_TTL_S

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
        self.redis: Any = deps.redis
        self.keys = deps.keys
        self.settings = deps.settings
        self.index = MessageIndex(deps.redis, deps.keys, deps.settings.thread_ttl_s)
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
        seen = self.keys.seen("email", mail.message_id)
        if not await self.redis.set(seen, 1, nx=True, ex=DEDUPE_TTL_S):
            return self._ignored(mail, None, "already received (a retry)")
        try:
            outcome = await self._take(mail)
        except BaseException:
            # Not taken: a retry of this very mail must be taken like a first delivery.
            await self.redis.delete(seen)
            raise
        if outcome.thread_id is not None:
            await self.index.add(mail.message_id, "in", outcome.thread_id)
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
        thread = await self._match(mail)
        if thread is None:
            return await self._start(mail)
        text = model_text(mail, first=False, limit=self.settings.max_message_chars)
        if wants_stop(mail, thread, text):
            # The sender is the thread's human (checked): trusted as the canceller.
            await self.service.cancel(thread.id, mail.sender, "email", enforce=False)
            return Outcome("cancelled", thread.id)
        outcome = Outcome("resumed", thread.id)

        def take(fresh: Thread) -> list[Event]:
            # Decided on the version it is committed on: an approval asked or decided meanwhile
            # changes whether the mail resumes the thread or is held on it.
            nonlocal outcome
            verdict = disposition(mail, fresh)
            if isinstance(verdict, Hold):
                outcome = Outcome("held", fresh.id, verdict.reason)
                return [self._held(mail, text, verdict.reason)]
            outcome = Outcome("resumed", fresh.id)
            return [self.service.message_event(fresh, text, mail.sender, mail.message_id)]

        await self.service.update(thread.id, take)
        if outcome.status == "resumed":
            await self.service.deps.enqueue(thread.id)
        else:
            log.warning("mail held on a thread", thread_id=thread.id, sender=mail.sender)
        return outcome

    async def _match(self, mail: ParsedEmail) -> Thread | None:
        """The thread the first known id of `In-Reply-To` / `References` belongs to."""
        for known in await self.index.find(candidate_ids(mail)):
            if known is not None:
                thread = await self.service.deps.store.get(known.thread_id)
                if thread is not None:
                    return thread
        return None

    async def _start(self, mail: ParsedEmail) -> Outcome:
        if mail.auto_submitted:
            return Outcome("ignored", None, "auto-submitted (an auto-reply or a bounce)")
        addresses = recipients(mail)
        found = route(addresses, self.routes, self.settings.email_default_agent)
        origin = EmailOrigin(
            address=mail.sender,
            mailbox=reply_mailbox(found, addresses, self.settings.email_from),
            subject=base_subject(mail.subject),
        )
        text = model_text(mail, first=True, limit=self.settings.max_message_chars)
        thread = await self.service.launch(
            found.agent, text, origin, mail.sender, ref=mail.message_id
        )
        note = None
        if mail.in_reply_to or mail.references:
            note = "its In-Reply-To/References name no known mail, so it started a new thread"
        return Outcome("started", thread.id, note)

    def _held(self, mail: ParsedEmail, text: str, reason: str) -> HeldMessage:
        """The mail kept on the thread without resuming it."""
        return HeldMessage(
            text=text,
            sender=mail.sender,
            reason=reason,
            ref=mail.message_id,
            at=self.service.deps.clock(),
        )

    def _ignored(self, mail: ParsedEmail, thread_id: str | None, reason: str) -> Outcome:
        log.info("inbound mail ignored", reason=reason, message_id=mail.message_id)
        return Outcome("ignored", thread_id, reason)
