"""Feedback on answers: the buttons under an answer, a click recorded on the thread and in
its audit, counted in /metrics, and `hitlbot record --feedback down` picking the thread."""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

import bot.runtime.wiring
from bot.cli import app
from bot.config import Settings
from bot.runtime.discovery import shipped
from bot.standins import slack_signing as signing
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_workspace import Message
from tests.conftest import APPROVER, ASKER, SLACK_SECRET, SlackDriver
from tests.helpers import wait_for

AGENTS = shipped()


def _feedback(message: Message) -> dict[str, Any]:
    [block] = [b for b in message.blocks if b["type"] == "context_actions"]
    [buttons] = block["elements"]
    assert buttons["type"] == "feedback_buttons"
    return dict(buttons)


def _counted(rating: str) -> float:
    """The process's feedback counter for the deploy agent and `rating`, as /metrics shows it."""
    value = REGISTRY.get_sample_value(
        "hitlbot_feedback_total", {"agent": "deploy", "rating": rating}
    )
    return value or 0.0


async def _rate(
    slack: SlackDriver, message: Message, side: str, user: str, *, ts: str | None = None
) -> None:
    buttons = _feedback(message)
    action = {"action_id": buttons["action_id"], "value": buttons[side]["value"]}
    action["type"] = "feedback_buttons"
    reply = await slack.send(
        signing.block_actions(
            user,
            [action],
            channel_id=message.channel,
            message_ts=ts or message.ts,
            message=message.payload(),
            response_url=slack.stub.response_url,
            signing_secret=SLACK_SECRET,
        )
    )
    assert reply.status_code == 200


async def _answered(slack: SlackDriver, anthropic_stub: AnthropicStub) -> tuple[str, Message]:
    anthropic_stub.reply_tool("done_for_now", {"message": "api is on **1.4.2** in staging."})
    await slack.mention("what runs in staging?")
    [thread] = await slack.threads()
    await wait_for(slack.api, thread["id"], "done")
    [answer] = await slack.posted(1)
    return thread["id"], answer


async def test_an_answer_is_markdown_with_feedback_buttons_and_a_click_is_recorded(
    slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    thread_id, answer = await _answered(slack, anthropic_stub)
    assert answer.blocks[0] == {"type": "markdown", "text": "api is on **1.4.2** in staging."}
    assert answer.text == "api is on **1.4.2** in staging."  # the plain-text fallback

    before = {rating: _counted(rating) for rating in ("down", "up")}
    await _rate(slack, answer, "negative_button", ASKER)
    await _rate(slack, answer, "negative_button", ASKER)  # a double click: recorded once
    await _rate(slack, answer, "positive_button", APPROVER)
    await _rate(slack, answer, "negative_button", APPROVER, ts="1.000001")  # not the answer
    view = await slack.thread(thread_id)
    rated = [(e["user"], e["rating"], e["ref"]) for e in view["events"] if e["type"] == "feedback"]
    done_index = next(i for i, e in enumerate(view["events"]) if e["type"] == "done")
    ref = f"done:{done_index}"
    assert rated == [(ASKER, "down", ref), (APPROVER, "up", ref)]
    assert view["status"] == "done"  # feedback does not wake the agent

    audit = (await slack.api.get(f"/threads/{thread_id}/audit")).json()
    entries = audit["entries"] if isinstance(audit, dict) else audit
    [down, up] = [e for e in entries if e["event"] == "feedback"]
    assert (down["user"], down["rating"], down["ref"]) == (ASKER, "down", ref)
    assert (up["user"], up["rating"]) == (APPROVER, "up")

    # The counters are the process's: other tests in it may have counted before this one.
    metrics = (await slack.api.get("/metrics")).text
    down = before["down"] + 1
    up = before["up"] + 1
    assert f'hitlbot_feedback_total{{agent="deploy",rating="down"}} {down}' in metrics
    assert f'hitlbot_feedback_total{{agent="deploy",rating="up"}} {up}' in metrics
    await slack.stub.wait_for("chat.postEphemeral", 3)
    notes = [e.text for e in slack.stub.ephemerals]
    assert notes.count("Thanks: noted, so it can be improved.") == 2


async def test_record_feedback_down_picks_the_rated_thread(
    slack: SlackDriver,
    anthropic_stub: AnthropicStub,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copy(AGENTS["deploy"].prompt, tmp_path / "prompt.md")
    agent = dataclasses.replace(AGENTS["deploy"], prompt=tmp_path / "prompt.md")
    monkeypatch.setattr(bot.runtime.wiring, "load_agents", lambda *_: {**AGENTS, "deploy": agent})
    assert settings.redis_url is not None
    monkeypatch.setenv("REDIS_URL", settings.redis_url)
    monkeypatch.setenv("HITLBOT_REDIS_PREFIX", settings.redis_prefix)

    thread_id, answer = await _answered(slack, anthropic_stub)
    anthropic_stub.reply_tool("done_for_now", {"message": "All good."})
    await slack.mention("is billing deployed?")  # a second thread, rated up: not picked
    await slack.posted(2)
    [other, _] = await slack.threads()
    await wait_for(slack.api, other["id"], "done")
    second = slack.stub.messages[-1]
    await _rate(slack, answer, "negative_button", ASKER)
    await _rate(slack, second, "positive_button", ASKER)

    result = await asyncio.to_thread(CliRunner().invoke, app, ["record", "--feedback", "down"])
    assert result.exit_code == 0, result.output
    [case] = sorted((tmp_path / "cases").glob("*.yaml"))
    assert case.name == f"what-runs-in-staging-{thread_id[-8:].lower()}.yaml"
    assert "1 thread(s) rated down recorded" in result.output

    both = await asyncio.to_thread(
        CliRunner().invoke, app, ["record", thread_id, "--feedback", "up"]
    )
    assert both.exit_code == 2 and "not both" in both.output
