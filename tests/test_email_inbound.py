"""`POST /email/inbound` on the running app: auth, bad input, threading edge cases, formats.

Each refused request changes nothing in Redis; each odd-but-valid mail is kept or ignored as
DESIGN.md says, with the 202 body saying which.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.email.inbound.mailgun import sign
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.keys import Keys
from bot.web.app import create_app
from tests.conftest import serve
from tests.email_support import (
    BOT,
    CUSTOMER,
    FIXTURES,
    SECRET,
    MailDriver,
    fixture_reply,
    new_mail,
    wait_delivered,
)
from tests.helpers import snapshot, wait_for


async def asked(mail: MailDriver, stub: AnthropicStub) -> tuple[str, str]:
    """A thread whose question was mailed; returns its id and the question's Message-ID."""
    stub.reply_tool("request_more_information", {"message": "Which order?"})
    thread_id = (await mail.send(new_mail("My machine is dented")))["thread_id"]
    await wait_delivered(mail.api, thread_id, "waiting_human")
    [question] = await mail.sink.wait_for(1)
    return thread_id, str(question.message["Message-ID"])


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("content", "content_type", "headers", "status", "detail"),
    [
        (new_mail("hi"), "message/rfc822", {"Authorization": ""}, 401, "wrong email inbound"),
        (new_mail("hi"), "message/rfc822", {"Authorization": "Bearer no"}, 401, "wrong"),
        (new_mail("hi"), "message/rfc822", {"Authorization": basic("pm", "no")}, 401, "wrong"),
        (new_mail("hi"), "message/rfc822", {"Authorization": SECRET}, 401, "wrong"),
        (b"hello, this is not a mail", "message/rfc822", {}, 400, "no usable From address"),
        ((FIXTURES / "headers_only.eml").read_bytes(), "message/rfc822", {}, 400, "headers only"),
        ((FIXTURES / "no_from.eml").read_bytes(), "message/rfc822", {}, 400, "From"),
        (b"{not json", "application/json", {}, 400, "not JSON"),
        (b'{"Subject": "x", "TextBody": "hi"}', "application/json", {}, 400, "From"),
        (b"[1, 2]", "application/json", {}, 400, "malformed Postmark payload"),
        (
            b'{"FromFull": {"Email": "ana@example.com"}, "TextBody": "hi \\ud800"}',
            "application/json",
            {},
            400,
            "not valid Unicode",
        ),
        (new_mail("hi"), "text/plain", {}, 400, "unsupported Content-Type 'text/plain'"),
        (b"--x\r\n", "multipart/form-data", {}, 400, "malformed form"),
        (b"subject=hi&body-plain=hello", "application/x-www-form-urlencoded", {}, 400, "mime"),
    ],
)
async def test_refused_requests_change_nothing(
    mail: MailDriver,
    redis_client: Redis,
    email_settings: Settings,
    content: bytes,
    content_type: str,
    headers: dict[str, str],
    status: int,
    detail: str,
) -> None:
    before = await snapshot(redis_client, email_settings)
    reply = await mail.post(content, content_type, headers=headers)
    assert reply.status_code == status, reply.text
    assert detail in reply.json()["detail"]
    if status == 401:
        assert "Bearer" in reply.headers["www-authenticate"]
    assert await snapshot(redis_client, email_settings) == before
    assert (await mail.api.get("/threads")).json()["threads"] == []


