"""`hitlbot new agent`: a working agent folder outside the tree; any agent runs offline, by its
own rules, the scripted default, or replies scripted in a file."""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hitlbot_agents
from bot.cli import app
from bot.runtime.wiring import StartupError
from bot.standins.harness import TOKEN, hitlbot

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def mine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A team's own folder of agents, outside hitlbot's tree; discovery's traces undone after."""
    monkeypatch.setattr(hitlbot_agents, "__path__", list(hitlbot_agents.__path__))
    monkeypatch.chdir(tmp_path)
    yield tmp_path / "my-agents"
    for name in [name for name in sys.modules if name.startswith("hitlbot_agents.inventory")]:
        del sys.modules[name]


def new_agent(root: Path, name: str = "inventory") -> str:
    result = CliRunner().invoke(app, ["new", "agent", name, "--dir", str(root)])
    assert result.exit_code == 0, result.output
    return result.output


def test_it_writes_an_agent_folder_that_passes_the_project_s_lint(mine: Path) -> None:
    output = new_agent(mine)
    folder = mine / "inventory"
    for part in ("agent.py", "prompt.md", "offline.py", "cases/add-stock-approved.yaml"):
        assert (folder / part).is_file(), part
    assert (folder / "tests" / "test_inventory.py").is_file()
    assert f"HITLBOT_AGENT_PATHS={mine} hitlbot dev" in output
    lint = [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml")]
    checked = subprocess.run([*lint, str(folder)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout


@pytest.mark.parametrize(
    ("name", "message"),
    [("Inventory", "cannot name an agent"), ("class", "cannot name an agent"), ("x-y", "cannot")],
)
def test_a_bad_name_or_an_existing_folder_is_refused(mine: Path, name: str, message: str) -> None:
    result = CliRunner().invoke(app, ["new", "agent", name, "--dir", str(mine)])
    assert result.exit_code == 2 and message in result.output
    new_agent(mine, "inventory")
    again = CliRunner().invoke(app, ["new", "agent", "inventory", "--dir", str(mine)])
    assert again.exit_code == 2 and "already exists" in again.output


def test_its_eval_case_replays(mine: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    new_agent(mine)
    monkeypatch.setenv("HITLBOT_AGENT_PATHS", str(mine))
    result = CliRunner().invoke(app, ["eval", "inventory"])
    assert result.exit_code == 0, result.output
    assert "1 case(s), 3 step(s), recorded mode: no regressions" in result.output


async def test_its_own_test_passes_through_the_test_kit(mine: Path) -> None:
    new_agent(mine)
    file = mine / "inventory" / "tests" / "test_inventory.py"
    spec = importlib.util.spec_from_file_location("scaffolded_test_inventory", file)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    await module.test_adding_stock_waits_for_approval_then_runs_once()
    await module.test_claude_s_calls_are_validated_and_run()


async def test_without_offline_rules_it_gets_the_labelled_scripted_default(mine: Path) -> None:
    new_agent(mine)
    (mine / "inventory" / "offline.py").unlink()
    async with hitlbot(agent_paths=[mine]) as bot:
        thread_id = await bot.launch("inventory", "what about B-200")
        view = await bot.settled(thread_id)
        assert view["status"] == "waiting_approval", view
        # Each read-only tool once (arguments from the fields' examples), then the first one
        # that needs approval.
        calls = [e for e in view["events"] if e["type"] == "tool_call"]
        assert [(c["name"], c["args"]) for c in calls] == [
            ("look_up", {"item": "A-100"}),
            ("add_stock", {"item": "A-100", "quantity": 10}),
        ]
        assert view["pending_request"]["tool"]["reason"].startswith(
            "(offline model) scripted default"
        )
        view = await bot.decide(thread_id, approved=False)
    assert view["status"] == "done"
    assert "scripted default (this agent has no offline rules)" in view["events"][-1]["message"]
    assert "add_stock was rejected" in view["events"][-1]["message"]


async def test_replies_are_scripted_by_a_file_alone(mine: Path) -> None:
    new_agent(mine)
    script = mine / "script.yaml"
    script.write_text(
        "inventory:\n"
        "  - tool: look_up\n    args: {item: C-300}\n"
        '  - tool: request_more_information\n    args: {message: "How many?"}\n'
        "  - tool: add_stock\n    args: {item: C-300, quantity: 5}\n"
        '  - tool: done_for_now\n    args: {message: "Scripted: added 5 of C-300."}\n',
        encoding="utf-8",
    )
    async with hitlbot(agent_paths=[mine], HITLBOT_OFFLINE_SCRIPT=str(script)) as bot:
        thread_id = await bot.launch("inventory", "anything at all")
        view = await bot.settled(thread_id)
        assert view["pending_request"]["kind"] == "question", view
        view = await bot.decide(thread_id, answer="five")
        assert view["pending_request"]["tool"]["args"] == {"item": "C-300", "quantity": 5}
        view = await bot.decide(thread_id, approved=True)
        # The script is used up: the next turn is told so.
        again = await bot.api.post(
            f"/threads/{thread_id}/messages", json={"message": "more?", "user": "tester"}
        )
        assert again.status_code == 202
        after = await bot.settled(thread_id)
    assert view["events"][-1]["message"] == "Scripted: added 5 of C-300."
    assert "scripted replies are used up" in after["events"][-1]["message"]


async def test_a_malformed_script_stops_the_start_naming_the_file(mine: Path) -> None:
    script = mine.parent / "script.yaml"
    script.write_text("inventory:\n  - args: {}\n", encoding="utf-8")
    with pytest.raises(StartupError, match=r"HITLBOT_OFFLINE_SCRIPT: .*script.yaml: at inventory"):
        async with hitlbot(HITLBOT_OFFLINE_SCRIPT=str(script)):
            pass


async def test_record_reads_the_thread_through_the_api_when_hitlbot_url_is_set(
    mine: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_agent(mine)
    monkeypatch.setenv("HITLBOT_AGENT_PATHS", str(mine))
    monkeypatch.delenv("REDIS_URL", raising=False)  # no Redis credentials on this laptop
    async with hitlbot(agent_paths=[mine]) as bot:
        thread_id = await bot.launch("inventory", "add 3 of C-300")
        await bot.decide(thread_id, approved=True)
        monkeypatch.setenv("HITLBOT_URL", str(bot.api.base_url))
        monkeypatch.setenv("HITLBOT_API_TOKEN", TOKEN)
        record = ["record", thread_id, "--name", "three-added"]
        recorded = await asyncio.to_thread(CliRunner().invoke, app, record)
        monkeypatch.setenv("HITLBOT_API_TOKEN", "wrong")
        refused = await asyncio.to_thread(CliRunner().invoke, app, [*record, "--force"])
    assert recorded.exit_code == 0, recorded.output
    assert (mine / "inventory" / "cases" / "three-added.yaml").is_file()
    assert refused.exit_code == 2 and "answered HTTP 401" in refused.output
    replayed = CliRunner().invoke(app, ["eval", "inventory"])
    assert "2 case(s), 6 step(s), recorded mode: no regressions" in replayed.output
