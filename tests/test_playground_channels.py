"""A channel per agent in the playground, named for it and routed to it, your own agents'
too; routes an operator chooses add to the built-in ones instead of replacing them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

import hitlbot_agents
from bot.cli import app
from bot.config import Settings
from bot.playground.kit import ROOMS, merged_routes, rooms_for
from tests.playground_support import running_playground
from tests.test_playground_routes import posted


@pytest.fixture
def mine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(hitlbot_agents, "__path__", list(hitlbot_agents.__path__))
    result = CliRunner().invoke(app, ["new", "agent", "inventory", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    yield tmp_path
    for name in [name for name in sys.modules if name.startswith("hitlbot_agents.inventory")]:
        del sys.modules[name]


def test_each_agent_without_a_channel_gets_one_named_for_it() -> None:
    rooms = rooms_for(["deploy", "oncall", "support", "inventory"], "deploy")
    assert [room.name for room in rooms] == [
        "deploys",
        "oncall",
        "inventory",
        "support",
        "approvals",
    ]
    inventory = next(room for room in rooms if room.name == "inventory")
    assert inventory.id == "C0INVENTORY" and inventory.agent == "inventory"
    # A name that would clash with a built-in channel gets its own.
    [clash] = [r for r in rooms_for(["oncall", "approvals"], "deploy") if r.agent == "approvals"]
    assert clash.id not in {room.id for room in ROOMS} and clash.name != "approvals"


def test_an_operator_s_routes_keep_the_built_in_ones() -> None:
    rooms = rooms_for(["oncall", "inventory"], "deploy")
    assert merged_routes("", rooms) == "C0ONCALL=oncall,C0INVENTORY=inventory"
    assert merged_routes("C0ONCALL=deploy, C0XYZ=support", rooms) == (
        "C0ONCALL=deploy, C0XYZ=support,C0INVENTORY=inventory"
    )


async def test_posting_in_an_agent_s_channel_talks_to_it(mine: Path, settings: Settings) -> None:
    with_mine = settings.model_copy(update={"agent_paths": str(mine)})
    async with running_playground(with_mine) as running:
        panes = await running.http.get("/dev/panes", params={"conversation": "C0INVENTORY"})
        slack = panes.json()["slack"]
        assert "# inventory" in slack and "Routed to your <b>inventory</b> agent" in slack
        assert "# oncall" in slack  # the built-in channels stay
        reply = await running.http.post(
            "/dev/slack/post",
            json={"user": "U0BEN", "channel": "C0INVENTORY", "text": "@hitlbot add 10 of A-100"},
        )
        assert reply.json()["status"] == 200, reply.text
        card = await posted(running, "Approval needed")
        threads = (await running.http.get("/threads")).json()["threads"]
        assert threads[0]["agent"] == "inventory"
        assert card.channel == "C0INVENTORY"
