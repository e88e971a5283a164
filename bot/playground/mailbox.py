"""The mail pane: write to the bot through `/email/inbound`, and read what it sent.

Composed mail is POSTed as a raw RFC 5322 message with the inbound secret, as a provider
would; a reply from the outbox answers the bot's mail with `In-Reply-To` and `References`
and quotes it, so the real threading and quote stripping run.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import httpx

from bot.clock import SYSTEM
from bot.playground.kit import Playground
from bot.playground.person import Refused, Sent


@dataclass(frozen=True)
class Mail:
    """One mail of the log, as the pane shows it."""

    direction: str
    """`in` (to the bot, from the page) or `out` (from the bot, caught)."""
    message_id: str
    """Its `Message-ID`."""
    root: str
    """The first mail of its conversation (its first `References` id, or itself)."""
    sender: str
    """`From`."""
    to: str
    """`To`."""
    subject: str
    """`Subject`."""
    date: str
    """`Date`."""
    text: str
    """The plain-text body."""


def read(direction: str, raw: bytes) -> Mail:
    """A raw mail of the log, parsed for the pane."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    message_id = str(msg.get("Message-ID", "")).strip()
    references = str(msg.get("References", "")).split()
    body = msg.get_body(("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return Mail(
        direction=direction,
        message_id=message_id,
        root=references[0] if references else message_id,
        sender=str(msg.get("From", "")),
        to=str(msg.get("To", "")),
        subject=str(msg.get("Subject", "")),
        date=str(msg.get("Date", "")),
        text=str(text),
    )


def conversations(playground: Playground) -> list[list[Mail]]:
    """The mail log by conversation, newest conversation first, oldest mail first."""
    threads: dict[str, list[Mail]] = {}
    for direction, raw in playground.mail():
        mail = read(direction, raw)
        threads.setdefault(mail.root, []).append(mail)
    return list(reversed(threads.values()))


async def compose(
    playground: Playground, http: httpx.AsyncClient, sender: str, subject: str, text: str
) -> Sent:
    """A new mail from `sender` to the bot."""
    msg = _message(sender, playground.mailbox, subject or "(no subject)", text)
    return await _post(playground, http, msg)


async def reply(
    playground: Playground, http: httpx.AsyncClient, message_id: str, text: str
) -> Sent:
    """The customer answers the bot's mail `message_id`, quoting it as mail clients do."""
    for direction, raw in playground.mail():
        if direction == "out" and read(direction, raw).message_id == message_id:
            break
    else:
        raise Refused(f"the bot sent no mail {message_id}")
    original = read("out", raw)
    parsed = message_from_bytes(raw, policy=policy.default)
    customer = str(parsed.get("To", ""))
    subject = (
        original.subject
        if original.subject.lower().startswith("re:")
        else (f"Re: {original.subject}")
    )
    quoted = "\n".join(f"> {line}" for line in original.text.splitlines())
    body = f"{text}\n\nOn {original.date}, {original.sender} wrote:\n{quoted}\n"
    msg = _message(customer, original.sender, subject, body)
    references = str(parsed.get("References", "")).split() + [message_id]
    msg["In-Reply-To"] = message_id
    msg["References"] = " ".join(references)
    return await _post(playground, http, msg)


def _message(sender: str, to: str, subject: str, text: str) -> EmailMessage:
    address = parseaddr(sender)[1]
    if "@" not in address:
        raise Refused(f"{sender!r} is not an email address")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(SYSTEM.now())  # the customer's mail client: its own clock
    msg["Message-ID"] = f"<playground.{secrets.token_hex(8)}@{address.split('@', 1)[1]}>"
    msg.set_content(text)
    return msg


async def _post(playground: Playground, http: httpx.AsyncClient, msg: EmailMessage) -> Sent:
    raw = msg.as_bytes()
    playground.mail()  # log what the bot sent so far first, so the order reads right
    reply = await http.post(
        f"{playground.base_url}/email/inbound",
        content=raw,
        headers={
            "Authorization": f"Bearer {playground.inbound_secret}",
            "Content-Type": "message/rfc822",
        },
    )
    if reply.status_code < 300:
        playground.mail_log.append(("in", raw))
    try:
        body = reply.json()
    except ValueError:
        body = reply.text
    return Sent(reply.status_code, body)
