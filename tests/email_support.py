"""Helpers of the email tests: build inbound mail and POST it as a provider would."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import httpx

from bot.standins.smtp_sink import SmtpSink
from tests.helpers import wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "mail"
SECRET = "mail-secret"
"""EMAIL_INBOUND_SECRET of the test app."""
BOT = "support@shop.example"
"""EMAIL_FROM of the test app."""
CUSTOMER = "ana@example.com"
"""The customer of order A1001 (agents/support/orders.json)."""


def new_mail(
    text: str,
    *,
    sender: str = CUSTOMER,
    to: str = BOT,
    subject: str = "Dented machine",
    message_id: str = "<first.1@mail.example.com>",
    headers: dict[str, str] | None = None,
) -> bytes:
    """A plain new mail, as raw bytes."""
    msg = EmailMessage()
    msg["From"] = f"Ana Lopez <{sender}>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["Date"] = "Tue, 24 Nov 2026 09:00:00 +0000"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(text)
    return msg.as_bytes()


def fixture_reply(name: str, *, to_message: str, references: list[str], **headers: str) -> bytes:
    """A real client's reply (fixture) re-addressed to answer `to_message` of our thread."""
    msg = cast(
        EmailMessage, message_from_bytes((FIXTURES / name).read_bytes(), policy=policy.default)
    )
    values = {
        "From": f"Ana <{CUSTOMER}>",
        "To": BOT,
        "Cc": None,
        "In-Reply-To": to_message,
        "References": " ".join(references),
        **headers,
    }
    for header, value in values.items():
        del msg[header.replace("_", "-")]
        if value is not None:
            msg[header.replace("_", "-")] = value
    return msg.as_bytes()


def postmark(raw: bytes) -> dict[str, Any]:
    """The Postmark inbound JSON for a simple raw mail (enough for these tests)."""
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain",))
    assert body is not None
    names = ("Message-ID", "In-Reply-To", "References")
    return {
        "FromFull": {"Email": str(msg["From"].addresses[0].addr_spec), "Name": "Ana"},
        "ToFull": [{"Email": str(a.addr_spec)} for a in msg["To"].addresses],
        "Subject": str(msg["Subject"]),
        "TextBody": body.get_content(),
        "Headers": [{"Name": n, "Value": str(msg[n])} for n in names if msg[n]],
    }


@dataclass
class MailDriver:
    """The running app, the SMTP sink it sends to, and ways to write to it."""

    api: httpx.AsyncClient
    """The app's HTTP API (bearer token set)."""
    sink: SmtpSink
    """What the app sent."""

    async def post(
        self, content: bytes | str, content_type: str = "message/rfc822", **kwargs: Any
    ) -> httpx.Response:
        """POST a body to /email/inbound with the secret."""
        headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": content_type}
        headers.update(kwargs.pop("headers", {}))
        return await self.api.post("/email/inbound", content=content, headers=headers, **kwargs)

    async def send(self, raw: bytes) -> dict[str, Any]:
        """POST a raw mail; asserts the 202 and returns its body."""
        reply = await self.post(raw)
        assert reply.status_code == 202, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def send_postmark(self, raw: bytes) -> dict[str, Any]:
        """POST a mail as Postmark's JSON."""
        reply = await self.post(json.dumps(postmark(raw)), "application/json")
        assert reply.status_code == 202, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def send_sendgrid(self, raw: bytes) -> dict[str, Any]:
        """POST a mail as SendGrid's Inbound Parse in raw mode (multipart form)."""
        files = {"email": (None, raw), "to": (None, BOT), "from": (None, CUSTOMER)}
        request = self.api.build_request("POST", "/email/inbound", files=files)
        request.headers["Authorization"] = f"Bearer {SECRET}"
        reply = await self.api.send(request)
        assert reply.status_code == 202, reply.text
        body: dict[str, Any] = reply.json()
        return body

    async def thread(self, thread_id: str) -> dict[str, Any]:
        """The thread as the API shows it."""
        reply = await self.api.get(f"/threads/{thread_id}")
        reply.raise_for_status()
        view: dict[str, Any] = reply.json()
        return view


async def wait_delivered(
    api: httpx.AsyncClient, thread_id: str, status: str, timeout: float = 15
) -> dict[str, Any]:
    """Wait until the thread is `status` and its last outbound event is recorded as handled
    (sent, or given up on): the mail may reach the sink just before the record is committed."""
    deadline = time.monotonic() + timeout
    while True:
        view = await wait_for(api, thread_id, status, timeout=timeout)
        last = view["events"][-1]
        if last["type"] == "request_sent" or (
            last["type"] == "error" and last["kind"] == "delivery"
        ):
            return view
        if time.monotonic() > deadline:
            raise AssertionError(f"outbound event not recorded: {view}")
        await asyncio.sleep(0.02)
