"""Percentiles and the rows of the results table."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], p: float) -> float:
    """The `p`-th percentile (nearest rank) of `values`; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(values: Sequence[float]) -> str:
    """`p50 / p99` of durations in seconds, as milliseconds."""
    return f"p50 {percentile(values, 50) * 1000:.1f} ms, p99 {percentile(values, 99) * 1000:.1f} ms"


@dataclass(frozen=True)
class Row:
    """One line of the table: our figure, its baseline from the same run, and the target."""

    figure: str
    ours: str
    baseline: str
    ratio: str
    target: str

    def markdown(self) -> str:
        cells = (self.figure, self.ours, self.baseline, self.ratio, self.target)
        return "| " + " | ".join(cells) + " |"


HEADER = "| figure | hitlbot | baseline (same run) | ratio | target |\n|---|---|---|---|---|"


def table(rows: Sequence[Row]) -> str:
    """The rows as one markdown table."""
    return "\n".join([HEADER, *(row.markdown() for row in rows)])
