"""The agents' prompt files, read by the shell for the core to render (it reads no file)."""

from __future__ import annotations

from pathlib import Path


class PromptFiles:
    """Each `prompt.md` read, and read again only when the file changes: a step costs one
    `stat`, and an edit (`hitlbot dev --reload`, an operator's) counts from the next step."""

    def __init__(self) -> None:
        self._read: dict[Path, tuple[int, str]] = {}

    def text(self, path: Path) -> str:
        """The text of `path` as it is now."""
        changed = path.stat().st_mtime_ns
        found = self._read.get(path)
        if found is None or found[0] != changed:
            found = (changed, path.read_text(encoding="utf-8"))
            self._read[path] = found
        return found[1]
