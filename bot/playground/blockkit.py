"""Block Kit and mrkdwn as HTML, the way Slack shows them (pure functions of plain dicts).

Covered: header, section (text, fields), context, divider, actions (buttons, primary and
danger), input (plain text, prefilled, and static_select), rich_text's plain text, markdown
(bold, code, paragraphs) and context_actions' feedback buttons (`feedback+` / `feedback-`).
Anything else is shown as a note, so a block the bot sends that the page cannot draw is
seen, not silently dropped.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup, escape

from bot.core.jsondata import Json

EMOJI = {
    "white_check_mark": "✅",
    "x": "❌",
    "warning": "⚠️",
    "eyes": "👀",
    "rocket": "🚀",
    "hourglass_flowing_sand": "⏳",
    "thumbsup": "👍",
    "+1": "👍",
}
_LINK = re.compile(r"<([^<>|]+)(?:\|([^<>]*))?>")
_STYLES = (
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])"), r"<i>\1</i>"),
    (re.compile(r"(?<![\w~])~([^~\n]+)~(?![\w~])"), r"<s>\1</s>"),
)
_EMOJI = re.compile(r":([a-z0-9_+\-]+):")


def mrkdwn(text: str, names: Mapping[str, str]) -> Markup:
    """Slack mrkdwn (already `&amp;`-escaped, as Slack sends it) as safe HTML.

    `names` turns `<@U123>` mentions into `@name` and `<#C123>` into `#channel`.
    """
    parts = text.split("```")
    out = []
    for index, part in enumerate(parts):
        if index % 2:  # inside a code block: no formatting at all
            out.append(f"<pre>{escape(html.unescape(part.strip(chr(10))))}</pre>")
        else:
            out.append(_inline(part, names))
    return Markup("".join(out))


def _inline(text: str, names: Mapping[str, str]) -> str:
    pieces: list[str] = []
    last = 0
    for match in _LINK.finditer(text):
        pieces.append(_styled(text[last : match.start()]))
        pieces.append(_link(match.group(1), match.group(2), names))
        last = match.end()
    pieces.append(_styled(text[last:]))
    return "".join(pieces)


def _link(target: str, label: str | None, names: Mapping[str, str]) -> str:
    if target.startswith("@"):
        user = target[1:]
        return f'<span class="mention">@{escape(names.get(user, user))}</span>'
    if target.startswith("!"):
        return f'<span class="mention">@{escape(target[1:].split("^")[0])}</span>'
    if target.startswith("#"):
        channel = target[1:]  # a channel by its name, never its raw id, when the page knows it
        return f'<span class="mention">#{escape(label or names.get(channel, channel))}</span>'
    url = html.unescape(target)
    if not url.startswith(("http://", "https://", "mailto:")):
        return str(escape(html.unescape(label or target)))
    return f'<a href="{escape(url)}" rel="noreferrer">{escape(html.unescape(label or url))}</a>'


def _styled(text: str) -> str:
    out = str(escape(html.unescape(text)))
    for pattern, replacement in _STYLES:
        out = pattern.sub(replacement, out)
    out = _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    return out.replace("\n", "<br>")


def text_object(obj: Any, names: Mapping[str, str]) -> Markup:
    """A text object: `mrkdwn` formatted, `plain_text` as is."""
    if not isinstance(obj, dict):
        return Markup("")
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn(text, names)
    return Markup(_EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), str(escape(text))))


def blocks(
    items: list[Json], names: Mapping[str, str], buttons: Callable[[Json], Markup]
) -> Markup:
    """Blocks as HTML; `buttons` draws one button element (the page wires its click)."""
    return Markup("").join(_block(block, names, buttons) for block in items)


def _block(block: Json, names: Mapping[str, str], buttons: Callable[[Json], Markup]) -> Markup:
    kind = block.get("type")
    if kind == "header":
        return Markup('<div class="bk-header">%s</div>') % text_object(block.get("text"), names)
    if kind == "section":
        inner = text_object(block.get("text"), names) if block.get("text") else Markup("")
        fields = Markup("").join(
            Markup('<div class="bk-field">%s</div>') % text_object(f, names)
            for f in block.get("fields", [])
        )
        if fields:
            inner += Markup('<div class="bk-fields">%s</div>') % fields
        return Markup('<div class="bk-section">%s</div>') % inner
    if kind == "context":
        parts = Markup(" ").join(text_object(e, names) for e in block.get("elements", []))
        return Markup('<div class="bk-context">%s</div>') % parts
    if kind == "divider":
        return Markup('<hr class="bk-divider">')
    if kind == "actions":
        elements = Markup("").join(
            buttons(e) if e.get("type") == "button" else _unknown(str(e.get("type")))
            for e in block.get("elements", [])
        )
        return Markup('<div class="bk-actions">%s</div>') % elements
    if kind == "input":
        return _input(block, names)
    if kind == "rich_text":
        return Markup('<div class="bk-section">%s</div>') % _rich_text(block)
    return _agent_block(block, buttons) or _unknown(str(kind))


def _agent_block(block: Json, buttons: Callable[[Json], Markup]) -> Markup | None:
    """The blocks of Slack's agent messages: `markdown` and `context_actions`."""
    if block.get("type") == "markdown":
        text = markdown(str(block.get("text", "")))
        return Markup('<div class="bk-section bk-markdown">%s</div>') % text
    if block.get("type") == "context_actions":
        return _context_actions(block, buttons)
    return None


