"""The store's Lua scripts, one `.lua` file each, beside this module (arq keeps its in `lua.py`).

Each file opens with named `local` bindings for its KEYS and ARGV, so a reader never counts
positional slots; the Python that calls a script builds them in that order. `source(name)` is
the text to register: a script that runs another one as a step (`intake` commits a thread)
gets it prepended as a local function, so there is one copy of every script.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

EMBEDS: dict[str, tuple[str, ...]] = {"intake": ("commit",)}
"""Scripts that call others as functions (`local function commit(KEYS, ARGV)`)."""


@cache
def source(name: str) -> str:
    """The Lua to register for script `name` (`<name>.lua`, with what it embeds)."""
    parts = [
        f"local function {embedded}(KEYS, ARGV)\n{_read(embedded)}\nend\n"
        for embedded in EMBEDS.get(name, ())
    ]
    return "".join(parts) + _read(name)


def _read(name: str) -> str:
    return files(__package__).joinpath(f"{name}.lua").read_text(encoding="utf-8")
