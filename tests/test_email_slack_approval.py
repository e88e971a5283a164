"""Approvals of threads that did not start in Slack go to its approval channel."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.standins.smtp_sink import SmtpSink
from tests.conftest import ASKER, SlackDriver, app_client
from tests.email_support import (
    CUSTOMER,
    MailDriver,
    fixture_reply,
    new_mail,
    wait_delivered,
)
from tests.helpers import tool_results


@pytest.fixture
async def both(
    slack_settings: Settings,
    email_settings: Settings,
    anthropic_stub: AnthropicStub,
    slack_stub: SlackStub,
    smtp_sink: SmtpSink,
) -> AsyncIterator[tuple[MailDriver, SlackDriver]]:
    """One app with Slack and email on."""
    email_fields = email_settings.model_dump(
        include={
            "smtp_host",
            "smtp_port",
            "smtp_starttls",
            "smtp_timeout",
            "email_from",
            "email_inbound_secret",
            "delivery_retry_schedule",
        }
    )
    async with app_client(slack_settings.model_copy(update=email_fields)) as client:
        yield MailDriver(api=client, sink=smtp_sink), SlackDriver(api=client, stub=slack_stub)


async def test_refund_approved_in_slack_reaches_the_customer_by_mail(
    both: tuple[MailDriver, SlackDriver], anthropic_stub: AnthropicStub
) -> None:
    mail, slack = both
    anthropic_stub.reply_tool("lookup_order", {"order_id": "A1001"})
    anthropic_stub.reply_tool(
        "issue_refund", {"order_id": "A1001", "amount": "49.00", "reason": "dented on arrival"}
    )
    started = await mail.send(new_mail("Order A1001 arrived dented, please refund 49 EUR."))
    thread_id = started["thread_id"]

    view = await wait_delivered(mail.api, thread_id, "waiting_approval")
    sent = view["pending_request"]["sent_to"]
    assert sent["channel"] == "slack" and sent["coordinates"]["channel"] == "CAPPROVALS"
    card = slack.stub.message("CAPPROVALS", sent["coordinates"]["ts"])
    assert card is not None and "issue_refund" in card.text
    assert not mail.sink.received  # the customer hears nothing until there is an outcome

    refused = await slack.click(card, "approve", user=ASKER)  # not an approver
    assert refused.status_code == 200
    await slack.stub.wait_for("chat.postEphemeral", 1)  # sent just after the ack
    [note] = slack.stub.ephemerals
    assert note.user == ASKER and "approve" in note.text.lower()
    assert (await slack.thread(thread_id))["status"] == "waiting_approval"

    anthropic_stub.reply_tool(
        "done_for_now", {"message": "We refunded 49.00 EUR.\n\n— The support team"}
    )
    clicked = await slack.click(card, "approve")
    assert clicked.status_code == 200, clicked.text
    view = await wait_delivered(mail.api, thread_id, "done")
    assert len(tool_results(view, "issue_refund")) == 1
    [final] = await mail.sink.wait_for(1)
    assert final.recipients == [CUSTOMER] and final.message["Subject"] == "Re: Dented machine"
    assert final.message["In-Reply-To"] == "<first.1@mail.example.com>"
    updated = slack.stub.message("CAPPROVALS", sent["coordinates"]["ts"])
    assert updated is not None and "Approved by <@UAPPROVER1>" in updated.text
    assert not any(block["type"] == "actions" for block in updated.blocks)

    # The customer's thank-you starts the next turn in the same mail thread.
    anthropic_stub.reply_tool("done_for_now", {"message": "You're welcome!"})
    reply = fixture_reply(
        "apple_mail_reply.eml",
        to_message=final.message["Message-ID"],
        references=["<first.1@mail.example.com>", final.message["Message-ID"]],
    )
    assert (await mail.send(reply))["thread_id"] == thread_id
    await mail.sink.wait_for(2)


async def test_api_thread_approval_goes_to_the_approval_channel(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "deploy_service", {"service": "api", "version": "1.4.2", "environment": "production"}
    )
    launched = await slack.api.post("/threads", json={"agent": "deploy", "message": "ship api"})
    thread_id = launched.json()["thread_id"]
    view, card = await slack.pending()
    assert view["id"] == thread_id and card.channel == "CAPPROVALS"
    anthropic_stub.reply_tool("done_for_now", {"message": "api 1.4.2 is live"})
    assert (await slack.click(card, "approve")).status_code == 200
    view = await wait_delivered(slack.api, thread_id, "done")
    sent = [e for e in view["events"] if e["type"] == "request_sent"]
    # The card, the decision shown on it (after the tool ran), the answer (read over the API).
    assert [e["channel"] for e in sent] == ["slack", "slack", "api"]
    assert sent[1]["ref"].startswith("shown:")
    assert len(slack.stub.calls_to("chat.postMessage")) == 1  # the answer is read over the API