FEEDBACK_BUTTONS = {"feedback+": "positive_button", "feedback-": "negative_button"}
"""The page's ids of a feedback element's two buttons, and where each is in the element."""
_MD_STYLES = (
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*\n]+)\*\*"), r"<b>\1</b>"),
    (re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])"), r"<i>\1</i>"),
)


def markdown(text: str) -> Markup:
    """Standard Markdown as Slack's `markdown` block shows it (already `&amp;`-escaped):
    paragraphs, line breaks, bold, italics and code."""
    paragraphs = [part for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]
    out = []
    for paragraph in paragraphs:
        inner = str(escape(html.unescape(paragraph)))
        for pattern, replacement in _MD_STYLES:
            inner = pattern.sub(replacement, inner)
        out.append("<p>" + inner.replace("\n", "<br>") + "</p>")
    return Markup("".join(out))


def _context_actions(block: Json, buttons: Callable[[Json], Markup]) -> Markup:
    drawn = []
    for element in block.get("elements", []):
        if element.get("type") != "feedback_buttons":
            drawn.append(_unknown(str(element.get("type"))))
            continue
        for page_id, side in FEEDBACK_BUTTONS.items():
            text = (element.get(side) or {}).get("text") or {"type": "plain_text", "text": "?"}
            drawn.append(buttons({"type": "button", "action_id": page_id, "text": text}))
    return Markup('<div class="bk-actions bk-feedback">%s</div>') % Markup("").join(drawn)


def _input(block: Json, names: Mapping[str, str]) -> Markup:
    """An input block as a labelled field named `block_id.action_id` (what the page submits),
    prefilled as Slack prefills it, with a place for its error."""
    element = block.get("element", {})
    label = text_object(block.get("label"), names)
    name = f"{block.get('block_id')}.{element.get('action_id')}"
    initial = str(element.get("initial_value", ""))
    if element.get("type") == "static_select":
        chosen = (element.get("initial_option") or {}).get("value")
        options = Markup("").join(
            Markup('<option value="%s"%s>%s</option>')
            % (
                option.get("value", ""),
                Markup(" selected") if option.get("value") == chosen else "",
                text_object(option.get("text"), names),
            )
            for option in element.get("options", [])
        )
        field = Markup('<select name="%s">%s</select>') % (name, options)
    elif element.get("multiline"):
        field = Markup('<textarea name="%s" maxlength="%s" rows="3">%s</textarea>') % (
            name,
            element.get("max_length", 3000),
            initial,
        )
    else:
        field = Markup('<input name="%s" maxlength="%s" value="%s">') % (
            name,
            element.get("max_length", 3000),
            initial,
        )
    hint = block.get("hint")
    if hint:
        field += Markup('<small class="bk-hint">%s</small>') % text_object(hint, names)
    error = Markup('<small class="bk-input-error" data-error-for="%s" hidden></small>') % (
        block.get("block_id", ""),
    )
    return Markup('<label class="bk-input"><span>%s</span>%s%s</label>') % (label, field, error)


def _rich_text(block: Json) -> str:
    words: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                words.append(str(node.get("text", "")))
            for child in node.get("elements", []):
                walk(child)

    walk(block)
    return str(escape("".join(words)))


def _unknown(kind: str) -> Markup:
    return Markup('<div class="bk-unknown">[%s block: not drawn by the playground]</div>') % kind
