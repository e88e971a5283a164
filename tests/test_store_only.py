"""Only `bot/store/` talks to Redis: no other module imports a Redis client, and `Deps`
hands none out (issue 19.2)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

from bot.runtime.deps import Deps

BOT = Path(__file__).parent.parent / "bot"
ALLOWED = {"bot/dev/embedded_redis.py"}  # starts a redis-server process; no client


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_no_module_outside_the_store_imports_redis() -> None:
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        name = path.relative_to(BOT.parent).as_posix()
        if name.startswith("bot/store/") or name in ALLOWED:
            continue
        if any(module == "redis" or module.startswith("redis.") for module in _imports(path)):
            offenders.append(name)
    assert offenders == []


def test_deps_hands_out_no_redis_client() -> None:
    assert "redis" not in {field.name for field in dataclasses.fields(Deps)}
