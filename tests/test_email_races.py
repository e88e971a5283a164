"""Inbound mail decided on the thread version it commits on; Mailgun retries read again."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest

from bot.config import Settings
from bot.core.thread import Thread
from bot.email.inbound.mailgun import sign
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.threads import ThreadStore
from bot.web.app import create_app
from tests.conftest import serve
from tests.email_support import MailDriver, new_mail, wait_delivered
from tests.helpers import types


async def test_a_mail_held_on_a_stale_read_resumes_the_thread(
    mail: MailDriver, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    anthropic_stub.reply_tool(
        "issue_refund", {"order_id": "A1001", "amount": "49.00", "reason": "dented on arrival"}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "Refunded."})
    anthropic_stub.reply_tool("done_for_now", {"message": "Glad to help."})
    started = await mail.send(new_mail("My machine came dented, order A1001."))
    thread_id = started["thread_id"]
    view = await wait_delivered(mail.api, thread_id, "waiting_approval")
    request_id = view["pending_request"]["request_id"]

    # The customer's reply is matched while the refund waits for approval; the approval is
    # decided right after that read, before the inbox writes. Decided on what it read, the
    # mail would be held on a thread that no longer waits for anyone.
    real_get = ThreadStore.get
    armed = True

    async def get(self: ThreadStore, wanted: str) -> Thread | None:
        nonlocal armed
        found = await real_get(self, wanted)
        if armed and wanted == thread_id:
            armed = False
            decision = {"request_id": request_id, "approved": True, "user": "U_APPROVER"}
            decided = await mail.api.post(f"/threads/{thread_id}/responses", json=decision)
            assert decided.status_code == 202, decided.text
        return found

    monkeypatch.setattr(ThreadStore, "get", get)
    reply = new_mail(
        "Thanks! Also, can you confirm by mail?",
        subject="Re: Dented machine",
        message_id="<reply.2@mail.example.com>",
        headers={"In-Reply-To": "<first.1@mail.example.com>"},
    )
    outcome = await mail.send(reply)
    assert not armed
    assert outcome == {"thread_id": thread_id, "status": "resumed"}
    view = await wait_delivered(mail.api, thread_id, "done")
    assert "held_message" not in types(view)
    assert [e["text"] for e in view["events"] if e["type"] == "user_message"][-1].startswith(
        "Thanks! Also"
    )


async def test_a_mailgun_retry_after_a_refusal_is_read_again(
    email_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    key = "mailgun-key"
    settings = email_settings.model_copy(
        update={"mailgun_signing_key": key, "email_inbound_secret": None}
    )
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    stamp, token = str(int(time.time())), secrets.token_hex(25)

    def form(body: bytes) -> dict[str, Any]:
        signature = sign(key, stamp, token)
        return {
            "timestamp": (None, stamp),
            "token": (None, token),
            "signature": (None, signature),
            "body-mime": (None, body),
        }

    async with serve(create_app(settings, with_worker=True)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            path = "/email/inbound?format=mime"
            unreadable = form(b"")  # a body we cannot read: 400, and the token is not used up
            for _ in range(2):
                refused = await client.post(path, files=unreadable)
                assert refused.status_code == 400, refused.text
            good = await client.post(path, files=form(new_mail("Hello from Mailgun")))
            assert good.status_code == 202 and good.json()["status"] == "started"
            replay = await client.post(path, files=form(new_mail("Hello from Mailgun")))
            assert replay.status_code == 401 and "already used" in replay.json()["detail"]
