"""The status line under the Slack thread while the agent works, instead of a reaction; the
reaction where Slack refuses the status (over the real `/slack/events`, a worker, Redis and
the Slack stand-in)."""

from __future__ import annotations

from bot.config import Settings
from bot.core.decide import THINKING
from bot.slack.status import LOADING_MESSAGES
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from tests.conftest import SlackDriver, app_client
from tests.helpers import wait_for


async def test_the_status_says_what_the_agent_does_and_goes_with_the_answer(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("list_versions", {"service": "api"})
    anthropic_stub.reply_tool("done_for_now", {"message": "api has 1.4.0 to 1.4.2."})
    mention = await slack.mention("which versions of api can I deploy?")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    [answer] = await slack.posted(1)
    where = ("CDEPLOY", mention["ts"])
    said = [status for *at, status in slack.stub.agent.status_log if tuple(at) == where]
    # Thinking, then the tool's own words, thinking again, and cleared by the answer's post.
    steps = [status for index, status in enumerate(said) if index == 0 or said[index - 1] != status]
    assert steps == [THINKING, "is checking the deploy catalog…", THINKING, ""]
    assert where not in slack.stub.agent.statuses
    [first, *_] = slack.stub.calls_to("assistant.threads.setStatus")
    assert first.args["loading_messages"] == list(LOADING_MESSAGES)
    assert first.args["channel_id"] == "CDEPLOY" and first.args["thread_ts"] == mention["ts"]
    assert answer.thread_ts == mention["ts"]
    assert not slack.stub.calls_to("reactions.add")  # the status stood in for it


async def test_where_the_status_is_refused_the_reaction_shows_and_it_is_not_asked_again(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    slack.stub.refuse_status("CDEPLOY")
    anthropic_stub.reply_tool("list_versions", {"service": "api"})
    anthropic_stub.reply_tool("done_for_now", {"message": "api has 1.4.0 to 1.4.2."})
    mention = await slack.mention("which versions of api can I deploy?")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    await slack.posted(1)
    [added] = await slack.stub.wait_for("reactions.add")
    assert added.args["timestamp"] == mention["ts"]
    await slack.stub.wait_for("reactions.remove")
    # Refused once per process that asked (the worker's step, its reaction job): then never.
    refused = slack.stub.calls_to("assistant.threads.setStatus")
    assert 1 <= len(refused) <= 2
    assert slack.stub.agent.statuses == {}


async def test_hitlbot_slack_status_off_keeps_the_reaction(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"})
    settings = slack_settings.model_copy(update={"slack_status": False})
    async with app_client(settings) as client:
        driver = SlackDriver(api=client, stub=slack_stub)
        await driver.mention("hi")
        await driver.posted(1)
        await slack_stub.wait_for("reactions.add")
    assert not slack_stub.calls_to("assistant.threads.setStatus")
