"""ARCHITECTURE.md stays the map of the tree: every module of `bot/` and `agents/` has its line,
and every path it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import bot

ROOT = Path(bot.__file__).parents[1]
MAP = ROOT / "ARCHITECTURE.md"
LINE = re.compile(r"^- `([^`]+)` — ", re.M)
"""A map line: `- `path` — what it is`."""
ANY_AGENT = "agents/<name>/agent.py"
"""The line that stands for every agent's `agent.py`: adding an agent needs no edit here."""
ANY_OFFLINE = "agents/<name>/offline.py"
"""The line that stands for every agent's offline rules, likewise."""


def listed() -> set[str]:
    """The paths the map has a line for."""
    return set(LINE.findall(MAP.read_text(encoding="utf-8")))


def modules() -> set[str]:
    """Every module of `bot/` and `agents/`, a package by its folder (`bot/core/`)."""
    found = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("agents/**/*.py")]:
        relative = path.relative_to(ROOT).as_posix()
        found.add(relative.removesuffix("__init__.py") if path.name == "__init__.py" else relative)
    return found


def covered(module: str, lines: set[str]) -> bool:
    if module in lines:
        return True
    if not module.startswith("agents/") or module.count("/") != 2:
        return False
    return any(
        module.endswith(f"/{any_.rsplit('/', 1)[1]}") and any_ in lines
        for any_ in (ANY_AGENT, ANY_OFFLINE)
    )


def test_every_module_has_a_line() -> None:
    lines = listed()
    assert sorted(m for m in modules() if not covered(m, lines)) == []


def test_every_line_names_something_that_exists() -> None:
    assert sorted(p for p in listed() - {ANY_AGENT, ANY_OFFLINE} if not (ROOT / p).exists()) == []
