"""Claude's answer read from its JSON (`read_body`) says what the SDK's models say of it."""

from __future__ import annotations

import anthropic
import pytest

from bot.core.model import LLMFatal, ModelOutputError
from bot.llm.claude import AnthropicModel, read_body, read_reply, usage_of
from bot.standins.anthropic_stub import AnthropicStub

TOOLS = [
    {
        "name": "deploy_service",
        "description": "Deploy a service.",
        "input_schema": {"type": "object", "properties": {"service": {"type": "string"}}},
    }
]


async def test_the_one_tool_call_and_its_usage_as_the_sdk_reads_them(
    anthropic_stub: AnthropicStub,
) -> None:
    anthropic_stub.reply_tool("deploy_service", {"service": "api", "reason": "asked"})
    model = AnthropicModel(anthropic.AsyncAnthropic(), "claude-test", 1000)
    try:
        call = await model.next_call(system="You deploy.", context="deploy api", tools=TOOLS)
    finally:
        await model.aclose()
    assert call.name == "deploy_service" and call.args == {"service": "api", "reason": "asked"}
    assert call.stop_reason == "tool_use"
    # The same answer through the SDK's models: the same call, the same usage.
    anthropic_stub.reply_tool("deploy_service", {"service": "api", "reason": "asked"})
    async with anthropic.AsyncAnthropic() as client:
        raw = await client.messages.with_raw_response.create(
            model="claude-test",
            max_tokens=1000,
            messages=[{"role": "user", "content": "deploy api"}],
            tools=TOOLS,  # type: ignore[arg-type]
        )
        body = await raw.read()
        message = await raw.parse()
    ours = read_body(body, "claude-test", 0.0)
    sdks = read_reply(message, usage_of(message, "claude-test", 0.0))
    assert ours.usage is not None and sdks.usage is not None
    assert ours.usage.input_tokens > 0 and ours.usage.output_tokens > 0
    latency = {"latency_ms"}
    assert ours.usage.model_dump(exclude=latency) == sdks.usage.model_dump(exclude=latency)
    assert (ours.name, ours.args, ours.stop_reason) == (sdks.name, sdks.args, sdks.stop_reason)


async def test_an_answer_without_a_tool_call_is_the_models_error_with_its_usage(
    anthropic_stub: AnthropicStub,
) -> None:
    anthropic_stub.reply_text("I would rather chat.")
    model = AnthropicModel(anthropic.AsyncAnthropic(), "claude-test", 1000)
    try:
        with pytest.raises(ModelOutputError, match="exactly one tool call, got 0") as caught:
            await model.next_call(system="You deploy.", context="deploy api", tools=TOOLS)
    finally:
        await model.aclose()
    assert caught.value.usage is not None and caught.value.usage.input_tokens > 0


@pytest.mark.parametrize("body", [b"<html>busy</html>", b'["not", "a", "message"]'])
def test_an_answer_that_is_not_a_message_is_refused_plainly(body: bytes) -> None:
    with pytest.raises(LLMFatal, match="the Messages API's answer is not"):
        read_body(body, "claude-test", 0.0)
