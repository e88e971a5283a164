"""What a thread's model steps cost: their tokens summed, and priced (pure).

Each model step keeps its `Usage` on the event it made (a `tool_call`, or the `error` of a
wrong answer); a thread's usage is their sum, per model and in all. Prices are USD per million
tokens by model-id prefix; a cache write costs 1.25 times the input price and a cache read a
tenth of it unless a price says otherwise. The operator's table (`HITLBOT_PRICES`) goes over
the built-in one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.core.events import Error, Event, ToolCall, Usage

PRICES: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "claude-opus-4-0": MappingProxyType({"input": 15.0, "output": 75.0}),
        "claude-opus-4-1": MappingProxyType({"input": 15.0, "output": 75.0}),
        "claude-3-opus": MappingProxyType({"input": 15.0, "output": 75.0}),
        "claude-opus": MappingProxyType({"input": 5.0, "output": 25.0}),
        "claude-sonnet": MappingProxyType({"input": 3.0, "output": 15.0}),
        "claude-3-5-sonnet": MappingProxyType({"input": 3.0, "output": 15.0}),
        "claude-3-7-sonnet": MappingProxyType({"input": 3.0, "output": 15.0}),
        "claude-3-5-haiku": MappingProxyType({"input": 0.8, "output": 4.0}),
        "claude-3-haiku": MappingProxyType({"input": 0.25, "output": 1.25}),
        "claude-haiku": MappingProxyType({"input": 1.0, "output": 5.0}),
    }
)
"""USD per million tokens, by model-id prefix (the longest matching prefix wins), as
Anthropic lists them; `cache_write` and `cache_read` default to 1.25x and 0.1x `input`."""
CACHE_WRITE = 1.25
CACHE_READ = 0.1


def usage_of(event: Event) -> Usage | None:
    """The usage a model step kept on `event`, if it is one."""
    if isinstance(event, ToolCall | Error):
        return event.usage
    return None


def price(model: str, prices: Mapping[str, Mapping[str, float]]) -> dict[str, float] | None:
    """USD per million tokens of `model` (`input`, `output`, `cache_write`, `cache_read`);
    None for a model the table does not know. A cloud's id (`us.anthropic.claude-...`,
    `claude-...@2025...`) is matched from its `claude` on."""
    name = model[model.find("claude") :] if "claude" in model else model
    found = [key for key in prices if name.startswith(key)]
    if not found:
        return None
    row = prices[max(found, key=len)]
    base = float(row.get("input", 0.0))
    return {
        "input": base,
        "output": float(row.get("output", 0.0)),
        "cache_write": float(row.get("cache_write", base * CACHE_WRITE)),
        "cache_read": float(row.get("cache_read", base * CACHE_READ)),
    }


@dataclass
class Totals:
    """Usage summed over model steps."""

    steps: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_ms: int = 0
    cost_usd: float | None = 0.0
    """None when a model's price is unknown."""
    by_model: dict[str, Totals] = field(default_factory=dict)

    def add(self, usage: Usage, cost: float | None) -> None:
        self.steps += 1
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cache_read_tokens += usage.cache_read_tokens
        self.cache_write_tokens += usage.cache_write_tokens
        self.latency_ms += usage.latency_ms
        self.cost_usd = None if cost is None or self.cost_usd is None else self.cost_usd + cost

    def view(self) -> dict[str, Any]:
        """As `GET /threads/{id}` shows it."""
        view: dict[str, Any] = {
            "model_steps": self.steps,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "latency_ms": self.latency_ms,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
        }
        if self.by_model:
            view["by_model"] = {name: t.view() for name, t in self.by_model.items()}
        return view


def cost(usage: Usage, prices: Mapping[str, Mapping[str, float]]) -> float | None:
    """USD of one step, or None for an unknown model."""
    row = price(usage.model, prices)
    if row is None:
        return None
    return (
        usage.input_tokens * row["input"]
        + usage.output_tokens * row["output"]
        + usage.cache_write_tokens * row["cache_write"]
        + usage.cache_read_tokens * row["cache_read"]
    ) / 1_000_000


def totals(events: Iterable[Event], prices: Mapping[str, Mapping[str, float]]) -> Totals:
    """A thread's usage, in all and per model."""
    total = Totals()
    for event in events:
        usage = usage_of(event)
        if usage is None:
            continue
        step = cost(usage, prices)
        total.add(usage, step)
        total.by_model.setdefault(usage.model, Totals()).add(usage, step)
    return total