async def test_basic_auth_password_is_the_secret(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    reply = await mail.post(new_mail("hi"), headers={"Authorization": basic("postmark", SECRET)})
    assert reply.status_code == 202 and reply.json()["status"] == "started"


@pytest.fixture
async def small(
    email_settings: Settings, anthropic_stub: AnthropicStub
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 200 kB mail limit."""
    settings = email_settings.model_copy(update={"email_max_bytes": 200_000})
    async with serve(create_app(settings, with_worker=True)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            yield client


async def test_oversized_mail_is_413_whether_announced_or_streamed(
    small: httpx.AsyncClient, redis_client: Redis, email_settings: Settings
) -> None:
    before = await snapshot(redis_client, email_settings)
    big = new_mail("x" * 250_000)
    headers = {"Authorization": f"Bearer {SECRET}", "Content-Type": "message/rfc822"}
    reply = await small.post("/email/inbound", content=big, headers=headers)
    assert reply.status_code == 413 and "200000 byte limit" in reply.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: refused while reading
        for start in range(0, len(big), 50_000):
            yield big[start : start + 50_000]

    reply = await small.post("/email/inbound", content=chunks(), headers=headers)
    assert reply.status_code == 413
    assert await snapshot(redis_client, email_settings) == before


async def test_mail_over_the_api_body_limit_is_accepted_and_its_text_capped(
    mail: MailDriver, anthropic_stub: AnthropicStub, email_settings: Settings
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    words = "word " * 300_000  # 1.5 MB: over the 1 MB of other routes, under the mail limit
    started = await mail.send(new_mail(words))
    view = await wait_for(mail.api, started["thread_id"], "done")
    text = view["events"][0]["text"]
    assert len(text) <= email_settings.max_message_chars
    assert "[... truncated:" in text


async def test_disabled_without_a_secret(settings: Settings, anthropic_stub: AnthropicStub) -> None:
    async with serve(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            reply = await client.post(
                "/email/inbound",
                content=new_mail("hi"),
                headers={"Authorization": "Bearer x", "Content-Type": "message/rfc822"},
            )
    assert reply.status_code == 401
    assert reply.json()["detail"] == "email inbound is disabled: set EMAIL_INBOUND_SECRET"


async def test_duplicate_and_looped_mail_is_acknowledged_and_ignored(
    mail: MailDriver, anthropic_stub: AnthropicStub, redis_client: Redis, email_settings: Settings
) -> None:
    thread_id, question_id = await asked(mail, anthropic_stub)
    before = await snapshot(redis_client, email_settings)

    again = await mail.send(new_mail("My machine is dented"))  # a provider's retry
    assert again == {
        "thread_id": thread_id,
        "status": "ignored",
        "reason": "already received (a retry)",
    }
    from_bot = await mail.send(new_mail("loop", sender=BOT, message_id="<other@x.example>"))
    assert from_bot["status"] == "ignored" and "own address" in from_bot["reason"]
    ours = await mail.send(new_mail("loop", sender="list@x.example", message_id=question_id))
    assert ours == {
        "thread_id": thread_id,
        "status": "ignored",
        "reason": "a mail the bot sent (a mail loop)",
    }

    assert await snapshot(redis_client, email_settings) == before
    assert len((await mail.api.get("/threads")).json()["threads"]) == 1
    assert len(anthropic_stub.requests) == 1 and len(mail.sink.received) == 1


async def test_unknown_reference_starts_a_new_thread_and_says_so(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    raw = new_mail("About my order", headers={"In-Reply-To": "<gone@hitlbot.example>"})
    started = await mail.send(raw)
    assert started["status"] == "started"
    assert "name no known mail, so it started a new thread" in started["reason"]
    [question] = await mail.sink.wait_for(1)
    # The new thread still answers in the customer's own mail thread.
    assert question.message["In-Reply-To"] == "<first.1@mail.example.com>"


async def test_reply_from_another_address_is_held_not_taken(
    mail: MailDriver, anthropic_stub: AnthropicStub, redis_client: Redis, email_settings: Settings
) -> None:
    thread_id, question_id = await asked(mail, anthropic_stub)
    spoofed = fixture_reply(
        "gmail_reply.eml",
        to_message=question_id,
        references=[question_id],
        From="Mallory <mallory@evil.example>",
    )
    held = await mail.send(spoofed)
    assert held["status"] == "held" and held["thread_id"] == thread_id
    assert "mallory@evil.example, not from the thread's human" in held["reason"]
    view = await mail.thread(thread_id)
    assert view["status"] == "waiting_human"
    assert view["events"][-1]["type"] == "held_message"
    assert view["events"][-1]["sender"] == "mallory@evil.example"
    assert len(anthropic_stub.requests) == 1  # nothing resumed
    audit = await redis_client.xrange(Keys(email_settings.redis_prefix).audit(thread_id))
    assert json.loads(audit[-1][1][b"e"])["sender"] == "mallory@evil.example"
    # The held mail is kept out of what the model reads.
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    real = fixture_reply("gmail_reply.eml", to_message=question_id, references=[question_id])
    real = real.replace(b"<CAKx1pQ0=", b"<CAKx1pQ1=")  # its own Message-ID
    assert (await mail.send(real))["status"] == "resumed"
    await wait_for(mail.api, thread_id, "done")
    assert "mallory" not in anthropic_stub.requests[-1].context


async def test_auto_replies_are_never_answered(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    auto = (FIXTURES / "auto_reply.eml").read_bytes()
    ignored = await mail.send(auto)  # it names no known mail: no thread
    assert ignored["status"] == "ignored" and "auto-submitted" in ignored["reason"]
    assert (await mail.api.get("/threads")).json()["threads"] == []

    thread_id, question_id = await asked(mail, anthropic_stub)
    out_of_office = fixture_reply(
        "auto_reply.eml", to_message=question_id, references=[question_id], Message_ID="<oof-2@x>"
    )
    held = await mail.send(out_of_office)
    assert held["status"] == "held" and "auto-submitted" in held["reason"]
    assert (await mail.thread(thread_id))["status"] == "waiting_human"
    assert len(mail.sink.received) == 1


async def test_mail_while_an_approval_is_pending_is_held(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "issue_refund", {"order_id": "A1001", "amount": "10", "reason": "dented"}
    )
    thread_id = (await mail.send(new_mail("Refund 10 EUR on A1001 please")))["thread_id"]
    await wait_delivered(mail.api, thread_id, "waiting_approval")
    more = new_mail(
        "Any news?",
        message_id="<second@mail.example.com>",
        headers={"In-Reply-To": "<first.1@mail.example.com>"},
    )
    held = await mail.send(more)
    assert held["status"] == "held" and "waiting for an approval decision" in held["reason"]
    view = await mail.thread(thread_id)
    assert view["status"] == "waiting_approval" and view["events"][-1]["text"] == "Any news?"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("html_only.eml", "Please update my delivery address to:"),
        ("latin1_quoted_printable.eml", "La r\u00e9union est d\u00e9plac\u00e9e \u00e0 jeudi."),
        ("shift_jis_base64.eml", "\u8fd4\u91d1\u3092\u627f\u8a8d\u3057\u307e\u3059"),
        ("attachment.eml", "[Attachments, not read: facture_\u00e9t\u00e9.pdf (application/pdf)"),
    ],
)
async def test_real_world_mail_starts_a_thread(
    mail: MailDriver, anthropic_stub: AnthropicStub, name: str, expected: str
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Noted."})
    started = await mail.send((FIXTURES / name).read_bytes())
    view = await wait_delivered(mail.api, started["thread_id"], "done")
    assert expected in view["events"][0]["text"]
    [answer] = await mail.sink.wait_for(1)
    assert answer.message["In-Reply-To"] and answer.message["To"] == view["origin"]["address"]


async def test_plus_addressing_and_routes_pick_agent_and_mailbox(
    email_settings: Settings, anthropic_stub: AnthropicStub, smtp_sink: Any
) -> None:
    settings = email_settings.model_copy(
        update={"email_routes": "ops@shop.example=deploy, billing@shop.example=support"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    async with serve(create_app(settings, with_worker=True)) as url:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": "Bearer test-token"}, timeout=10
        ) as api:
            driver = MailDriver(api=api, sink=smtp_sink)
            ops = await driver.send(new_mail("deploy?", to="Ops+Urgent@Shop.example"))
            other = await driver.send(new_mail("hello", to="x@shop.example", message_id="<2@x>"))
            ops_view = await wait_delivered(api, ops["thread_id"], "done")
            other_view = await wait_delivered(api, other["thread_id"], "done")
    assert (ops_view["agent"], ops_view["origin"]["mailbox"]) == ("deploy", "ops@shop.example")
    assert (other_view["agent"], other_view["origin"]["mailbox"]) == ("support", BOT)
    senders = sorted(m.message["From"] for m in smtp_sink.received)
    assert senders == ["ops@shop.example", BOT]


async def test_mailgun_signed_route(
    email_settings: Settings, anthropic_stub: AnthropicStub, redis_client: Redis
) -> None:
    key = "mailgun-key"
    settings = email_settings.model_copy(
        update={"mailgun_signing_key": key, "email_inbound_secret": None}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})

    def form(timestamp: float, token: str, signature: str | None = None) -> dict[str, Any]:
        stamp = str(int(timestamp))
        return {
            "timestamp": (None, stamp),
            "token": (None, token),
            "signature": (None, signature or sign(key, stamp, token)),
            "body-mime": (None, new_mail("Hello from Mailgun")),
        }

    async with serve(create_app(settings, with_worker=True)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            path = "/email/inbound?format=mime"
            token = secrets.token_hex(25)
            bad = await client.post(path, files=form(time.time(), token, "0" * 64))
            assert bad.status_code == 401 and "does not match" in bad.json()["detail"]
            stale = await client.post(path, files=form(time.time() - 3600, token))
            assert stale.status_code == 401 and "stale" in stale.json()["detail"]
            unsigned = await client.post(
                path, content=new_mail("x"), headers={"Content-Type": "message/rfc822"}
            )
            assert unsigned.status_code == 401
            good = await client.post(path, files=form(time.time(), token))
            assert good.status_code == 202 and good.json()["status"] == "started"
            replay = await client.post(path, files=form(time.time(), token))
            assert replay.status_code == 401 and "already used" in replay.json()["detail"]


async def test_sendgrid_form_fields_without_raw_mode(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    headers = "Message-ID: <sg-1@mail.example.com>\r\nSubject: Grinder\r\n"
    files = {
        "from": (None, f"Ana <{CUSTOMER}>"),
        "to": (None, BOT),
        "subject": (None, "Grinder"),
        "text": (None, "Caf\xe9 grinder broke".encode("latin-1")),
        "headers": (None, headers),
        "charsets": (None, json.dumps({"text": "iso-8859-1"})),
    }
    request = mail.api.build_request("POST", "/email/inbound", files=files)
    request.headers["Authorization"] = f"Bearer {SECRET}"
    reply = await mail.api.send(request)
    assert reply.status_code == 202, reply.text
    view = await wait_for(mail.api, reply.json()["thread_id"], "done")
    assert "Caf\xe9 grinder broke" in view["events"][0]["text"]
