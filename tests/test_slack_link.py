"""Two first messages racing in one Slack thread make one hitlbot thread, not two."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.store.intake import Intake
from tests.conftest import SLACK_SECRET, SlackDriver
from tests.helpers import wait_for


async def test_two_simultaneous_mentions_in_one_slack_thread(
    slack: SlackDriver, anthropic_stub: AnthropicStub, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(2):
        anthropic_stub.reply_tool("done_for_now", {"message": "on it"})
    # Both messages reach the intake script (claims, link, launch: one round trip) together,
    # before either has linked the Slack thread: the worst timing, made certain by a barrier
    # instead of left to chance. The script's atomicity alone makes one thread of them.
    barrier = asyncio.Barrier(2)
    taken = Intake.start
    waited = 0

    async def take(self: Intake, *args: Any, **kwargs: Any) -> Any:
        nonlocal waited
        if waited < 2:
            waited += 1
            await asyncio.wait_for(barrier.wait(), 5)
        return await taken(self, *args, **kwargs)

    monkeypatch.setattr(Intake, "start", take)
    parent = signing.app_mention_event("UASKER", "<@U0BOT> deploy api", "CDEPLOY")
    reply = signing.app_mention_event(
        "UASKER", "<@U0BOT> 1.4.2 please", "CDEPLOY", thread_ts=parent["ts"]
    )
    answers = await asyncio.gather(
        *(
            slack.send(signing.event_callback(e, signing_secret=SLACK_SECRET))
            for e in (parent, reply)
        )
    )
    assert [a.status_code for a in answers] == [200, 200]
    assert waited == 2 and not barrier.broken  # both did wait there
    [thread] = await slack.threads()
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        view = await wait_for(slack.api, thread["id"], "done")
        texts = [e["text"] for e in view["events"] if e["type"] == "user_message"]
        if len(texts) == 2 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.05)
    assert sorted(texts) == ["1.4.2 please", "deploy api"]
    assert len(await slack.threads()) == 1
