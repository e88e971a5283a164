"""An agent is one folder: dropped on the discovery path, it is found and runs, with no edit
anywhere else."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import agents
from bot.config import Settings
from bot.runtime.discovery import AgentError, discover, shipped
from bot.runtime.wiring import load_agents
from bot.standins.anthropic_stub import AnthropicStub
from tests.conftest import app_client
from tests.helpers import tool_results, wait_for

ECHO = '''"""An agent that says back what it is given."""

from pathlib import Path

from pydantic import BaseModel

from bot.core.agent import Agent
from bot.core.tools import Tool, ToolContext


class EchoArgs(BaseModel):
    text: str


async def echo(args: EchoArgs, ctx: ToolContext) -> dict[str, str]:
    return {"echoed": args.text, "call_id": ctx.call_id}


AGENT = Agent(
    name="echo",
    description="Says back what it is given.",
    prompt=Path(__file__).parent / "prompt.md",
    tools=(Tool("echo", "Say the text back.", EchoArgs, echo),),
)
'''


@pytest.fixture
def extra_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on the `agents` package's path, as an operator's checkout would add one."""
    monkeypatch.setattr(agents, "__path__", [*agents.__path__, str(tmp_path)])
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("agents.echo")]:
        del sys.modules[name]


def add_agent(root: Path, name: str, source: str) -> None:
    folder = root / name
    folder.mkdir()
    (folder / "prompt.md").write_text("You echo. Channel: {{ channel }}.\n", encoding="utf-8")
    (folder / "agent.py").write_text(source, encoding="utf-8")


def test_the_shipped_agents_are_found_by_their_folders() -> None:
    assert set(load_agents()) == {"deploy", "oncall", "support"}
    assert shipped() == dict(load_agents())


def test_a_folder_without_an_agent_is_refused(extra_folder: Path) -> None:
    add_agent(extra_folder, "echo", "X = 1\n")
    with pytest.raises(AgentError, match="defines no AGENT"):
        discover(agents)


async def test_an_agent_added_by_one_folder_runs(
    extra_folder: Path, settings: Settings, anthropic_stub: AnthropicStub
) -> None:
    add_agent(extra_folder, "echo", ECHO)
    assert "echo" in load_agents()

    anthropic_stub.reply_tool("echo", {"text": "hello"})
    anthropic_stub.reply_tool("done_for_now", {"message": "I said hello."})
    async with app_client(settings) as api:
        reply = await api.post("/threads", json={"agent": "echo", "message": "say hello"})
        assert reply.status_code == 202, reply.text
        view = await wait_for(api, reply.json()["thread_id"], "done")
    [result] = tool_results(view, "echo")
    assert result["result"]["echoed"] == "hello"
    assert "You echo. Channel: api." in anthropic_stub.requests[0].system
