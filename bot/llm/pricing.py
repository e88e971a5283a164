"""The price table: the built-in one (`bot.core.usage.PRICES`) with the operator's
`HITLBOT_PRICES` file over it, read once a process (a bad file stops the start, saying why)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bot.config import NotConfigured, Settings
from bot.core.usage import PRICES

Prices = dict[str, dict[str, float]]
FIELDS = frozenset({"input", "output", "cache_write", "cache_read"})


def prices(settings: Settings) -> Prices:
    """The table for `settings`."""
    return _load(settings.prices_file)


@cache
def _load(path: str | None) -> Prices:
    table = {model: dict(row) for model, row in PRICES.items()}
    if not path:
        return table
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NotConfigured(f"HITLBOT_PRICES={path}: cannot read it as JSON: {exc}") from None
    if not isinstance(data, dict):
        raise NotConfigured(f'HITLBOT_PRICES={path}: expected {{"model-prefix": {{"input": 3}}}}')
    for model, row in data.items():
        if not isinstance(row, dict) or not row or set(row) - FIELDS:
            raise NotConfigured(
                f"HITLBOT_PRICES={path}: {model!r}: give USD per million tokens for "
                f"{', '.join(sorted(FIELDS))}"
            )
        if not all(isinstance(v, int | float) and v >= 0 for v in row.values()):
            raise NotConfigured(f"HITLBOT_PRICES={path}: {model!r}: prices are numbers >= 0")
        table[model] = {key: float(value) for key, value in row.items()}
    return table
