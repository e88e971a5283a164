"""The Anthropic stub, driven by the real SDK over a real socket on 127.0.0.1."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam, TextBlock, ToolParam, ToolUseBlock

from bot.standins.anthropic_stub import AnthropicStub, TextReply, ToolReply

MODEL = "claude-test"
HELLO: list[MessageParam] = [{"role": "user", "content": "hello"}]
LOOKUP_TOOL: ToolParam = {
    "name": "lookup",
    "description": "Look something up.",
    "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}},
}


@pytest.fixture
async def stub() -> AsyncIterator[AnthropicStub]:
    async with AnthropicStub() as running:
        yield running


@pytest.fixture
async def client(stub: AnthropicStub) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(
        base_url=stub.base_url, api_key="test", max_retries=0
    ) as sdk:
        yield sdk


async def test_base_url_is_local_and_needs_start() -> None:
    stub = AnthropicStub()
    with pytest.raises(RuntimeError):
        _ = stub.base_url
    async with stub:
        assert stub.base_url.startswith("http://127.0.0.1:")


async def test_tool_reply_parses_into_tool_use_block(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    stub.reply_tool("lookup", {"q": "weather"}, id="toolu_fixed")

    message = await client.messages.create(
        model=MODEL, max_tokens=100, messages=HELLO, tools=[LOOKUP_TOOL]
    )

    assert message.stop_reason == "tool_use"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    [block] = message.content
    assert isinstance(block, ToolUseBlock)
    assert (block.id, block.name, block.input) == ("toolu_fixed", "lookup", {"q": "weather"})
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    [seen] = stub.requests
    assert seen.body["tools"] == [LOOKUP_TOOL]
    assert seen.body["messages"] == HELLO
    # SDK 2.x sends the api key as a bearer token, not x-api-key.
    assert seen.headers["authorization"] == "Bearer test"
    assert "anthropic-version" in seen.headers
    assert stub.calls == 1 and stub.pending == 0


async def test_tool_reply_with_preamble_text(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    stub.reply_tool("lookup", {}, text="Let me check.")

    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    text, tool = message.content
    assert isinstance(text, TextBlock) and text.text == "Let me check."
    assert isinstance(tool, ToolUseBlock) and tool.id.startswith("toolu_")


async def test_text_reply(stub: AnthropicStub, client: anthropic.AsyncAnthropic) -> None:
    stub.reply_text("All done.")

    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    [block] = message.content
    assert isinstance(block, TextBlock) and block.text == "All done."


async def test_replies_play_in_order(stub: AnthropicStub, client: anthropic.AsyncAnthropic) -> None:
    stub.reply_tool("first", {})
    stub.reply_text("second")

    one = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
    two = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert one.stop_reason == "tool_use" and two.stop_reason == "end_turn"


async def test_unknown_tool_is_played_despite_tool_choice(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    stub.reply_tool("not_offered", {"x": 1})

    message = await client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=HELLO,
        tools=[LOOKUP_TOOL],
        tool_choice={"type": "tool", "name": "lookup"},
    )

    [block] = message.content
    assert isinstance(block, ToolUseBlock) and block.name == "not_offered"


async def test_rate_limit_is_retried_after_retry_after(stub: AnthropicStub) -> None:
    stub.fail(429, retry_after=0.01)
    stub.reply_text("made it")

    async with anthropic.AsyncAnthropic(
        base_url=stub.base_url, api_key="test", max_retries=2
    ) as sdk:
        message = await sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert isinstance(message.content[0], TextBlock)
    assert stub.calls == 2
    assert [r.headers["x-stainless-retry-count"] for r in stub.requests] == ["0", "1"]


async def test_overloaded_raises_without_retries(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    stub.fail(529, message="Overloaded")

    with pytest.raises(anthropic.OverloadedError) as caught:
        await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert isinstance(caught.value, anthropic.InternalServerError)
    assert caught.value.type == "overloaded_error"
    assert caught.value.api_message == "Overloaded"
    assert caught.value.request_id is not None and caught.value.request_id.startswith("req_")


@pytest.mark.parametrize(
    ("status", "error", "sdk_error"),
    [
        (400, "invalid_request_error", anthropic.BadRequestError),
        (401, "authentication_error", anthropic.AuthenticationError),
        (429, "rate_limit_error", anthropic.RateLimitError),
        (500, "api_error", anthropic.InternalServerError),
    ],
)
async def test_error_types_follow_the_status(
    stub: AnthropicStub,
    client: anthropic.AsyncAnthropic,
    status: int,
    error: str,
    sdk_error: type[anthropic.APIStatusError],
) -> None:
    stub.fail(status)

    with pytest.raises(sdk_error) as caught:
        await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert caught.value.status_code == status
    assert caught.value.body is not None
    assert caught.value.type == error


async def test_fail_times_queues_several_errors(stub: AnthropicStub) -> None:
    stub.fail(500, times=2, retry_after=0.01)
    stub.reply_text("third time lucky")

    async with anthropic.AsyncAnthropic(
        base_url=stub.base_url, api_key="test", max_retries=2
    ) as sdk:
        await sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert stub.calls == 3


GOOD_HEADERS = {"x-api-key": "test", "anthropic-version": "2023-06-01"}
GOOD_BODY: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": HELLO}


def _body(drop: str | None = None, **changes: Any) -> bytes:
    body = {key: value for key, value in GOOD_BODY.items() if key != drop}
    return json.dumps({**body, **changes}).encode()


async def _post(stub: AnthropicStub, content: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=stub.base_url) as http:
        return await http.post("/v1/messages", content=content, headers=headers)


def _assert_error(response: httpx.Response, status: int, error: str, mentions: str) -> None:
    assert response.status_code == status
    envelope = response.json()
    assert envelope["type"] == "error"
    assert envelope["error"]["type"] == error
    assert mentions in envelope["error"]["message"]
    assert response.headers["request-id"].startswith("req_")


@pytest.mark.parametrize(
    ("content", "mentions"),
    [
        (b"{not json", "JSON"),
        (b"[1, 2]", "JSON"),
        (_body(drop="model"), "model"),
        (_body(model=5), "model"),
        (_body(drop="max_tokens"), "max_tokens"),
        (_body(max_tokens=0), "max_tokens"),
        (_body(max_tokens="5"), "max_tokens"),
        (_body(drop="messages"), "messages"),
        (_body(messages=[]), "messages"),
        (_body(messages=[{"role": "bot", "content": "x"}]), "messages.0.role"),
        (_body(messages=[{"role": "user"}]), "messages.0.content"),
    ],
)
async def test_invalid_bodies_are_rejected_like_the_api(
    stub: AnthropicStub, content: bytes, mentions: str
) -> None:
    stub.reply_text("kept for a valid request")

    response = await _post(stub, content, GOOD_HEADERS)

    _assert_error(response, 400, "invalid_request_error", mentions)
    # Rejected requests are recorded but leave the script alone.
    assert stub.calls == 1 and stub.pending == 1


async def test_missing_api_key_is_401(stub: AnthropicStub) -> None:
    response = await _post(stub, _body(), {"anthropic-version": "2023-06-01"})

    _assert_error(response, 401, "authentication_error", "x-api-key")


async def test_missing_version_header_is_400(stub: AnthropicStub) -> None:
    response = await _post(stub, _body(), {"x-api-key": "test"})

    _assert_error(response, 400, "invalid_request_error", "anthropic-version")


async def test_valid_request_with_x_api_key_is_accepted(stub: AnthropicStub) -> None:
    stub.reply_text("hi")

    response = await _post(stub, _body(), GOOD_HEADERS)

    assert response.status_code == 200
    assert response.json()["content"] == [{"type": "text", "text": "hi"}]


async def test_a_streamed_reply_is_the_same_message_as_events(stub: AnthropicStub) -> None:
    stub.reply_tool("done_for_now", {"message": "all good: api is live"}, text="Done.")
    async with anthropic.AsyncAnthropic(base_url=stub.base_url, api_key="test") as sdk:
        async with sdk.messages.stream(model=MODEL, max_tokens=100, messages=HELLO) as events:
            kinds = [event.type async for event in events]
            message = await events.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("input_json") > 1  # the arguments arrive in pieces
    assert message.stop_reason == "tool_use" and message.content[0].type == "text"
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert call.name == "done_for_now" and call.input == {"message": "all good: api is live"}
    assert stub.requests[0].body["stream"] is True


async def test_empty_queue_fails_loudly_and_is_not_retried(stub: AnthropicStub) -> None:
    async with anthropic.AsyncAnthropic(
        base_url=stub.base_url, api_key="test", max_retries=2
    ) as sdk:
        with pytest.raises(anthropic.InternalServerError) as caught:
            await sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert caught.value.type == "api_error"
    assert "no scripted reply" in (caught.value.api_message or "")
    assert stub.calls == 1


async def test_responder_answers_when_the_queue_is_empty(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    def first_tool_offered(body: dict[str, Any]) -> ToolReply | TextReply:
        tools = body.get("tools", [])
        return ToolReply(name=tools[0]["name"], input={}) if tools else TextReply(text="none")

    stub.responder = first_tool_offered
    stub.reply_text("queued first")

    queued = await client.messages.create(
        model=MODEL, max_tokens=100, messages=HELLO, tools=[LOOKUP_TOOL]
    )
    computed = await client.messages.create(
        model=MODEL, max_tokens=100, messages=HELLO, tools=[LOOKUP_TOOL]
    )
    plain = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert isinstance(queued.content[0], TextBlock)
    assert isinstance(computed.content[0], ToolUseBlock)
    assert computed.content[0].name == "lookup"
    assert isinstance(plain.content[0], TextBlock) and plain.content[0].text == "none"


async def test_responder_errors_reach_the_client(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    def broken(body: dict[str, Any]) -> TextReply:
        raise KeyError("tools")

    stub.responder = broken

    with pytest.raises(anthropic.InternalServerError, match="responder raised KeyError"):
        await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)


async def test_delay_trips_the_sdk_timeout_and_does_not_hold_up_stop() -> None:
    async with AnthropicStub() as stub:
        stub.reply_text("too late", delay=30)
        async with anthropic.AsyncAnthropic(
            base_url=stub.base_url, api_key="test", max_retries=0, timeout=0.2
        ) as sdk:
            with pytest.raises(anthropic.APITimeoutError):
                await sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
        started_stopping = time.monotonic()

    assert time.monotonic() - started_stopping < 5
    assert stub.calls == 1


async def test_short_delay_still_answers(
    stub: AnthropicStub, client: anthropic.AsyncAnthropic
) -> None:
    stub.reply_text("slow", delay=0.1)
    started = time.monotonic()

    message = await client.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert time.monotonic() - started >= 0.1
    assert isinstance(message.content[0], TextBlock)


def test_run_in_thread_serves_sync_code() -> None:
    with AnthropicStub.run_in_thread() as stub:
        stub.reply_tool("lookup", {"q": "sync"})
        stub.fail(429, retry_after=0.01)
        stub.reply_text("done")
        with anthropic.Anthropic(base_url=stub.base_url, api_key="test", max_retries=1) as sdk:
            first = sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)
            second = sdk.messages.create(model=MODEL, max_tokens=100, messages=HELLO)

    assert isinstance(first.content[0], ToolUseBlock)
    assert first.content[0].input == {"q": "sync"}
    assert isinstance(second.content[0], TextBlock)
    assert stub.calls == 3
