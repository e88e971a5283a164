"""The guide "Write your own agent" (docs/write-your-own-agent.md) works as written: each of its
code blocks marked with a file name is written to a folder outside the tree, linted, found by
discovery, played offline, scripted, and its own tests pass."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hitlbot_agents
from bot.runtime.discovery import find
from bot.standins.harness import hitlbot

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "write-your-own-agent.md"
_BLOCK = re.compile(r"^```(\w+) file=(\S+)\n(.*?)^```$", re.M | re.S)


def blocks() -> dict[str, str]:
    """The guide's file blocks, by file name."""
    return {name: body for _, name, body in _BLOCK.findall(GUIDE.read_text(encoding="utf-8"))}


@pytest.fixture
def written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(hitlbot_agents, "__path__", list(hitlbot_agents.__path__))
    for name, body in blocks().items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("hitlbot_agents.tickets")]:
        del sys.modules[name]


def test_the_guide_is_linked_from_the_readme_s_first_screen() -> None:
    first_screen = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:40])
    assert "docs/write-your-own-agent.md" in first_screen


def test_the_guide_s_files_are_there_and_lint_clean(written: Path) -> None:
    assert set(blocks()) == {
        "tickets/agent.py",
        "tickets/prompt.md",
        "tickets/offline.py",
        "tickets/tests/test_tickets.py",
        "script.yaml",
    }
    lint = [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml")]
    # From the team's own folder, where `bot` is an installed package, as for a user.
    checked = subprocess.run([*lint, "tickets"], capture_output=True, text=True, cwd=written)
    assert checked.returncode == 0, checked.stdout
    found = find(hitlbot_agents, [written])
    assert "tickets" in found.agents and "tickets" in found.rules


async def test_the_guide_s_own_tests_pass(written: Path) -> None:
    file = written / "tickets" / "tests" / "test_tickets.py"
    spec = importlib.util.spec_from_file_location("guide_test_tickets", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tests = [getattr(module, name) for name in dir(module) if name.startswith("test_")]
    assert len(tests) == 3
    for test in tests:
        await test()


async def test_the_guide_s_script_plays(written: Path) -> None:
    script = written / "script.yaml"
    async with hitlbot(agent_paths=[written], HITLBOT_OFFLINE_SCRIPT=str(script)) as bot:
        view = await bot.settled(await bot.launch("tickets", "hello"))
    assert view["events"][-1]["message"] == "T-2: the coffee machine is empty."
