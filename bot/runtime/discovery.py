"""The agents of a process, found by discovery (factor 10): every `<name>/agent.py` that
defines `AGENT` in a folder of the `agents` package's path.

Adding an agent is adding its folder (`agent.py`, `prompt.md`, its data files, `cases/`);
nothing else names it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

from bot.core.agent import Agent

AGENT_FILE = "agent.py"
"""The file of a folder that makes it an agent; it defines `AGENT`."""


class AgentError(ValueError):
    """An agent folder that does not define one agent, or a name two folders claim."""


def discover(package: ModuleType) -> dict[str, Agent]:
    """Every agent under `package`'s path (`<folder>/<name>/agent.py`, imported as
    `<package>.<name>.agent`), by agent name, in folder-name order."""
    found: dict[str, Agent] = {}
    folders = sorted(
        {file.parent for root in package.__path__ for file in Path(root).glob(f"*/{AGENT_FILE}")},
        key=lambda folder: (folder.name, str(folder)),
    )
    for folder in folders:
        module = importlib.import_module(f"{package.__name__}.{folder.name}.agent")
        agent = getattr(module, "AGENT", None)
        if not isinstance(agent, Agent):
            raise AgentError(f"{folder / AGENT_FILE}: defines no AGENT = Agent(...)")
        if agent.name in found:
            raise AgentError(f"{folder / AGENT_FILE}: another folder's agent is {agent.name!r}")
        found[agent.name] = agent
    return found
