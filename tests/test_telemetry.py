"""OpenTelemetry traces (the `otel` extra) exported to memory: a Slack mention's ingest and the
worker's steps are one trace, with the model call (GenAI attributes), each tool, each delivery
and each Redis commit as spans; the human wait as an event and the decision as a span with
the decider; no message bodies. Without tracing nothing is recorded and nothing changes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from bot import telemetry
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import APPROVER, SlackDriver

PRODUCTION = {"service": "api", "version": "1.4.2", "environment": "production"}
SECRET_WORDS = "ship the secret-sauce build"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.install(provider)
    try:
        yield exporter
    finally:
        telemetry.install(None)
        provider.shutdown()


async def _until_span(exporter: InMemorySpanExporter, name: str, count: int = 1) -> None:
    for _ in range(500):
        if sum(span.name == name for span in exporter.get_finished_spans()) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"no {name} span: {[s.name for s in exporter.get_finished_spans()]}")


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_ingest_steps_and_decision_as_one_tree(
    spans: InMemorySpanExporter, slack: SlackDriver, anthropic_stub: AnthropicStub
) -> None:
    anthropic_stub.reply_tool("deploy_service", PRODUCTION | {"reason": "asked"})
    await slack.mention(f"deploy api to production, {SECRET_WORDS}")
    _, card = await slack.pending()
    await _until_span(spans, "hitlbot.advance")
    finished = list(spans.get_finished_spans())
    (ingest,) = [s for s in finished if s.name == "hitlbot.intake"]
    (advance,) = [s for s in finished if s.name == "hitlbot.advance"]
    assert advance.context.trace_id == ingest.context.trace_id  # carried through the queue
    assert advance.parent is not None and advance.parent.span_id == ingest.context.span_id
    steps = _children(finished, advance)
    assert steps and all(s.name.startswith("hitlbot.step ") for s in steps)
    under = {c.name for step in steps for c in _children(finished, step)}
    assert {"chat claude-test", "redis commit", "execute_tool list_services"} <= under
    (chat,) = [s for s in finished if s.name == "chat claude-test"]
    attributes = dict(chat.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "claude-test"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["gen_ai.response.finish_reasons"] == ("tool_use",)
    waits = [e for s in steps for e in s.events if e.name == "hitlbot.human_request"]
    assert len(waits) == 1 and dict(waits[0].attributes or {})["hitlbot.kind"] == "approval"
    await _until_span(spans, "deliver slack")

    anthropic_stub.reply_tool("done_for_now", {"message": "done"})
    spans.clear()
    assert (await slack.click(card, "approve", user=APPROVER)).status_code == 200
    await _until_span(spans, "hitlbot.advance")
    await _until_span(spans, "deliver slack")
    finished = list(spans.get_finished_spans())
    (decision,) = [s for s in finished if s.name == "hitlbot.human_decision"]
    assert dict(decision.attributes or {}) == {
        "hitlbot.request_id": dict(waits[0].attributes or {})["hitlbot.request_id"],
        "hitlbot.decider": APPROVER,
        "hitlbot.decision": "approved",
    }
    (resumed,) = [s for s in finished if s.name == "hitlbot.advance"]
    assert resumed.context.trace_id == decision.context.trace_id
    (tool,) = [s for s in finished if s.name == "execute_tool deploy_service"]
    assert tool.context.trace_id == decision.context.trace_id
    assert dict(tool.attributes or {})["gen_ai.tool.name"] == "deploy_service"

    everything = json.dumps([_attributes(s) for s in spans.get_finished_spans()])
    assert "secret-sauce" not in everything and "1.4.2" not in everything  # no bodies, no args


def _attributes(span: ReadableSpan) -> dict[str, Any]:
    return {
        "attributes": {k: str(v) for k, v in (span.attributes or {}).items()},
        "events": [{k: str(v) for k, v in (e.attributes or {}).items()} for e in span.events],
    }


def test_off_nothing_is_traced_and_jobs_carry_nothing() -> None:
    assert not telemetry.enabled()
    with telemetry.span("x", {"a": 1}) as current:
        assert current is None
        assert telemetry.carrier() == {}
    with telemetry.continued({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}):
        assert telemetry.carrier() == {}


def test_configure_needs_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not telemetry.configure() and not telemetry.enabled()
