"""`hitlbot smtp`'s listener over a real socket: mail sent to it is taken like the webhook's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from bot.config import Settings
from bot.dev.embedded_redis import free_port
from bot.email.ingest import Inbox
from bot.email.smtpd import serve_smtp
from bot.runtime.service import Service
from bot.runtime.wiring import runtime
from bot.standins.anthropic_stub import AnthropicStub
from tests.email_support import BOT, CUSTOMER, MailDriver, new_mail, wait_delivered


@pytest.fixture
async def mx(email_settings: Settings, mail: MailDriver) -> AsyncIterator[int]:
    """The inbound SMTP listener (its own runtime, as its own process would have)."""
    async with runtime(email_settings) as (deps, broker):
        await broker.startup()
        port = free_port()
        server = await serve_smtp(Inbox(Service(deps)), email_settings, "127.0.0.1", port)
        async with server:
            yield port


async def send(port: int, raw: bytes, sender: str = CUSTOMER, to: str = BOT) -> None:
    await aiosmtplib.send(
        raw, sender=sender, recipients=[to], hostname="127.0.0.1", port=port, timeout=5
    )


async def test_mail_over_smtp_starts_a_thread_answered_by_mail(
    mx: int, mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Got it over SMTP."})
    await send(mx, new_mail("Hello over SMTP", to="support+x@shop.example"))
    for _ in range(250):
        threads = (await mail.api.get("/threads")).json()["threads"]
        if threads:
            break
        await asyncio.sleep(0.02)
    view = await wait_delivered(mail.api, threads[0]["id"], "done")
    assert "Hello over SMTP" in view["events"][0]["text"]
    [answer] = await mail.sink.wait_for(1)
    assert answer.message["In-Reply-To"] == "<first.1@mail.example.com>"


async def test_refusals_tell_the_sending_server_what_to_do(
    mx: int, mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
        await send(mx, new_mail("spam"), to="someone@elsewhere.example")
    assert refused.value.recipients[0].code == 550
    with pytest.raises(aiosmtplib.SMTPDataError) as unreadable:
        await send(mx, b"Subject: no sender and no body\r\n\r\n")
    assert unreadable.value.code == 550 and "Cannot read" in unreadable.value.message
    # A bounce (null envelope sender) is taken, and never answered.
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=mx, timeout=5) as client:
        await client.mail("")
        await client.rcpt(BOT)
        reply = await client.data(new_mail("Delivery failed", message_id="<bounce@x>"))
    assert reply.code == 250 and "ignored" in reply.message
    assert (await mail.api.get("/threads")).json()["threads"] == []
    assert anthropic_stub.requests == []
