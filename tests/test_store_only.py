"""Only `bot/store/` talks to Redis: no other module imports a Redis client, `Deps` hands none
out (issue 19.2), and `grep -rn redis bot --include=*.py` finds nothing outside the store and
the wiring that builds its connection (issue 19, "Done means")."""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Collection, Iterator
from pathlib import Path

from bot.runtime.deps import Deps

BOT = Path(__file__).parent.parent / "bot"
ALLOWED = {"bot/dev/embedded_redis.py"}  # starts a redis-server process; no client
WIRING = {
    "bot/config.py": "the settings: REDIS_URL, HITLBOT_REDIS_*",
    "bot/runtime/wiring.py": "builds the connection, its pool and the store's parts",
    "bot/dev/embedded_redis.py": "starts a private redis-server process",
    "bot/dev/server.py": "`hitlbot dev`'s wiring: the private server or REDIS_URL, its banner",
}
"""The only modules outside `bot/store/` that may say `redis` at all, and why."""


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _outside(allowed: Collection[str]) -> Iterator[tuple[str, Path]]:
    """Every module outside `bot/store/` and `allowed`: its name and path."""
    for path in sorted(BOT.rglob("*.py")):
        name = path.relative_to(BOT.parent).as_posix()
        if not name.startswith("bot/store/") and name not in allowed:
            yield name, path


def test_no_module_outside_the_store_imports_redis() -> None:
    offenders = [
        name
        for name, path in _outside(ALLOWED)
        if any(module == "redis" or module.startswith("redis.") for module in _imports(path))
    ]
    assert offenders == []


def test_deps_hands_out_no_redis_client() -> None:
    assert "redis" not in {field.name for field in dataclasses.fields(Deps)}


def test_only_the_store_and_the_wiring_say_redis() -> None:
    offenders = []
    for name, path in _outside(WIRING):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "redis" in line:  # as `grep -rn redis` matches: lower case
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert offenders == []


def test_each_wiring_module_still_needs_its_place() -> None:
    for name in WIRING:
        assert "redis" in (BOT.parent / name).read_text(encoding="utf-8"), name
