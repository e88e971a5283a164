"""The tree keeps its design: the core is pure, reads no clock and keeps no module-level
mutable state; no import circle."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import json
import subprocess
import sys
import types
import typing
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, TypeAdapter

import bot.core

ROOT = Path(bot.core.__file__).parents[2]

CORE = Path(bot.core.__file__).parent
IO_LIBRARIES = {
    "redis",
    "slack_sdk",
    "slack_bolt",
    "httpx",
    "aiohttp",
    "anthropic",
    "taskiq",
    "taskiq_redis",
    "mcp",
    "aiosmtplib",
    "aiosmtpd",
    "fastapi",
    "starlette",
    "uvicorn",
}
"""What does IO (or serves it); the core imports none of them, even indirectly."""
OUTSIDE_ALLOWED = {"bot", "bot.mcp", "bot.mcp.source"}
"""The only modules of `bot` outside the core it may import: an MCP server's declaration is
plain data an `Agent` holds (`bot.mcp.source` imports nothing but the core's policy)."""
CLOCKS = {("time", "time"), ("time", "monotonic"), ("time", "perf_counter")}
CLOCKS |= {("datetime", "now"), ("datetime", "utcnow"), ("date", "today")}
"""Every clock the core never reads: whatever it decides or stamps takes `now` from its caller."""

_PROBE = """
import importlib, json, pkgutil, sys
import bot.core
for found in pkgutil.iter_modules(bot.core.__path__, "bot.core."):
    importlib.import_module(found.name)
print(json.dumps(sorted(sys.modules)))
"""


def core_imports() -> set[str]:
    """Every module loaded by importing the whole core, in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return set(json.loads(out))


def test_the_core_imports_no_io_library_and_no_shell_module() -> None:
    loaded = core_imports()
    assert {name.split(".")[0] for name in loaded} & IO_LIBRARIES == set()
    ours = {name for name in loaded if name == "bot" or name.startswith("bot.")}
    assert {name for name in ours if not name.startswith("bot.core")} <= OUTSIDE_ALLOWED


def clock_reads(source: str, name: str) -> list[tuple[str, int, str]]:
    """(file, line, what) of every read of a clock in module `name`."""
    return [
        (name, node.lineno, f"{node.value.id}.{node.attr}")
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id, node.attr) in CLOCKS
    ]


def test_the_core_reads_no_clock() -> None:
    reads = [
        read
        for path in sorted(CORE.glob("*.py"))
        for read in clock_reads(path.read_text(encoding="utf-8"), path.name)
    ]
    assert reads == []


def test_the_clock_check_sees_a_clock() -> None:
    source = "import time\n\n\ndef f() -> float:\n    return time.time()\n"
    assert clock_reads(source, "probe.py") == [("probe.py", 5, "time.time")]
    # A default stamp is a clock read too (events are given their time).
    stamp = "def utcnow() -> datetime:\n    return datetime.now(UTC)\n"
    assert clock_reads(stamp, "events.py") == [("events.py", 2, "datetime.now")]


IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), type, range)
IMMUTABLE += (types.FunctionType, types.BuiltinFunctionType, types.ModuleType)
IMMUTABLE += (typing.TypeVar, types.GenericAlias, types.UnionType, TypeAdapter)
"""Values a module may hold at its top level: they cannot change (a `TypeAdapter` is a schema
compiled once); type aliases, tuples, frozensets and `MappingProxyType`s of them, and
instances of frozen dataclasses and frozen pydantic models, too."""


def immutable(value: object) -> bool:
    """Whether `value` can never change (as far as its type says)."""
    if isinstance(value, IMMUTABLE) or type(value).__module__ == "typing":  # an alias
        return True
    if isinstance(value, tuple | frozenset):
        return all(immutable(item) for item in value)
    if isinstance(value, types.MappingProxyType):
        return all(immutable(item) for item in value.values())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return bool(value.__dataclass_params__.frozen)  # type: ignore[attr-defined]
    if isinstance(value, BaseModel):
        return bool(value.model_config.get("frozen"))
    return False


def mutable_state(
    source: str, name: str, namespace: Mapping[str, object] | None = None
) -> list[tuple[str, int, str]]:
    """(file, line, what) of every module-level name of module `name` that holds something
    mutable (a dict, a list, a cache, an instance of a class that is not frozen), and of every
    `global` statement (a function rebinding module state). `namespace`: the module's globals
    once imported (default: `source` run in a fresh one)."""
    tree = ast.parse(source)
    if namespace is None:
        namespace = {}
        exec(compile(tree, name, "exec"), namespace)  # the probe's own source
    found = []
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Name):
                value = namespace.get(target.id)
                if not immutable(value):
                    found.append((name, node.lineno, f"{target.id}: {type(value).__name__}"))
    found += [
        (name, node.lineno, f"global {', '.join(node.names)}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Global)
    ]
    return found


def test_the_core_keeps_no_module_level_mutable_state() -> None:
    """No cache, registry or counter hides in the core: what it keeps between calls is an
    object the shell builds and passes in (`bot.core.context.ContextCache`)."""
    found = []
    for path in sorted(CORE.glob("*.py")):
        module = importlib.import_module(
            f"bot.core.{path.stem}" if path.stem != "__init__" else "bot.core"
        )
        found += mutable_state(path.read_text(encoding="utf-8"), path.name, vars(module))
    assert found == []


def test_the_state_check_sees_mutable_state() -> None:
    probe = (
        "from types import MappingProxyType\n"
        "from bot.core.lru import Lru\n"
        "LIMIT = 3\n"
        "NAMES = ('a', 'b')\n"
        "TABLE = MappingProxyType({'a': 1})\n"
        "Pair = tuple[int, int] | None\n"
        "_seen: dict[str, int] = {}\n"
        "CACHE = Lru(LIMIT)\n"
        "TABLES = MappingProxyType({'a': []})\n"
        "def bump() -> None:\n"
        "    global LIMIT\n"
        "    LIMIT += 1\n"
    )
    assert mutable_state(probe, "probe.py") == [
        ("probe.py", 7, "_seen: dict"),
        ("probe.py", 8, "CACHE: Lru"),
        ("probe.py", 9, "TABLES: mappingproxy"),
        ("probe.py", 11, "global LIMIT"),
    ]


def our_modules() -> dict[str, Path]:
    """Every module of `bot` and `agents`, by dotted name."""
    found = {}
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("agents/**/*.py")]:
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours `path` imports at its top level, `if TYPE_CHECKING:` blocks too (a
    circle of type-only imports is a circle of concepts all the same)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    whole = f"{node.module}.{alias.name}"
                    found.add(whole if whole in modules else node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.If | ast.Try):
                visit(node.body)

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return {name for name in found if name in modules}


def on_circles(graph: dict[str, set[str]]) -> list[str]:
    """The modules that import themselves through others, sorted."""

    def reachable(start: str) -> set[str]:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            node = todo.pop()
            if node not in seen:
                seen.add(node)
                todo.extend(graph[node])
        return seen

    return sorted(node for node in graph if node in reachable(node))


def test_no_import_circle_among_our_modules() -> None:
    modules = our_modules()
    graph = {name: imports_of(path, modules) - {name} for name, path in modules.items()}
    assert on_circles(graph) == []


def test_the_circle_check_sees_a_circle() -> None:
    assert on_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c"]
