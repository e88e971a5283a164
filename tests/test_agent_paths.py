"""Agents outside hitlbot's tree (`HITLBOT_AGENT_PATHS`), with their offline rules beside them;
any agent runs offline (its rules, the scripted default, or scripted replies)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import hitlbot_agents
from bot.config import Settings
from bot.runtime.discovery import AgentError, find
from bot.runtime.wiring import StartupError, load_found
from tests.conftest import app_client
from tests.helpers import tool_results, wait_for
from tests.test_agent_discovery import ECHO

OFFLINE = '''"""Echo's own offline rules."""

from bot.llm.offline.eventlog import current_turn, human_text, outcomes
from bot.llm.offline.rules import Rules, call, done


def decide(entries):
    turn = current_turn(entries)
    if not outcomes(turn, "echo"):
        return call("echo", "echo's own rules", text=human_text(turn).upper())
    return done("echoed by echo's own rules")


RULES = Rules(agent="echo", tools=frozenset({"echo"}), decide=decide)
'''


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder of agents outside the tree; `hitlbot_agents`' path is restored after."""
    monkeypatch.setattr(hitlbot_agents, "__path__", list(hitlbot_agents.__path__))
    yield tmp_path
    for name in [
        name for name in sys.modules if name.startswith(("hitlbot_agents.echo", "hitlbot_agents.x"))
    ]:
        del sys.modules[name]


def agent_folder(root: Path, folder: str, source: str = ECHO, offline: str | None = None) -> Path:
    path = root / folder
    path.mkdir(parents=True)
    (path / "prompt.md").write_text("You are `{{ agent.name }}`. You echo.\n", encoding="utf-8")
    (path / "agent.py").write_text(source, encoding="utf-8")
    if offline is not None:
        (path / "offline.py").write_text(offline, encoding="utf-8")
    return path


def test_an_agent_in_a_folder_named_by_the_setting_is_found(outside: Path) -> None:
    agent_folder(outside / "mine", "echo", offline=OFFLINE)
    found = load_found(Settings(_env_file=None, HITLBOT_AGENT_PATHS=str(outside / "mine")))
    assert set(found.agents) == {"deploy", "oncall", "support", "echo"}
    assert found.files["echo"] == (outside / "mine" / "echo" / "agent.py").resolve()
    # The bundled agents' rules, moved beside them, are found with them; so are echo's.
    assert set(found.rules) == {"deploy", "oncall", "support", "echo"}


def test_a_folder_without_an_agent_is_refused_naming_its_file(outside: Path) -> None:
    agent_folder(outside, "echo", "X = 1\n")
    with pytest.raises(AgentError, match=rf"{outside / 'echo' / 'agent.py'}: defines no AGENT"):
        find(hitlbot_agents, [outside])


def test_a_name_claimed_twice_is_refused_naming_both_files(outside: Path) -> None:
    agent_folder(outside, "xecho", ECHO)
    with pytest.raises(StartupError, match=r"xecho/agent.py: agent 'echo' is also .*echo"):
        agent_folder(outside, "echo", ECHO)
        load_found(Settings(_env_file=None, HITLBOT_AGENT_PATHS=str(outside)))


def test_a_folder_name_of_the_bundled_agents_is_refused(outside: Path) -> None:
    agent_folder(outside, "deploy")
    with pytest.raises(AgentError, match=r"folder name 'deploy' is also .*agents/deploy/agent.py"):
        find(hitlbot_agents, [outside])


@pytest.mark.parametrize(
    ("root", "message"),
    [("missing", "is not a folder"), ("mine/echo", "is an agent folder; name the folder")],
)
def test_a_wrong_path_is_refused_saying_what_to_name(
    outside: Path, root: str, message: str
) -> None:
    agent_folder(outside / "mine", "echo")
    with pytest.raises(AgentError, match=f"HITLBOT_AGENT_PATHS: .*{message}"):
        find(hitlbot_agents, [outside / root])


async def test_an_outside_agent_runs_offline_with_the_rules_beside_it(
    outside: Path, settings: Settings
) -> None:
    agent_folder(outside, "echo", offline=OFFLINE)
    offline = settings.model_copy(update={"model": "offline", "agent_paths": str(outside)})
    async with app_client(offline) as api:
        reply = await api.post("/threads", json={"agent": "echo", "message": "say hi"})
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, reply.json()["thread_id"], "done", "failed")
    assert view["status"] == "done", view
    [result] = tool_results(view, "echo")
    assert result["result"]["echoed"] == "SAY HI"
    assert view["events"][-1]["message"] == "echoed by echo's own rules"


@pytest.mark.parametrize(
    "first",
    ["", "import agents; assert 'site-packages' in agents.__file__; "],
    ids=["nothing-imported", "the-sdk-imported-first"],
)
def test_the_bundled_agents_load_beside_the_openai_agents_sdk(tmp_path: Path, first: str) -> None:
    """The OpenAI Agents SDK is `agents`, hitlbot's own are `hitlbot_agents`: outside the source
    folder (a console script's case), with the SDK imported first or not, hitlbot loads its own."""
    import subprocess

    code = f"{first}from bot.runtime.wiring import load_agents; print(sorted(load_agents()))"
    env = {k: v for k, v in os.environ.items() if k != "HITLBOT_AGENT_PATHS"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['deploy', 'oncall', 'support']"
