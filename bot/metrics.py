"""Prometheus metrics, served at `/metrics`."""

from prometheus_client import Counter, Histogram

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
