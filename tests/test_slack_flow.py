"""The Slack channel end to end: signed requests to the real `/slack/events` of a running app,
a worker, real Redis, and the Slack and Anthropic stand-ins over real sockets."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.config import Settings
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from bot.store.keys import Keys
from tests.conftest import APPROVER, APPROVER_2, ASKER, SLACK_SECRET, SlackDriver, app_client
from tests.helpers import tool_results, wait_for

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}


async def test_mention_question_reply_approval_answer(
    slack: SlackDriver, anthropic_stub: AnthropicStub, settings: Settings, redis_client: Redis
) -> None:
    stub = slack.stub
    stub.refuse_status()  # no status line in this workspace: the working reaction shows
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version of api?"})
    mention = await slack.mention("deploy api to production")

    [question] = await slack.posted(1)
    assert question.thread_ts == mention["ts"] and question.channel == "CDEPLOY"
    assert "Which version of api?" in question.text
    assert "api to production" in anthropic_stub.requests[0].context
    assert "<@U0BOT>" not in anthropic_stub.requests[0].context
    [thread] = await slack.threads()
    assert thread["status"] == "waiting_human"

    anthropic_stub.reply_tool("deploy_service", PRODUCTION | {"reason": "the user asked for it"})
    answer = await slack.reply("1.4.2", mention["ts"])
    view, card = await slack.pending()
    assert view["status"] == "waiting_approval"
    assert card.thread_ts == mention["ts"]
    assert "<human_response>\nanswer: 1.4.2" in anthropic_stub.requests[1].context
    buttons = [b for b in card.blocks if b["type"] == "actions"][0]["elements"]
    assert [b["text"]["text"] for b in buttons] == ["Approve", "Reject", "Edit", "Cancel"]
    card_text = json.dumps(card.blocks)
    assert "deploy_service" in card_text and "the user asked for it" in card_text
    assert "*environment*\\nproduction" in card_text

    # Each message that made the agent work showed the working reaction until the reply.
    await _until(lambda: stub.reactions("CDEPLOY", answer["ts"]) == [])
    assert [c.args["timestamp"] for c in stub.calls_to("reactions.add")] == [
        mention["ts"],
        answer["ts"],
    ]

    refused = await slack.click(card, "approve", user=ASKER)
    assert refused.status_code == 200
    await _until(lambda: len(stub.ephemerals) == 1)
    assert stub.ephemerals[0].user == ASKER and "can decide this" in stub.ephemerals[0].text
    view = await slack.thread(thread["id"])
    assert view["status"] == "waiting_approval" and not stub.calls_to("chat.update")

    anthropic_stub.reply_tool("done_for_now", {"message": "api 1.4.2 is **live** in production"})
    approved = await slack.click(card, "approve", user=APPROVER)
    assert approved.status_code == 200
    [_, _, done] = await slack.posted(3)
    assert done.thread_ts == mention["ts"]
    assert done.blocks[0] == {"type": "markdown", "text": "api 1.4.2 is **live** in production"}

    updated = stub.message(card.channel, card.ts)
    assert updated is not None and updated.edited
    assert not [b for b in updated.blocks if b["type"] == "actions"]
    assert f"Approved by <@{APPROVER}>" in json.dumps(updated.blocks)
    view = await slack.thread(thread["id"])
    assert view["status"] == "done"
    [result] = tool_results(view, "deploy_service")
    deploys = await redis_client.hgetall(Keys(settings.redis_prefix).agent("deploy", "deploys"))
    assert [json.loads(v)["call_id"] for v in deploys.values()] == [result["call_id"]]
    [decision] = [
        e for e in view["events"] if e["type"] == "human_response" and e["approved"] is not None
    ]
    assert decision["approved"] is True and decision["user"] == APPROVER
    await _until(lambda: stub.reactions(card.channel, card.ts) == [])
    assert len(anthropic_stub.requests) == 3


async def test_reject_with_a_reason_through_the_modal(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    stub = slack.stub
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    await slack.mention("deploy api 1.4.2 to production")
    _, card = await slack.pending()

    assert (await slack.click(card, "reject", user=APPROVER_2)).status_code == 200
    [opened] = await stub.wait_for("views.open")
    assert opened.args["trigger_id"]
    [view] = stub.views.values()
    metadata = json.loads(view["private_metadata"])
    assert metadata["user"] == APPROVER_2 and "nonce" in metadata

    anthropic_stub.reply_tool("done_for_now", {"message": "Not deployed."})
    submit = await slack.send(
        signing.view_submission(
            APPROVER_2,
            view,
            values=signing.plain_text_value("reason", "reason", "freeze until Monday"),
            signing_secret=SLACK_SECRET,
        )
    )
    assert submit.status_code == 200 and submit.content in (b"", b"{}")
    await slack.posted(2)
    [thread] = await slack.threads()
    view_after = await slack.thread(thread["id"])
    assert view_after["status"] == "done" and not tool_results(view_after, "deploy_service")
    context = anthropic_stub.requests[-1].context
    assert "approved: false\ncomment: freeze until Monday" in context
    await _until(lambda: bool(stub.calls_to("chat.update")))
    updated = stub.message(card.channel, card.ts)
    assert updated is not None
    assert f"Rejected by <@{APPROVER_2}>: freeze until Monday" in json.dumps(updated.blocks)
    assert not [b for b in updated.blocks if b["type"] == "actions"]


async def _until(condition: object, timeout: float = 10) -> None:
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_a_direct_message_starts_a_thread_and_a_reply_its_next_turn(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "I can deploy api, web and worker."})
    dm = signing.message_event(ASKER, "what can you deploy?", "D0ASKER")
    assert (await slack.event(dm)).status_code == 200
    [first] = await slack.posted(1)
    assert (first.channel, first.thread_ts) == ("D0ASKER", dm["ts"])

    anthropic_stub.reply_tool("done_for_now", {"message": "web 2.1.0 is the newest."})
    await slack.reply("and the newest web?", dm["ts"], channel="D0ASKER")
    [_, second] = await slack.posted(2)
    assert second.thread_ts == dm["ts"] and "web 2.1.0" in second.text
    [thread] = await slack.threads()  # the same hitlbot thread, its next turn
    view = await slack.thread(thread["id"])
    assert [e["message"] for e in view["events"] if e["type"] == "done"] == [
        "I can deploy api, web and worker.",
        "web 2.1.0 is the newest.",
    ]
    assert view["origin"] == {
        "kind": "slack",
        "team": "T0TEAM",
        "channel": "D0ASKER",
        "thread_ts": dm["ts"],
        "user": ASKER,
    }


async def test_an_approval_asked_in_a_dm_goes_to_the_approval_channel(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    # Nobody but the requester sees their DM, and they may not approve their own call.
    anthropic_stub.reply_tool("deploy_service", PRODUCTION)
    anthropic_stub.reply_tool("done_for_now", {"message": "api 1.4.2 is live"})
    dm = signing.message_event(ASKER, "deploy api 1.4.2 to production", "D0ASKER")
    assert (await slack.event(dm)).status_code == 200
    view, card = await slack.pending()
    assert (card.channel, card.thread_ts) == ("CAPPROVALS", None)
    await slack.stub.wait_for("chat.postMessage", 2)
    [note] = [m for m in slack.stub.messages if m.bot_id and m.channel == "D0ASKER"]
    assert note.thread_ts == dm["ts"] and "<#CAPPROVALS>" in note.text
    assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
    await wait_for(slack.api, view["id"], "done")
    await slack.stub.wait_for("chat.postMessage", 3)
    final = [m for m in slack.stub.messages if m.bot_id and m.channel == "D0ASKER"][-1]
    assert final.thread_ts == dm["ts"] and "live" in final.text


async def test_only_the_asker_or_an_approver_answers_a_question(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version?"})
    mention = await slack.mention("deploy api to staging")
    await slack.posted(1)
    [thread] = await slack.threads()
    await slack.reply("2.0, obviously", mention["ts"], user="UPASSERBY")
    await slack.stub.wait_for("chat.postEphemeral", 1)
    [note] = slack.stub.ephemerals
    assert note.user == "UPASSERBY" and f"Only <@{ASKER}> or an approver" in note.text
    view = await slack.thread(thread["id"])
    assert view["status"] == "waiting_human" and view["events"][-1]["type"] == "held_message"
    assert view["events"][-1]["sender"] == "UPASSERBY"
    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    await slack.reply("1.4.2", mention["ts"], user=APPROVER)  # an approver may answer
    view = await wait_for(slack.api, thread["id"], "done")
    [response] = [e for e in view["events"] if e["type"] == "human_response"]
    assert (response["user"], response["answer"]) == (APPROVER, "1.4.2")
    assert len(anthropic_stub.requests) == 2  # the held note made no model call


async def test_a_choice_button_answers_the_question(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool(
        "request_more_information", {"message": "Which one?", "choices": ["1.4.1", "1.4.2"]}
    )
    await slack.mention("deploy api to staging")
    _, question = await slack.pending()
    buttons = [b for b in question.blocks if b["type"] == "actions"][0]["elements"]
    assert [(b["action_id"], b["text"]["text"]) for b in buttons] == [
        ("choice:0", "1.4.1"),
        ("choice:1", "1.4.2"),
    ]

    anthropic_stub.reply_tool("done_for_now", {"message": "ok"})
    assert (await slack.click(question, "choice:1", user=ASKER)).status_code == 200
    await slack.posted(2)
    [thread] = await slack.threads()
    view = await slack.thread(thread["id"])
    [response] = [e for e in view["events"] if e["type"] == "human_response"]
    assert (response["answer"], response["user"]) == ("1.4.2", ASKER)
    await _until(lambda: bool(slack.stub.calls_to("chat.update")))
    updated = slack.stub.message(question.channel, question.ts)
    assert updated is not None and not [b for b in updated.blocks if b["type"] == "actions"]
    assert f"<@{ASKER}> answered: 1.4.2" in json.dumps(updated.blocks)


async def test_a_failed_thread_says_why_in_slack(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.fail(529, times=3)  # the first try and both scheduled retries
    slack.stub.refuse_status()
    mention = await slack.mention("deploy api 1.4.2 to staging")
    [notice] = await slack.posted(1)
    assert notice.thread_ts == mention["ts"]
    assert "I had to stop" in notice.text and "unavailable after retries" in notice.text
    await _until(lambda: slack.stub.reactions("CDEPLOY", mention["ts"]) == [])


async def test_a_rate_limited_post_is_retried(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    slack.stub.fail("chat.postMessage", status=429, retry_after=0)
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    await slack.mention("hi")
    [answer] = await slack.posted(2)  # two attempts, one message
    assert answer.text == "hello"
    [thread] = await slack.threads()
    assert (await slack.thread(thread["id"]))["status"] == "done"


async def test_channels_are_routed_to_their_agent(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    routed = slack_settings.model_copy(update={"slack_routes": "CSUPPORT=support"})
    async with app_client(routed) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        anthropic_stub.reply_tool("done_for_now", {"message": "hi"})
        anthropic_stub.reply_tool("done_for_now", {"message": "hi"})
        await slack.mention("where is order 42?", channel="CSUPPORT")
        await slack.mention("what can you deploy?", channel="CELSEWHERE")
        await slack.posted(2)
        agents = {t["agent"] for t in await slack.threads()}
        assert agents == {"support", "deploy"}


async def test_a_post_slack_refuses_for_good_is_recorded_on_the_thread(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    slack.stub.fail("chat.postMessage", error="not_in_channel")
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    await slack.mention("hi")
    [thread] = await slack.threads()
    view = await _settled(slack, thread["id"])
    error = view["events"][-1]
    assert (error["type"], error["kind"]) == ("error", "delivery")
    assert "not_in_channel" in error["message"] and view["status"] == "done"
    assert len(slack.stub.calls_to("chat.postMessage")) == 1


async def test_a_post_slack_cannot_take_now_is_retried_later(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    quick = slack_settings.model_copy(update={"delivery_retry_schedule": "0.05,0.05"})
    async with app_client(quick) as api:
        slack = SlackDriver(api=api, stub=slack_stub)
        # 503 on the first try and on both of the client's own retries: the runner retries.
        slack_stub.fail("chat.postMessage", status=503, times=3)
        anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
        await slack.mention("hi")
        [answer] = await slack.posted(4, timeout=15)
        assert answer.text == "hello"
        [thread] = await slack.threads()
        view = await _settled(slack, thread["id"])
        assert view["events"][-1]["type"] == "request_sent"


async def _settled(slack: SlackDriver, thread_id: str) -> dict[str, object]:
    """The thread once its last outbound event is recorded (sent, or given up on)."""
    for _ in range(500):
        view = await slack.thread(thread_id)
        if view["events"][-1]["type"] in ("request_sent", "error"):
            return view
        await asyncio.sleep(0.02)
    raise AssertionError("the outbound event was never recorded")
