"""The tree keeps its design: the core is pure and reads no clock of its own; no import circle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

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
STAMP_DEFAULT = {("events.py", "utcnow")}
"""The one place the core reads the clock: the stamp of an event (or thread) built without
one, its field's default. Everything the core decides takes `now` from its caller."""

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
    """(file, line, what) of every read of a clock in module `name`, outside `STAMP_DEFAULT`."""
    tree = ast.parse(source)
    skipped = {
        line
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and (name, node.name) in STAMP_DEFAULT
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    return [
        (name, node.lineno, f"{node.value.id}.{node.attr}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and (node.value.id, node.attr) in CLOCKS
        and node.lineno not in skipped
    ]


def test_the_core_reads_no_clock_but_the_default_stamp() -> None:
    reads = [
        read
        for path in sorted(CORE.glob("*.py"))
        for read in clock_reads(path.read_text(encoding="utf-8"), path.name)
    ]
    assert reads == []


def test_the_clock_check_sees_a_clock() -> None:
    source = "import time\n\n\ndef f() -> float:\n    return time.time()\n"
    assert clock_reads(source, "probe.py") == [("probe.py", 5, "time.time")]
    assert clock_reads(source.replace("def f", "def utcnow"), "events.py") == []


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
