"""Long Markdown cut into parts Slack's `markdown` block takes (pure).

A message's `markdown` blocks together hold at most 12 000 characters; a longer answer goes
out as several messages, each split at a paragraph (or line, or word) boundary so that no
Markdown construct is cut in the middle where that can be avoided.
"""

from __future__ import annotations

MARKDOWN_MAX = 12_000
"""Characters of all `markdown` blocks of one message together."""
PARTS_MAX = 5
"""Messages one answer may take; beyond that it is cut, saying so."""
CUT_NOTE = "\n\n_(cut: too long for Slack)_"
"""Ends an answer cut after `PARTS_MAX` messages."""


def parts(text: str, limit: int = MARKDOWN_MAX, most: int = PARTS_MAX) -> list[str]:
    """`text` as at most `most` pieces of at most `limit` characters each."""
    rest = text.strip()
    if not rest:
        return [""]
    found: list[str] = []
    while rest and len(found) < most:
        if len(rest) <= limit:
            found.append(rest)
            return found
        split = _boundary(rest, limit)
        found.append(rest[:split].rstrip())
        rest = rest[split:].lstrip()
    if rest:
        last = found[-1]
        found[-1] = last[: limit - len(CUT_NOTE)].rstrip() + CUT_NOTE
    return found


def _boundary(text: str, limit: int) -> int:
    """Where to split `text` at or before `limit`: a blank line, a line, a space, or hard."""
    for mark in ("\n\n", "\n", " "):
        at = text.rfind(mark, 0, limit)
        if at > limit // 2:
            return at
    return limit
