"""Message events skip Bolt; the working reaction is a worker's job, not a web process call."""

from __future__ import annotations

import asyncio
import json

import pytest

from bot.config import Settings
from bot.slack import fastpath
from bot.slack.fastpath import message_event
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import SlackStub
from tests.conftest import ASKER, SlackDriver, app_client
from tests.helpers import wait_for


def test_only_message_events_take_the_fast_path() -> None:
    mention = signing.app_mention_event(ASKER, "<@U0BOT> hi", "CDEPLOY")
    body, _ = signing.event_callback(mention)
    found = message_event(body)
    assert found is not None and found[1]["type"] == "app_mention"
    message = signing.message_event(ASKER, "hi", "CDEPLOY")
    assert message_event(signing.event_callback(message)[0]) is not None
    reaction = {"type": "reaction_added", "user": ASKER, "reaction": "eyes", "event_ts": "1.0"}
    assert message_event(signing.event_callback(reaction)[0]) is None
    assert message_event(signing.url_verification("c")[0]) is None
    click, _ = signing.block_actions(ASKER, [], channel_id="C1", message_ts="1.0")
    assert message_event(click) is None  # a form: interactivity stays with Bolt
    assert message_event(json.dumps([1]).encode()) is None


async def test_a_mention_makes_no_slack_call_in_the_web_process(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    async with app_client(slack_settings, with_worker=False) as client:
        driver = SlackDriver(api=client, stub=slack_stub)
        before = {c.method for c in slack_stub.calls}
        await driver.mention("deploy api 1.4.2 to staging")
        [thread] = await driver.threads()  # stored before the ack, as ever
        assert thread["status"] == "running"
        await asyncio.sleep(0.3)  # what the web process does after the ack has had its turn
        made = [c.method for c in slack_stub.calls if c.method not in before]
        assert "reactions.add" not in made


async def test_a_worker_adds_the_working_reaction(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("done_for_now", {"message": "hello"}, delay=0.5)
    slack.stub.refuse_status()  # where the status line cannot be set
    event = await slack.mention("hi")
    await slack.stub.wait_for("reactions.add", 1)
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    [added] = slack.stub.calls_to("reactions.add")
    assert added.args["timestamp"] == event["ts"] and added.args["name"] == "eyes"


def test_the_parse_is_jsons_with_or_without_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    mention = signing.app_mention_event(ASKER, "<@U0BOT> déploie 🚀 \\u00e9", "CDEPLOY")
    body, _ = signing.event_callback(mention)
    fed = json.loads(body)
    odd = [  # orjson refuses these and json takes them: json parses them, as before orjson
        json.dumps({**fed, "extra": "\ud800"}).encode(),  # a lone surrogate, escaped
        json.dumps({**fed, "extra": float("nan")}).encode(),
        json.dumps({**fed, "extra": 1e400}).replace("Infinity", "1e400").encode(),
    ]
    refused = [b"{not json", b"{\xff}", b'{"type": "event_callback"']
    cases = [body, *odd, *refused]
    with_orjson = [repr(message_event(raw)) for raw in cases]
    assert fastpath.orjson is not None  # the test extra brings it (through langsmith)
    monkeypatch.setattr(fastpath, "orjson", None)
    assert [repr(message_event(raw)) for raw in cases] == with_orjson
    assert with_orjson[0] == repr((fed, fed["event"]))
    assert all(found != "None" for found in with_orjson[1:4])
    assert all(found == "None" for found in with_orjson[4:])
