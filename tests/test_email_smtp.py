"""Outbound mail over real SMTP (aiosmtpd): plain, STARTTLS with a login, and failures."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.config import Settings
from bot.dev.embedded_redis import free_port
from bot.email.compose import Outbound, build_message
from bot.email.smtp import Mailer
from bot.runtime.delivery import DeliveryFailed, DeliveryUnavailable
from bot.standins.smtp_sink import SmtpSink
from tests.mail_tls import self_signed, server_context


def message() -> Outbound:
    return Outbound(
        sender="support@shop.example",
        to="ana@example.com",
        subject="Re: Dented machine",
        text="Which order was it?",
        message_id="<hitlbot.1@shop.example>",
        in_reply_to="<a1@mail.example.com>",
        references=["<a1@mail.example.com>"],
    )


def mailer(port: int, **settings: object) -> Mailer:
    base: dict[str, object] = {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": port,
        "SMTP_STARTTLS": False,
        "SMTP_TIMEOUT": 5,
    }
    return Mailer(Settings(_env_file=None, **{**base, **settings}))  # type: ignore[arg-type]


async def test_plain_relay_gets_the_message() -> None:
    async with SmtpSink() as sink:
        await mailer(sink.port).send(build_message(message(), date=datetime.now(UTC)))
        [mail] = await sink.wait_for(1)
    assert mail.recipients == ["ana@example.com"] and mail.sender == "support@shop.example"
    assert mail.message["Message-ID"] == "<hitlbot.1@shop.example>"
    assert mail.login is None and not mail.tls


async def test_starttls_and_login_with_a_trusted_self_signed_cert(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with SmtpSink(tls_context=server_context(cert, key), login=("bot", "s3cret")) as sink:
        relay = mailer(
            sink.port,
            SMTP_STARTTLS=True,
            SMTP_USERNAME="bot",
            SMTP_PASSWORD="s3cret",
            SMTP_CA_FILE=str(cert),
        )
        await relay.send(build_message(message(), date=datetime.now(UTC)))
        [mail] = await sink.wait_for(1)
        assert mail.tls and mail.login == "bot"

        # The same server, not trusted: a permanent failure, never sent in the clear.
        with pytest.raises(DeliveryFailed, match="not trusted"):
            await mailer(
                sink.port, SMTP_STARTTLS=True, SMTP_USERNAME="bot", SMTP_PASSWORD="s3cret"
            ).send(build_message(message(), date=datetime.now(UTC)))
        # A wrong password is a 5xx: permanent.
        with pytest.raises(DeliveryFailed, match="535"):
            await mailer(
                sink.port,
                SMTP_STARTTLS=True,
                SMTP_USERNAME="bot",
                SMTP_PASSWORD="wrong",
                SMTP_CA_FILE=str(cert),
            ).send(build_message(message(), date=datetime.now(UTC)))
    assert len(sink.received) == 1


async def test_relay_requiring_starttls_refuses_plain_permanently(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    async with SmtpSink(tls_context=server_context(cert, key)) as sink:
        with pytest.raises(DeliveryFailed, match="530"):
            await mailer(sink.port).send(build_message(message(), date=datetime.now(UTC)))
        assert sink.received == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Mailbox busy, try later", DeliveryUnavailable),
        ("550 5.1.1 No such user", DeliveryFailed),
    ],
)
async def test_refusals_are_sorted_into_transient_and_permanent(
    reply: str, error: type[Exception]
) -> None:
    async with SmtpSink() as sink:
        sink.refuse(reply)
        with pytest.raises(error, match=reply.split()[0]):
            await mailer(sink.port).send(build_message(message(), date=datetime.now(UTC)))
        assert sink.received == []


async def test_no_relay_listening_is_transient() -> None:
    with pytest.raises(DeliveryUnavailable):
        await mailer(free_port()).send(build_message(message(), date=datetime.now(UTC)))
