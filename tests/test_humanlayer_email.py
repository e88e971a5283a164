"""`human_as_tool` over email with the published SDK: the question mailed on the caller's mail
thread (template, recipients), the human's reply (quotes stripped) answers it."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from humanlayer import ContactChannel, EmailContactChannel, EmailRecipient, HumanContactSpec

from tests.email_support import MailDriver
from tests.humanlayer_support import sdk


def reply(text: str, *, sender: str, to_message: str, message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@shop.example"
    msg["Subject"] = "Re: Budget"
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = to_message
    msg["References"] = f"<orig.1@corp.example> {to_message}"
    msg.set_content(text)
    return msg.as_bytes()


async def test_human_as_tool_by_mail_answered_by_the_reply(mail: MailDriver) -> None:
    hl = sdk(mail)
    channel = ContactChannel(
        email=EmailContactChannel(
            address="boss@corp.example",
            subject="Budget",
            in_reply_to_message_id="<orig.1@corp.example>",
            references_message_id="<orig.1@corp.example>",
            template="Hello,\n\n{{ msg }}\n\n(run {{ event.run_id }})",
            additional_recipients=[
                EmailRecipient(address="cfo@corp.example", field="cc"),
                EmailRecipient(address="audit@corp.example", field="bcc"),
            ],
        )
    )
    ask = hl.human_as_tool(channel)
    answer = asyncio.create_task(asyncio.to_thread(ask, "May I spend 5k on GPUs?"))
    [sent] = await mail.sink.wait_for(1)
    message = sent.message
    assert message["To"] == "boss@corp.example" and message["Cc"] == "cfo@corp.example"
    assert "Bcc" not in message and "audit@corp.example" in sent.recipients
    assert message["Subject"] == "Re: Budget"
    assert message["In-Reply-To"] == "<orig.1@corp.example>"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content().replace("\r\n", "\n")
    assert text.startswith("Hello,\n\nMay I spend 5k on GPUs?") and f"run {hl.run_id}" in text

    ours = str(message["Message-ID"])
    stranger = reply("Sure!", sender="eve@else.example", to_message=ours, message_id="<e.1@x>")
    assert (await mail.send(stranger))["status"] == "held"
    said = "Yes, up to 5k.\n\nOn Mon, boss wrote:\n> Hello,\n> May I spend 5k on GPUs?\n"
    got = await mail.send(
        reply(said, sender="boss@corp.example", to_message=ours, message_id="<b.1@corp.example>")
    )
    assert got["status"] == "resumed"
    assert await asyncio.wait_for(answer, 10) == "Yes, up to 5k."


async def test_template_cannot_reach_the_process(mail: MailDriver) -> None:
    hl = sdk(mail)
    evil = "{{ msg.__class__.__mro__[1].__subclasses__() }}"
    channel = ContactChannel(email=EmailContactChannel(address="boss@corp.example", template=evil))
    contact = await asyncio.to_thread(
        hl.create_human_contact,
        HumanContactSpec(msg="hi", channel=channel),
    )
    thread_id = (await mail.api.get("/threads")).json()["threads"][0]["id"]
    for _ in range(500):
        view = await mail.thread(thread_id)
        if any(e["type"] == "error" for e in view["events"]):
            break
        await asyncio.sleep(0.02)
    [error] = [e for e in view["events"] if e["type"] == "error"]
    assert error["kind"] == "delivery" and "template" in error["message"]
    assert mail.sink.received == [] and contact.call_id
