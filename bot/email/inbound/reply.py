"""The new text of a reply: quoted history, attribution lines and signature removed.

`mail-parser-reply` knows where quoted history starts in many languages (Gmail's "On ...
wrote:", Outlook's "From:/Sent:" block and "-----Original Message-----"), so its header
patterns find the cut. Its own splitting (`EmailReplyParser.read`) is not used, because:
- `latest_reply` keeps signatures, and its signature rule cuts at any line starting with
  "Thanks," or "- ", dropping bullet lists and whole sentences after it;
- its disclaimer rule deletes any line starting with "Warning:" that mentions mail;
- when the text opens with a quote header, its first "reply" is the quoted history;
- a ">"-quoted tail without an attribution line, and Outlook's underscore rule, are kept;
- its patterns backtrack badly: 20 KB of blank lines takes 25 s in its signature rule,
  a 20 KB line of "On On On ..." 10 s in its header rule. Only the header rule runs
  here, on lines cut to `_MAX_LINE` characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import Any

from mailparser_reply import EmailMessage
from mailparser_reply.constants import MAIL_LANGUAGES

DEFAULT_LANGUAGES = ("en",)
"""Languages whose reply headers and sign-offs are recognised."""
_MAX_LINE = 300
"""Longest line shown to the header patterns; attribution lines are far shorter."""
_QUOTED = r"(?:> ?)*"
_TRAILER = re.compile(
    r">.*|\s*|[_\-=*]{5,}\s*|-*\s*(?:Forwarded message|Begin forwarded message:)\s*-*",
    re.IGNORECASE,
)
"""Lines that may end a reply without being part of it: quotes, blanks, separator rules,
the line that opens a forwarded message."""


@lru_cache(maxsize=8)
def _quote_header(languages: tuple[str, ...]) -> re.Pattern[str]:
    """The library's pattern for the line(s) that open quoted history."""
    pattern: re.Pattern[str] = EmailMessage(text="", languages=list(languages)).HEADER_REGEX
    return pattern


def _phrases(languages: Sequence[str], key: str) -> str:
    found: list[Any] = [MAIL_LANGUAGES.get(lang, {}).get(key, []) for lang in languages]
    return "|".join(chain.from_iterable([p] if isinstance(p, str) else p for p in found))


@lru_cache(maxsize=8)
def _signature_start(languages: tuple[str, ...]) -> re.Pattern[str]:
    """Where a signature begins: `-- `, "Sent from my iPhone", or a sign-off alone on its
    line ("Best regards," but not "Thanks, that works")."""
    rules = [rf"{_QUOTED}(?:--|__)"]
    if sent_from := _phrases(languages, "sent_from"):
        rules.append(rf"{_QUOTED}(?:{sent_from})(?:[ \t]+\S+){{0,4}}")
    if sign_offs := _phrases(languages, "signatures"):
        rules.append(rf"{_QUOTED}(?:{sign_offs})[ \t]*[,.!]*")
    return re.compile(rf"^(?:{'|'.join(rules)})[ \t]*$", re.MULTILINE | re.IGNORECASE)


def _quote_start(lines: list[str], languages: tuple[str, ...]) -> int:
    """Index of the first line of quoted history, or len(lines)."""
    shadow = "\n".join(line.strip()[:_MAX_LINE] for line in lines)  # same line numbering
    found = _quote_header(languages).search(shadow)
    if found is None:
        return len(lines)
    start = found.start()
    start += len(shadow[start:]) - len(shadow[start:].lstrip("\n"))  # Outlook's starts at "\n"
    return shadow.count("\n", 0, start)


def extract_reply(text: str, languages: Sequence[str] = DEFAULT_LANGUAGES) -> str:
    """The part of `text` the sender wrote now; empty when they only quoted."""
    langs = tuple(languages)
    lines = text.split("\n")
    lines = lines[: _quote_start(lines, langs)]
    body = "\n".join(line.strip() for line in lines)
    for found in _signature_start(langs).finditer(body):
        if found.start() > 0:  # a sign-off that is the whole reply is the reply
            body = body[: found.start()]
            break
    kept = body.split("\n")
    while kept and _TRAILER.fullmatch(kept[-1]):
        kept.pop()
    return "\n".join(kept).strip()
