"""A real SMTP server (aiosmtpd) that records what it receives, for tests.

It can require STARTTLS and a login, and can be told to refuse the next messages with a
given reply (`451 ...` for a transient failure, `550 ...` for a permanent one)::

    async with SmtpSink() as sink:
        ... point SMTP_HOST/SMTP_PORT at sink.host/sink.port, send ...
        [mail] = await sink.wait_for(1)
        assert mail.message["In-Reply-To"] == "<...>"

The server runs on its own thread and loop (aiosmtpd's `Controller`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.dev.ports import free_port


@dataclass(frozen=True)
class Received:
    """One message the sink accepted."""

    sender: str
    """Envelope sender (`MAIL FROM`)."""
    recipients: list[str]
    """Envelope recipients (`RCPT TO`)."""
    raw: bytes
    """The message as transmitted."""
    message: EmailMessage
    """The message, parsed."""
    login: str | None
    """Who logged in (AUTH), if anyone."""
    tls: bool
    """Whether the session was encrypted."""


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sink.refusals:
            return self.sink.refusals.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        raw = bytes(envelope.original_content or envelope.content)
        message = message_from_bytes(raw, policy=policy.default)
        login = session.auth_data.login.decode() if session.auth_data else None
        self.sink.received.append(
            Received(
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                raw=raw,
                message=message,
                login=login,
                tls=session.ssl is not None,
            )
        )
        return "250 Message accepted"


class SmtpSink:
    """An SMTP server on a free loopback port that keeps every message it accepts."""

    def __init__(
        self,
        *,
        tls_context: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
    ) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.received: list[Received] = []
        self.refusals: deque[str] = deque()
        kwargs: dict[str, Any] = {}
        if tls_context is not None:
            kwargs.update(tls_context=tls_context, require_starttls=True)
        if login is not None:
            kwargs.update(
                auth_required=True,
                auth_require_tls=tls_context is not None,
                authenticator=self._authenticator(login),
            )
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, **kwargs)

    @staticmethod
    def _authenticator(login: tuple[str, str]) -> Any:
        def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == login
            )
            return AuthResult(success=ok, handled=False, auth_data=data)

        return check

    def refuse(self, reply: str, times: int = 1) -> None:
        """Answer the next `times` recipients with `reply` (e.g. `451 4.3.0 Try later`)."""
        self.refusals.extend([reply] * times)

    async def wait_for(self, count: int, timeout: float = 10) -> list[Received]:
        """Wait until `count` messages arrived; all of them, oldest first."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"got {len(self.received)} messages, wanted {count}")
            await asyncio.sleep(0.02)
        return list(self.received)

    async def start(self) -> None:
        """Start listening (the controller's thread starts its own loop)."""
        await asyncio.to_thread(self._controller.start)

    async def stop(self) -> None:
        """Stop listening and close the controller's loop."""
        await asyncio.to_thread(self._controller.stop)
        self._controller.loop.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()
