"""The final answer streamed into the Slack thread as Claude writes it (the Anthropic
stand-in streams its reply and holds it halfway; the Slack stand-in records each stream call)."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from bot.standins.anthropic_stub import AnthropicStub
from bot.standins.slack_stub import Call, SlackStub
from tests.conftest import ASKER, SlackDriver, app_client
from tests.helpers import wait_for

ANSWER = (
    "api **1.4.2** is live in staging.\n\nIt took 3 minutes; the health check passed "
    "& the canary is at 100 % <now>."
)


def _text(call: Call) -> str:
    """The markdown a stream call carries (as `markdown_text` or markdown chunks)."""
    chunks = call.args.get("chunks") or []
    text = "".join(c["text"] for c in chunks if c.get("type") == "markdown_text")
    return text + (call.args.get("markdown_text") or "")


async def _until(check: object, timeout: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def test_the_answer_streams_before_the_reply_is_complete_and_is_stored_whole(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    settings = slack_settings.model_copy(update={"slack_streaming": True})
    async with app_client(settings) as client:
        slack = SlackDriver(api=client, stub=slack_stub)
        # The stand-in streams the reply and holds it halfway until released.
        anthropic_stub.reply_tool("done_for_now", {"message": ANSWER}, delay=30)
        mention = await slack.mention("is api live in staging?")
        await _until(lambda: slack_stub.calls_to("chat.startStream"))
        [start] = slack_stub.calls_to("chat.startStream")
        assert start.args["thread_ts"] == mention["ts"] and start.args["channel"] == "CDEPLOY"
        assert start.args["recipient_user_id"] == ASKER and start.args["recipient_team_id"]
        first = _text(start)
        assert first and ANSWER.startswith(first) and len(first) < len(ANSWER)
        [thread] = await slack.threads()
        assert (await slack.thread(thread["id"]))["status"] == "running"  # not complete yet

        anthropic_stub.release()
        view = await wait_for(client, thread["id"], "done")
        [stop] = await slack_stub.wait_for("chat.stopStream")
    # The stored answer is the whole message, once; the streamed text is its concatenation.
    [done] = [e for e in view["events"] if e["type"] == "done"]
    assert done["message"] == ANSWER
    pieces = [first] + [_text(c) for c in slack_stub.calls_to("chat.appendStream")]
    pieces.append(_text(stop))
    escaped = ANSWER.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    assert "".join(pieces) == escaped
    [streamed] = [m for m in slack_stub.messages if m.bot_id is not None]
    assert streamed.text == escaped and streamed.thread_ts == mention["ts"]
    kinds = [b["type"] for b in streamed.blocks]
    assert kinds == ["markdown", "context_actions"]  # the feedback buttons under it
    assert not slack_stub.calls_to("chat.postMessage")  # never posted a second time
    [sent] = [e for e in view["events"] if e["type"] == "request_sent"]
    assert sent["coordinates"] == {"channel": "CDEPLOY", "ts": streamed.ts}


async def test_where_slack_refuses_the_stream_the_answer_is_posted(
    slack_settings: Settings, anthropic_stub: AnthropicStub, slack_stub: SlackStub
) -> None:
    settings = slack_settings.model_copy(update={"slack_streaming": True})
    slack_stub.fail("chat.startStream", error="not_allowed", times=5)
    async with app_client(settings) as client:
        slack = SlackDriver(api=client, stub=slack_stub)
        anthropic_stub.reply_tool("done_for_now", {"message": ANSWER})
        await slack.mention("is api live in staging?")
        [thread] = await slack.threads()
        await wait_for(client, thread["id"], "done")
        [answer] = await slack.posted(1)
    assert answer.blocks[0] == {
        "type": "markdown",
        "text": ANSWER.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
    }
    assert len(slack_stub.calls_to("chat.startStream")) == 1
