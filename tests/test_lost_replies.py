"""A delivery whose claim Redis ran, retried because its reply was lost, is taken, not "seen".

The reply-dropping proxy lets Redis run the request that claims the delivery and loses its
reply; redis-py retries the very same call. The claim and the write it protects are one
script that remembers what it did, so the retry gets the first run's result.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx

from bot.config import Settings
from bot.email.inbound.mailgun import sign
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.web.app import create_app
from tests.conftest import SlackDriver, app_client, serve
from tests.email_support import MailDriver, new_mail
from tests.helpers import types, wait_for
from tests.tcp_proxy import CuttingProxy


async def test_a_mail_whose_claim_reply_was_lost_makes_a_thread(
    email_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "We will look into it."})
    async with CuttingProxy(email_settings.redis_url or "").running() as proxy:
        settings = email_settings.model_copy(update={"redis_url": proxy.url})
        async with app_client(settings) as api:
            mail = MailDriver(api=api, sink=None)  # type: ignore[arg-type]  # not read here
            proxy.cut_reply_to(b":seen:email:")  # the mail's claim
            first = await mail.send(new_mail("My machine arrived dented."))
            assert proxy.cut.is_set()
            assert first["status"] == "started", first
            assert first["thread_id"] is not None
            view = await wait_for(api, first["thread_id"], "done")
            again = await mail.send(new_mail("My machine arrived dented."))  # a provider retry
    assert types(view).count("user_message") == 1
    assert again["status"] == "ignored" and again["thread_id"] == first["thread_id"]


async def test_a_slack_answer_whose_write_reply_was_lost_reaches_the_model(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version of api?"})
    anthropic_stub.reply_tool("done_for_now", {"message": "Deploying 1.4.2."})
    async with CuttingProxy(slack_settings.redis_url or "").running() as proxy:
        settings = slack_settings.model_copy(update={"redis_url": proxy.url})
        async with app_client(settings) as api:
            slack = SlackDriver(api=api, stub=slack_stub)
            started = await slack.mention("deploy api")
            [thread] = await slack.threads()
            await wait_for(api, thread["id"], "waiting_human")
            proxy.cut_reply_to(b"seen:slack-message:")  # the reply's claim
            await slack.reply("1.4.2 please", started["ts"])
            assert proxy.cut.is_set()
            view = await wait_for(api, thread["id"], "done")
    assert types(view).count("human_response") == 1
    answers = [e for e in view["events"] if e["type"] == "human_response"]
    assert answers[0]["answer"] == "1.4.2 please"
    assert "1.4.2 please" in str(anthropic_stub.requests[-1].body)  # the model read the answer


async def test_a_mailgun_token_whose_claim_reply_was_lost_is_not_a_replay(
    email_settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    key = "mailgun-key"
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    token = secrets.token_hex(25)
    stamp = str(int(time.time()))
    form: dict[str, Any] = {
        "timestamp": (None, stamp),
        "token": (None, token),
        "signature": (None, sign(key, stamp, token)),
        "body-mime": (None, new_mail("Hello from Mailgun")),
    }
    async with CuttingProxy(email_settings.redis_url or "").running() as proxy:
        settings = email_settings.model_copy(
            update={
                "redis_url": proxy.url,
                "mailgun_signing_key": key,
                "email_inbound_secret": None,
            }
        )
        async with serve(create_app(settings, with_worker=True)) as url:
            async with httpx.AsyncClient(base_url=url, timeout=10) as client:
                proxy.cut_reply_to(b":seen:mailgun:")  # the token's claim
                taken = await client.post("/email/inbound?format=mime", files=form)
                assert proxy.cut.is_set()
                replay = await client.post("/email/inbound?format=mime", files=form)
    assert taken.status_code == 202, taken.text
    assert taken.json()["status"] == "started"
    assert replay.status_code == 401 and "already used" in replay.json()["detail"]
