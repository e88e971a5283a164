"""HTML mail bodies as readable plain text, for mails that carry no text part."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SKIP = frozenset({"script", "style", "title", "template"})
"""Elements whose content is never shown to a reader."""
_BLOCK = frozenset(
    {
        "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "header", "li", "main", "nav", "section",
        "tr", "table", "tbody", "thead", "tfoot", "ul", "ol", "caption",
    }
)  # fmt: skip
"""Elements that start and end a line."""
_PARAGRAPH = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "pre", "blockquote"})
"""Block elements that also leave a blank line around them."""
_SPACES = re.compile(r"\s+")
# Python's HTMLParser (3.11 at least) rescans to the end of the input for each construct
# that never closes - 60 KB of "<a " takes 30 s - and raises AssertionError on some "<!["
# junk. Such constructs cannot be markup anyway, so they are made text first.
_STRAY_LT = re.compile(r"<(?![^<>]*>)")
"""A "<" with no ">" before the next "<"."""
_MARKED_SECTION = re.compile(r"<!\[[^<>]*\]>")
"""Word's `<![if !supportLists]>` / `<![endif]>`: dropped, their content kept."""
_COMMENT_CLOSE = re.compile(r"--\s*>")
_MAX_QUOTE_DEPTH = 20
"""Quote levels rendered; deeper nesting would only make the output quadratic."""


class _TextExtractor(HTMLParser):
    """Collects `(quote depth, line)` pairs; blockquotes become `>` quotes later."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[int, str]] = []
        self._words: list[str] = []
        self._skipping = 0
        self._quote = 0
        self._pre = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self._skipping += 1
        elif tag == "br":
            self._flush(keep_empty=True)
        elif tag in _BLOCK or tag in _PARAGRAPH:
            self._flush(blank=tag in _PARAGRAPH)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._words.append("- ")
        elif tag in ("td", "th"):
            self._words.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK or tag in _PARAGRAPH:
            self._flush(blank=tag in _PARAGRAPH)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skipping:
            return
        if not self._pre:
            self._words.append(_SPACES.sub(" ", data))
            return
        first, *rest = data.split("\n")
        self._words.append(first)
        for line in rest:
            self._flush(keep_empty=True)
            self._words.append(line)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self, *, keep_empty: bool = False, blank: bool = False) -> None:
        line = "".join(self._words)
        line = line.rstrip() if self._pre else _SPACES.sub(" ", line).strip()
        self._words.clear()
        if line or keep_empty:
            self.lines.append((self._quote, line))
        if blank:
            self.lines.append((self._quote, ""))


def _defused(html: str) -> str:
    """`html` with the constructs that make HTMLParser slow or crash turned into text."""
    html = _STRAY_LT.sub("&lt;", _MARKED_SECTION.sub("", html)).replace("<![", "&lt;![")
    last_close = max((m.end() for m in _COMMENT_CLOSE.finditer(html)), default=0)
    head, tail = html[:last_close], html[last_close:]
    return head + tail.replace("<!--", "&lt;!--")  # comments that never close


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: scripts and styles dropped, blocks on their own
    lines, link text kept, entities unescaped, whitespace collapsed, blockquotes as `> `.
    """
    extractor = _TextExtractor()
    extractor.feed(_defused(html))
    extractor.close()
    out: list[str] = []
    last_depth, pending_blank = 0, False
    for full_depth, line in extractor.lines:
        depth = min(full_depth, _MAX_QUOTE_DEPTH)
        if not line:
            pending_blank = bool(out)
            continue
        if pending_blank:  # one blank line, quoted only as deep as both neighbours
            out.append(("> " * min(depth, last_depth)).rstrip())
        out.append(("> " * depth + line).rstrip())
        last_depth, pending_blank = depth, False
    return "\n".join(out)
