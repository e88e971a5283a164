"""`hitlbot new agent NAME [--dir PATH]`: writes a working agent folder.

`PATH/NAME/` gets `agent.py` (one read-only tool, one that needs approval), `prompt.md`, its
offline rules (`offline.py`), one eval case (`cases/`) and a test that drives it through the
test kit (`tests/`). With `HITLBOT_AGENT_PATHS=PATH` it runs in `hitlbot dev` at once.
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

TEMPLATE = Path(__file__).parent / "template"
"""The files written, with `__AGENT__` where the name goes (`.tmpl` dropped)."""
PLACEHOLDER = "__AGENT__"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class ScaffoldError(ValueError):
    """The agent cannot be written; the message says why."""


def check_name(name: str) -> None:
    """ScaffoldError unless `name` can be an agent's folder and routing name."""
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{name!r} cannot name an agent: use lower-case letters, digits and _, "
            "starting with a letter (it is a folder and a Python package)"
        )


def write_agent(name: str, root: Path) -> list[Path]:
    """Write the agent `name` under `root` (created if missing); the files written. Refuses to
    write over an existing folder."""
    check_name(name)
    folder = root / name
    if folder.exists():
        raise ScaffoldError(f"{folder} already exists; choose another name or --dir")
    written = []
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        target = folder / source.relative_to(TEMPLATE).with_suffix("")
        target = target.with_name(target.name.replace(PLACEHOLDER, name))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source.read_text(encoding="utf-8").replace(PLACEHOLDER, name), "utf-8")
        written.append(target)
    return written


def next_steps(name: str, root: Path, in_tree: bool) -> str:
    """What to do after writing: run it, test it."""
    paths = "" if in_tree else f"HITLBOT_AGENT_PATHS={root} "
    return (
        f"next:\n"
        f"  {paths}hitlbot dev          # then open http://127.0.0.1:8000/ and post in #{name}\n"
        f"  {paths}hitlbot eval {name}  # replay its eval case\n"
        f"  pytest {root / name / 'tests'}\n"
        f"guide: docs/write-your-own-agent.md"
    )
