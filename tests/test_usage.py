"""Tokens and cost: each model step's usage kept on its event, summed on `GET /threads/{id}`,
priced from an overridable table, counted in `/metrics`, shown by `hitlbot show`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.config import NotConfigured, Settings
from bot.core.events import ToolCall, Usage
from bot.core.timeline import timeline
from bot.core.usage import PRICES, cost, price, totals
from bot.llm.pricing import prices
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import T0, wait_for


@pytest.fixture
def priced(settings: Settings, tmp_path: Path) -> Settings:
    """The test model priced like a Sonnet, by the operator's table."""
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"claude-test": {"input": 3, "output": 15}}))
    return settings.model_copy(update={"prices_file": str(path)})


async def test_a_threads_tokens_and_cost_are_on_its_view_and_in_metrics(
    priced: Settings, anthropic_stub: AnthropicStub
) -> None:
    settings = priced
    anthropic_stub.reply_tool("request_more_information", {"message": "Which version?"})
    async with app_client(settings) as api:
        reply = await api.post(
            "/threads", json={"agent": "deploy", "message": "deploy api", "user": "ana"}
        )
        thread_id = reply.json()["thread_id"]
        view = await wait_for(api, thread_id, "waiting_human")
        metrics = (await api.get("/metrics")).text
    billed = anthropic_stub.requests[0].cache
    assert billed is not None
    (call,) = [e for e in view["events"] if e["type"] == "tool_call" and e["usage"]]
    usage = call["usage"]
    assert usage["model"] == settings.model and usage["latency_ms"] >= 0
    assert usage["input_tokens"] == billed.input_tokens > 0 and usage["output_tokens"] > 0
    summed = view["usage"]
    assert summed["model_steps"] == 1 and summed["input_tokens"] == usage["input_tokens"]
    row = {"input": 3, "output": 15}
    expected = (usage["input_tokens"] * row["input"] + usage["output_tokens"] * row["output"]) / 1e6
    assert summed["cost_usd"] == pytest.approx(expected)
    assert summed["by_model"][settings.model]["model_steps"] == 1
    assert "usage: 1 model steps, in " in timeline(view)
    assert f"{usage['latency_ms']} ms]" in timeline(view)  # on the step's own line too
    labels = f'agent="deploy",kind="input",model="{settings.model}"'
    assert f"hitlbot_model_tokens_total{{{labels}}}" in metrics
    assert f'hitlbot_model_cost_usd_total{{agent="deploy",model="{settings.model}"}}' in metrics


def test_cache_reads_and_writes_are_priced_apart() -> None:
    usage = Usage(
        model="claude-sonnet-4-5",
        input_tokens=1_000_000,
        output_tokens=1_000_000,
        cache_read_tokens=1_000_000,
        cache_write_tokens=1_000_000,
    )
    assert cost(usage, PRICES) == pytest.approx(3 + 15 + 0.3 + 3.75)
    assert price("us.anthropic.claude-sonnet-4-5-20250929-v1:0", PRICES) == price(
        "claude-sonnet-4-5@20250929", PRICES
    )
    unknown = usage.model_copy(update={"model": "gpt-x"})
    events = [ToolCall(call_id="a", name="t", args={}, usage=u, at=T0) for u in (usage, unknown)]
    summed = totals(events, PRICES)
    assert summed.steps == 2 and summed.cost_usd is None  # never a wrong sum


def test_the_operators_prices_go_over_the_table(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"claude-sonnet-4-5": {"input": 2, "output": 10}}))
    table = prices(Settings(_env_file=None, HITLBOT_PRICES=str(path)))
    assert table["claude-sonnet-4-5"] == {"input": 2.0, "output": 10.0}
    assert price("claude-sonnet-4-5", table) == {
        "input": 2.0,
        "output": 10.0,
        "cache_write": 2.5,
        "cache_read": 0.2,
    }
    assert price("claude-sonnet-4", table) == price("claude-sonnet-4", PRICES)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"claude-x": {"inptu": 2}}))
    with pytest.raises(NotConfigured, match="'claude-x': give USD per million tokens"):
        prices(Settings(_env_file=None, HITLBOT_PRICES=str(bad)))
