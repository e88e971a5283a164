"""The agent DM: opening it shows the agent's suggested prompts; a DM message starts a thread
titled after it (over the real `/slack/events`, a worker, Redis and the Slack stand-in)."""

from __future__ import annotations

from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import ASKER, SlackDriver
from tests.helpers import wait_for


async def test_opening_the_dm_shows_the_agents_prompts(slack: SlackDriver) -> None:
    reply = await slack.event(signing.app_home_opened_event(ASKER, "DASKER"))
    assert reply.status_code == 200
    [call] = await slack.stub.wait_for("assistant.threads.setSuggestedPrompts")
    # The agent view sets them for the whole tab: a thread_ts would make Slack drop the call.
    assert call.args["channel_id"] == "DASKER" and "thread_ts" not in call.args
    prompts = slack.stub.agent.prompts[("DASKER", "")]
    assert [p["title"] for p in prompts] == [
        "What can I deploy?",
        "Deploy to staging",
        "Deploy to production",
    ]
    assert prompts[1]["message"] == "Deploy api 1.4.2 to staging"


async def test_the_home_tab_sets_nothing(slack: SlackDriver) -> None:
    reply = await slack.event(signing.app_home_opened_event(ASKER, "DASKER", tab="home"))
    assert reply.status_code == 200
    await slack.event(signing.app_home_opened_event(ASKER, "DASKER"))  # a marker after it
    await slack.stub.wait_for("assistant.threads.setSuggestedPrompts")
    assert len(slack.stub.calls_to("assistant.threads.setSuggestedPrompts")) == 1


async def test_the_older_assistant_view_gets_prompts_on_its_thread(slack: SlackDriver) -> None:
    event = signing.assistant_thread_started_event(ASKER, "DASKER", "1700000000.000001")
    assert (await slack.event(event)).status_code == 200
    [call] = await slack.stub.wait_for("assistant.threads.setSuggestedPrompts")
    assert call.args["thread_ts"] == "1700000000.000001"
    assert len(slack.stub.agent.prompts[("DASKER", "1700000000.000001")]) == 3


async def test_a_dm_message_starts_a_thread_titled_after_it(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "Deployed."})
    text = "Deploy api 1.4.2 to staging please, and tell me when it is live"
    event = signing.message_event(ASKER, text, "DASKER")
    assert (await slack.event(event)).status_code == 200
    [done] = await slack.posted(1)
    assert done.channel == "DASKER" and done.thread_ts == event["ts"]
    [title] = await slack.stub.wait_for("assistant.threads.setTitle")
    assert title.args == {"channel_id": "DASKER", "thread_ts": event["ts"], "title": text}
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")

    # A reply in the same DM thread continues it and does not rename it.
    anthropic_stub.reply_tool("done_for_now", {"message": "Again."})
    await slack.reply("and web 2.1.0 too", event["ts"], channel="DASKER")
    await slack.posted(2)
    assert len(slack.stub.calls_to("assistant.threads.setTitle")) == 1
    assert len(await slack.threads()) == 1
