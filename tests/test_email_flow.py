"""Email end to end over real sockets: inbound webhook, worker, Redis, SMTP sink, model stub.

A customer writes; the agent's question reaches them by mail, threaded; their reply (a real
client's, quoted history and all) resumes the thread; the refund waits for approval; after
it the final answer arrives in the same mail thread.
"""

from __future__ import annotations

from email.message import EmailMessage

from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.smtp_sink import Received
from tests.email_support import (
    BOT,
    CUSTOMER,
    MailDriver,
    fixture_reply,
    new_mail,
    wait_delivered,
)
from tests.helpers import tool_results, types, wait_for

FIRST_ID = "<first.1@mail.example.com>"


def assert_threaded(mail: EmailMessage, *, in_reply_to: str, references: list[str]) -> None:
    """Headers of a reply of the bot, and its text and HTML parts."""
    assert mail["From"] == BOT and mail["To"] == CUSTOMER
    assert mail["Subject"] == "Re: Dented machine"
    assert mail["Message-ID"].startswith("<hitlbot.") and mail["Message-ID"].endswith(
        "@shop.example>"
    )
    assert mail["In-Reply-To"] == in_reply_to
    assert mail["References"].split() == references
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]


def text_of(mail: Received) -> str:
    body = mail.message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


async def test_question_reply_approval_and_answer_in_one_mail_thread(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    stub = anthropic_stub
    stub.reply_tool("request_more_information", {"message": "Which order number is it?"})
    started = await mail.send(new_mail("My espresso machine arrived dented. Can you help?"))
    assert started["status"] == "started"
    thread_id = started["thread_id"]

    view = await wait_delivered(mail.api, thread_id, "waiting_human")
    assert view["origin"] == {
        "kind": "email",
        "address": CUSTOMER,
        "mailbox": BOT,
        "subject": "Dented machine",
    }
    first_context = stub.requests[0].context
    assert "Subject: Dented machine" in first_context and "arrived dented" in first_context
    [question] = await mail.sink.wait_for(1)
    asked = question.message
    assert_threaded(asked, in_reply_to=FIRST_ID, references=[FIRST_ID])
    assert question.recipients == [CUSTOMER]
    assert "Which order number is it?" in text_of(question)
    assert "Which order number is it?" in asked.get_body(("html",)).get_content()  # type: ignore[union-attr]
    sent = view["pending_request"]["sent_to"]
    assert sent == {
        "ref": view["pending_request"]["request_id"],
        "channel": "email",
        "coordinates": {"message_id": asked["Message-ID"], "to": CUSTOMER},
    }

    # The customer answers from Gmail, quoting the question.
    stub.reply_tool("lookup_order", {"order_id": "A1001"})
    stub.reply_tool("issue_refund", {"order_id": "A1001", "amount": "49.00", "reason": "dented"})
    reply = fixture_reply(
        "gmail_reply.eml",
        to_message=asked["Message-ID"],
        references=[FIRST_ID, asked["Message-ID"]],
        Subject="Re: Dented machine",
    )
    resumed = await mail.send(reply)
    assert resumed == {"thread_id": thread_id, "status": "resumed"}
    view = await wait_delivered(mail.api, thread_id, "waiting_approval")
    [answer] = [e for e in view["events"] if e["type"] == "human_response"]
    assert answer["answer"].startswith("Yes, please go ahead with the refund")
    assert "wrote:" not in answer["answer"] and "Shall I refund" not in answer["answer"]
    assert answer["user"] == CUSTOMER and answer["ref"].endswith("@mail.gmail.com>")
    # Slack is not configured here: the approval stays answerable over the API.
    approval = view["pending_request"]
    assert approval["kind"] == "approval" and approval["sent_to"]["channel"] == "api"
    assert len(mail.sink.received) == 1  # the customer is not mailed about the approval

    stub.reply_tool("done_for_now", {"message": "We refunded 49.00 EUR.\n\n— The support team"})
    decided = await mail.api.post(
        f"/threads/{thread_id}/responses",
        json={"request_id": approval["request_id"], "user": "U_APPROVER", "approved": True},
    )
    assert decided.status_code == 202, decided.text
    view = await wait_delivered(mail.api, thread_id, "done")
    [refund] = tool_results(view, "issue_refund")
    assert refund["result"]["status"] == "refunded"

    _, final = await mail.sink.wait_for(2)
    assert_threaded(
        final.message,
        in_reply_to=answer["ref"],
        references=[FIRST_ID, asked["Message-ID"], answer["ref"]],
    )
    assert final.message["Message-ID"] != asked["Message-ID"]
    assert "We refunded 49.00 EUR." in text_of(final)
    assert types(view)[-2:] == ["done", "request_sent"]


async def test_postmark_start_and_sendgrid_reply(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "Which order?"})
    started = await mail.send_postmark(new_mail("Where is my grinder?"))
    thread_id = started["thread_id"]
    await wait_for(mail.api, thread_id, "waiting_human")
    [question] = await mail.sink.wait_for(1)
    assert question.message["In-Reply-To"] == FIRST_ID

    anthropic_stub.reply_tool("done_for_now", {"message": "It ships tomorrow."})
    reply = fixture_reply(
        "outlook_reply.eml",
        to_message=question.message["Message-ID"],
        references=[FIRST_ID, question.message["Message-ID"]],
    )
    assert (await mail.send_sendgrid(reply))["status"] == "resumed"
    view = await wait_for(mail.api, thread_id, "done")
    [answer] = [e for e in view["events"] if e["type"] == "human_response"]
    assert answer["answer"].startswith("Please refund the full amount")
    _, final = await mail.sink.wait_for(2)
    assert final.message["In-Reply-To"] == answer["ref"]


async def test_writing_again_after_done_starts_the_next_turn(
    mail: MailDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Your order is on its way."})
    thread_id = (await mail.send(new_mail("Status of A1004?")))["thread_id"]
    await wait_for(mail.api, thread_id, "done")
    [first] = await mail.sink.wait_for(1)

    anthropic_stub.reply_tool("done_for_now", {"message": "It left the warehouse today."})
    again = fixture_reply(
        "apple_mail_reply.eml",
        to_message=first.message["Message-ID"],
        references=[FIRST_ID, first.message["Message-ID"]],
    )
    assert (await mail.send(again))["status"] == "resumed"
    await mail.sink.wait_for(2)
    view = await wait_for(mail.api, thread_id, "done")
    messages = [e for e in view["events"] if e["type"] == "user_message"]
    assert messages[1]["text"] == "Sounds good, ship it today.\nUse the express courier."
    assert "Subject:" not in messages[1]["text"]  # only a thread's first mail shows it
