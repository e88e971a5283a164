"""Prometheus metrics, served at `/metrics`."""

from prometheus_client import Counter, Gauge, Histogram

from bot.core.events import Usage

LAUNCHES = Counter("hitlbot_launches", "Threads launched", ["agent", "channel"])
RESPONSES = Counter("hitlbot_human_responses", "Human responses recorded", ["kind"])
EVENTS = Counter("hitlbot_events", "Events committed by workers", ["type"])
STEP_SECONDS = Histogram("hitlbot_step_seconds", "Time of one loop action", ["action"])
LLM_RETRIES = Counter("hitlbot_llm_retries", "Thread-level retries of an unavailable model")
JOBS = Counter("hitlbot_jobs", "Step jobs a worker finished", ["outcome"])
DELIVERY_PROBLEMS = Counter(
    "hitlbot_delivery_problems", "Outbound sends that failed", ["channel", "outcome"]
)
FEEDBACK = Counter("hitlbot_feedback", "Thumbs up or down on answers", ["agent", "rating"])
CANCELS = Counter("hitlbot_cancels", "Threads cancelled", ["via"])
PENDING = Gauge(
    "hitlbot_pending_requests",
    "Requests waiting on a human, by agent, kind and age (set at each scrape)",
    ["agent", "kind", "age"],
)
MODEL_TOKENS = Counter(
    "hitlbot_model_tokens",
    "Tokens of model steps, by how they are billed (input, output, cache_read, cache_write)",
    ["agent", "model", "kind"],
)
MODEL_COST = Counter(
    "hitlbot_model_cost_usd", "Estimated cost of model steps (HITLBOT_PRICES)", ["agent", "model"]
)
MODEL_SECONDS = Histogram("hitlbot_model_seconds", "Time of one model request", ["agent", "model"])


def model_step(agent: str, usage: Usage, cost: float | None) -> None:
    """Count one model step's usage."""
    for kind, tokens in (
        ("input", usage.input_tokens),
        ("output", usage.output_tokens),
        ("cache_read", usage.cache_read_tokens),
        ("cache_write", usage.cache_write_tokens),
    ):
        MODEL_TOKENS.labels(agent, usage.model, kind).inc(tokens)
    if cost is not None:
        MODEL_COST.labels(agent, usage.model).inc(cost)
    MODEL_SECONDS.labels(agent, usage.model).observe(usage.latency_ms / 1000)
