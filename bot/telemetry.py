"""OpenTelemetry traces, optional: `pip install hitlbot[otel]` and set
`OTEL_EXPORTER_OTLP_ENDPOINT` (the exporter and resource read the other standard `OTEL_*`
variables themselves). Off, every function here is a no-op that costs a check of one global.

A worker's job is one trace: a `hitlbot.advance` span with one `hitlbot.step` span per step,
under it the model call (`chat MODEL`, GenAI semantic conventions: model, tokens, finish
reason), each tool (`execute_tool NAME`), each delivery (`deliver CHANNEL`) and the
store's commit (the store's own span, `ThreadStore.commit_step`). The job carries the trace
context of whoever queued it (a Slack message's ingest, a human's decision) in its taskiq
labels, so the ingest and the step are one trace. A human wait shows as the step's
`hitlbot.human_request` event and the decision's `hitlbot.human_decision` span, with the
decider's id; never message bodies or arguments.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from typing import Any

CARRIER_KEY = "traceparent"
"""The label of a job that carries its W3C trace context."""

_tracer: Any = None
"""The tracer, once `configure` or `install` set one up; None: tracing is off."""


def enabled() -> bool:
    """Whether spans are recorded."""
    return _tracer is not None


def configure() -> bool:
    """Turn tracing on when `OTEL_EXPORTER_OTLP_ENDPOINT` (or its traces variant) is set and
    the `otel` extra is installed; whether it is on. Once a process."""
    if _tracer is not None:
        return True
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if not endpoint or os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        import structlog

        structlog.get_logger(__name__).warning(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the otel extra is not installed: "
            "pip install 'hitlbot[otel]'; no traces"
        )
        return False
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "hitlbot")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    install(provider)
    return True


def install(provider: Any) -> None:
    """Trace through `provider` (an SDK `TracerProvider`; tests give one with an in-memory
    exporter); None turns tracing off again."""
    global _tracer
    _tracer = None if provider is None else provider.get_tracer("hitlbot")


@contextlib.contextmanager
def span(name: str, attributes: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """A span around the block (the current span's child); None when tracing is off. An
    exception marks it failed and goes on."""
    if _tracer is None:
        yield None
        return
    with _tracer.start_as_current_span(name, attributes=_clean(attributes)) as current:
        yield current


def event(name: str, attributes: Mapping[str, Any] | None = None) -> None:
    """An event on the current span."""
    if _tracer is None:
        return
    from opentelemetry import trace

    trace.get_current_span().add_event(name, _clean(attributes))


def annotate(current: Any, attributes: Mapping[str, Any]) -> None:
    """Set attributes on `current` (a span from `span`, or None)."""
    if current is not None:
        current.set_attributes(_clean(attributes))


def carrier() -> dict[str, str]:
    """The current trace context as job labels (empty when tracing is off)."""
    if _tracer is None:
        return {}
    from opentelemetry.propagate import inject

    found: dict[str, str] = {}
    inject(found)
    return {CARRIER_KEY: found[CARRIER_KEY]} if CARRIER_KEY in found else {}


@contextlib.contextmanager
def continued(labels: Mapping[str, Any] | None) -> Iterator[None]:
    """Run the block in the trace context a job's labels carry, if any."""
    value = (labels or {}).get(CARRIER_KEY)
    if _tracer is None or not isinstance(value, str):
        yield
        return
    from opentelemetry import context
    from opentelemetry.propagate import extract

    token = context.attach(extract({CARRIER_KEY: value}))
    try:
        yield
    finally:
        context.detach(token)


def decision(answer: Any) -> dict[str, Any]:
    """A human's decision as span attributes: which request, who, what (never the words)."""
    said = "answered" if answer.approved is None else "rejected"
    if answer.approved:
        said = "approved"
    return {
        "hitlbot.request_id": answer.request_id,
        "hitlbot.decider": answer.user,
        "hitlbot.decision": said,
    }


def _clean(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """Attributes OpenTelemetry takes: no None values."""
    return {key: value for key, value in (attributes or {}).items() if value is not None}
