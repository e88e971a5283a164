"""The agents of a process, found by discovery (factor 10): every `<name>/agent.py` that
defines `AGENT`, in the bundled `agents` package's folder and in the folders an operator names
(`HITLBOT_AGENT_PATHS`), with the offline rules beside each (`<name>/offline.py`).

Adding an agent is adding its folder (`agent.py`, `prompt.md`, its data files, `cases/`,
optionally `offline.py`); nothing else names it. A folder outside the tree is imported as part
of the `agents` package (`agents.<name>`), so its modules import each other relatively, as the
bundled ones do; a team keeps its agents in its own repository and installs hitlbot.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from bot.core.agent import Agent
from bot.llm.offline.rules import Rules

AGENT_FILE = "agent.py"
"""The file of a folder that makes it an agent; it defines `AGENT`."""
OFFLINE_FILE = "offline.py"
"""The file beside `agent.py` that holds the agent's offline rules: `RULES = Rules(...)`."""
PATHS_SETTING = "HITLBOT_AGENT_PATHS"


BUNDLED = Path(__file__).resolve().parents[2] / "agents"
"""The folder of the agents that ship with hitlbot, beside `bot/`."""


def bundled() -> ModuleType:
    """hitlbot's own `agents` package, even where another distribution took the import name
    (the OpenAI Agents SDK's is `agents` too, and a process started outside the source folder
    finds that one first): in a hitlbot process, `agents` is the folder beside `bot/`."""
    module = sys.modules.get("agents")
    if module is None:
        spec = importlib.util.find_spec("agents")
        if spec is not None and _folder_of(spec.origin) == BUNDLED:
            return importlib.import_module("agents")
    elif _folder_of(getattr(module, "__file__", None)) == BUNDLED:
        return module
    spec = importlib.util.spec_from_file_location(
        "agents", BUNDLED / "__init__.py", submodule_search_locations=[str(BUNDLED)]
    )
    assert spec is not None and spec.loader is not None
    for name in [name for name in sys.modules if name == "agents" or name.startswith("agents.")]:
        del sys.modules[name]  # the other distribution's, imported by nothing of hitlbot's
    module = importlib.util.module_from_spec(spec)
    sys.modules["agents"] = module
    spec.loader.exec_module(module)
    return module


def _folder_of(origin: str | None) -> Path | None:
    return Path(origin).resolve().parent if origin else None


class AgentError(ValueError):
    """An agent folder that does not define one agent, or a name two folders claim."""


@dataclass(frozen=True)
class Found:
    """What discovery found: the agents by name, and the offline rules of those that have them."""

    agents: dict[str, Agent] = field(default_factory=dict)
    """Every agent, by name, in folder-name order."""
    rules: dict[str, Rules] = field(default_factory=dict)
    """Each agent's own offline rules (`offline.py`), by agent name."""
    files: dict[str, Path] = field(default_factory=dict)
    """The `agent.py` each agent came from, by agent name."""


def shipped() -> dict[str, Agent]:
    """The agents that ship with hitlbot (the bundled folder alone), by name."""
    return discover(bundled())


def discover(package: ModuleType, roots: Sequence[str | Path] = ()) -> dict[str, Agent]:
    """Every agent under `package`'s path and `roots`, by agent name (see `find`)."""
    return find(package, roots).agents


def find(package: ModuleType, roots: Sequence[str | Path] = ()) -> Found:
    """Every `<folder>/<name>/agent.py` under `package`'s path and under `roots` (imported as
    `<package>.<name>.agent`), with its `offline.py` if any; AgentError, naming the file, for a
    folder without `AGENT`, a folder name two roots share, or an agent name claimed twice."""
    extra = [_root(root) for root in roots]
    for root in extra:
        if str(root) not in package.__path__:
            package.__path__.append(str(root))
    folders: dict[str, Path] = {}
    for root in _unique([Path(path).resolve() for path in package.__path__]):
        for file in sorted(root.glob(f"*/{AGENT_FILE}")):
            folder = file.parent
            if folder.name in folders:
                other = folders[folder.name] / AGENT_FILE
                raise AgentError(f"{file}: folder name {folder.name!r} is also {other}")
            if not folder.name.isidentifier():
                raise AgentError(f"{file}: an agent folder's name must be a Python identifier")
            folders[folder.name] = folder
    found = Found()
    for name in sorted(folders):
        _load(package, name, folders[name], found)
    return found


def _load(package: ModuleType, name: str, folder: Path, found: Found) -> None:
    file = folder / AGENT_FILE
    module = importlib.import_module(f"{package.__name__}.{name}.agent")
    agent = getattr(module, "AGENT", None)
    if not isinstance(agent, Agent):
        raise AgentError(f"{file}: defines no AGENT = Agent(...)")
    if agent.name in found.agents:
        raise AgentError(f"{file}: agent {agent.name!r} is also {found.files[agent.name]}")
    found.agents[agent.name] = agent
    found.files[agent.name] = file
    if (folder / OFFLINE_FILE).is_file():
        rules = getattr(
            importlib.import_module(f"{package.__name__}.{name}.offline"), "RULES", None
        )
        if not isinstance(rules, Rules):
            raise AgentError(f"{folder / OFFLINE_FILE}: defines no RULES = Rules(...)")
        found.rules[agent.name] = rules


def _root(root: str | Path) -> Path:
    path = Path(root).expanduser().resolve()
    if not path.is_dir():
        raise AgentError(f"{PATHS_SETTING}: {root} is not a folder")
    if (path / AGENT_FILE).is_file():
        raise AgentError(
            f"{PATHS_SETTING}: {root} is an agent folder; name the folder that holds it "
            f"({path.parent})"
        )
    return path


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
