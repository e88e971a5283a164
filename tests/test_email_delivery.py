"""Outbound failures on a real SMTP relay: retried through the queue, or recorded; never lost."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.email.compose import FAILED_NOTICE
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.smtp_sink import SmtpSink
from bot.web.app import create_app
from tests.conftest import serve
from tests.email_support import MailDriver, new_mail, wait_delivered


async def ask(mail: MailDriver, stub: AnthropicStub) -> str:
    stub.reply_tool("request_more_information", {"message": "Which order?"})
    thread_id: str = (await mail.send(new_mail("My machine is dented")))["thread_id"]
    return thread_id


def delivery_errors(view: dict[str, object]) -> list[dict[str, str]]:
    events = view["events"]
    assert isinstance(events, list)
    return [e for e in events if e["type"] == "error" and e["kind"] == "delivery"]


async def test_transient_failure_is_retried_and_sent_once(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    mail.sink.refuse("451 4.3.0 Greylisted, try again", times=2)
    thread_id = await ask(mail, anthropic_stub)
    view = await wait_delivered(mail.api, thread_id, "waiting_human")
    assert not delivery_errors(view)
    assert view["events"][-1]["channel"] == "email"
    assert len(mail.sink.received) == 1 and not mail.sink.refusals


async def test_transient_failure_past_the_schedule_is_recorded(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    mail.sink.refuse("421 4.7.0 Too busy", times=3)  # the first try and both retries
    thread_id = await ask(mail, anthropic_stub)
    view = await wait_delivered(mail.api, thread_id, "waiting_human")
    [error] = delivery_errors(view)
    assert error["ref"] == view["pending_request"]["request_id"]
    assert "still failing after retries" in error["message"] and "421" in error["message"]
    assert mail.sink.received == [] and view["pending_request"]["sent_to"] is None


async def test_permanent_failure_is_recorded_at_once(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    mail.sink.refuse("550 5.1.1 No such user", times=2)
    thread_id = await ask(mail, anthropic_stub)
    view = await wait_delivered(mail.api, thread_id, "waiting_human")
    [error] = delivery_errors(view)
    assert "550 5.1.1 No such user" in error["message"]
    assert list(mail.sink.refusals) == ["550 5.1.1 No such user"]  # tried once, not retried


async def test_without_smtp_host_sends_fail_loudly(
    email_settings: Settings, anthropic_stub: AnthropicStub, smtp_sink: SmtpSink
) -> None:
    settings = email_settings.model_copy(update={"smtp_host": None})
    async with serve(create_app(settings, with_worker=True)) as url:
        headers = {"Authorization": "Bearer test-token"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=10) as api:
            driver = MailDriver(api=api, sink=smtp_sink)
            thread_id = await ask(driver, anthropic_stub)
            view = await wait_delivered(api, thread_id, "waiting_human")
    [error] = delivery_errors(view)
    assert "outbound email is off: set SMTP_HOST" in error["message"]


async def test_a_failed_thread_tells_the_customer_without_the_internals(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.fail(529, times=3)
    thread_id = (await mail.send(new_mail("Hello?")))["thread_id"]
    view = await wait_delivered(mail.api, thread_id, "failed")
    assert "529" in view["error"]
    [notice] = await mail.sink.wait_for(1)
    body = notice.message.get_body(("plain",))
    assert body is not None and body.get_content().strip() == FAILED_NOTICE
    assert notice.message["Subject"] == "Re: Dented machine"
