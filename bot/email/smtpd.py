"""`hitlbot smtp`: receive mail over SMTP (point an MX record here) into the same `Inbox` as
`POST /email/inbound`, for self-hosters without an inbound-mail provider.

It accepts recipients only at the bot's own domains (EMAIL_FROM's and the routed addresses'),
so it is never a sink for anyone else's mail, and it relays nothing. Its SMTP replies tell the
sending server what to do: 250 taken (or knowingly ignored), 5xx never retry, 4xx retry later.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP

from bot.config import Settings
from bot.email.headers import address_domain, clean_address
from bot.email.inbound.mime import parse_rfc822
from bot.email.ingest import Inbox
from bot.email.message import EmailParseError, EmailTooLarge
from bot.runtime.service import Service
from bot.runtime.wiring import runtime

log = structlog.get_logger(__name__)


def _one_line(text: str, limit: int = 200) -> str:
    """Text fit for an SMTP reply line (no line breaks, bounded)."""
    return " ".join(text.split())[:limit]


def bot_domains(inbox: Inbox) -> frozenset[str]:
    """The domains mail is accepted for: EMAIL_FROM's and every routed address's."""
    return frozenset(d for a in inbox.bot_addresses if (d := address_domain(a)))


class InboundHandler:
    """aiosmtpd's handler: checks recipients, then hands each message to the Inbox."""

    def __init__(self, inbox: Inbox, settings: Settings) -> None:
        self.inbox = inbox
        self.settings = settings
        self.domains = bot_domains(inbox)

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.domains and address_domain(address) not in self.domains:
            return "550 5.7.1 Relaying denied: this server only takes mail for its own domains"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = bytes(envelope.original_content or envelope.content)
        try:
            mail = parse_rfc822(
                raw,
                max_bytes=self.settings.email_max_bytes,
                max_text_chars=self.settings.max_message_chars,
            )
        except EmailTooLarge as exc:
            return f"552 5.3.4 {_one_line(str(exc))}"
        except EmailParseError as exc:
            return f"550 5.6.0 Cannot read the message: {_one_line(str(exc))}"
        sender = envelope.mail_from or ""
        mail = mail.model_copy(
            update={
                "envelope_from": clean_address(sender),
                "envelope_to": [a for a in map(clean_address, envelope.rcpt_tos) if a],
                # A null envelope sender (`MAIL FROM:<>`) is a bounce: never answer it.
                "auto_submitted": mail.auto_submitted or sender in ("", "<>"),
            }
        )
        try:
            outcome = await self.inbox.receive(mail)
        except Exception:
            log.exception("inbound SMTP message not taken; the sender will retry")
            return "451 4.3.0 Temporary failure, please try again later"
        return _one_line(f"250 2.0.0 {outcome.status} {outcome.thread_id or ''}")


async def serve_smtp(inbox: Inbox, settings: Settings, host: str, port: int) -> asyncio.Server:
    """Listen on `host:port` in the running loop; the caller closes the returned server."""
    handler = InboundHandler(inbox, settings)
    if not handler.domains:
        log.warning("no EMAIL_FROM or HITLBOT_EMAIL_ROUTES: accepting mail for any domain")
    loop = asyncio.get_running_loop()
    return await loop.create_server(
        lambda: SMTP(
            handler,
            data_size_limit=settings.email_max_bytes,
            enable_SMTPUTF8=True,
            ident="hitlbot",
        ),
        host,
        port,
    )


async def run_smtpd(settings: Settings, host: str, port: int) -> None:
    """The `hitlbot smtp` process: runtime, Inbox, listener, until cancelled."""
    async with runtime(settings) as (deps, broker):
        await broker.startup()
        server = await serve_smtp(Inbox(Service(deps)), settings, host, port)
        log.info("inbound SMTP listening", host=host, port=port)
        async with server:
            await server.serve_forever()
