"""The Edit modal of an approval card: one input per field of the tool's arguments model,
prefilled with the proposed values, read back into arguments for that model (pure).

Text fields are taken as typed; a `Literal` of strings is a select; every other field is
read as JSON when it parses (numbers, lists, `true`), else as the text, and the tool's model
accepts or refuses it (a number with a fraction stays text, for a `Decimal`, unless the field
takes only floats: an MCP tool's `number`). Its errors come back per field, keyed by the
input's block id. A field is named as the call's arguments name it: its alias if it has one
(an MCP property that is no Python name, `class` or `_id`, is a field `field_N`).
"""

from __future__ import annotations

import json
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from bot.core.edits import WHOLE, as_text, choices, parsed
from bot.core.jsondata import Json
from bot.slack.cards import cut, escape, modal

EDIT_MODAL = "hitlbot_edit"
"""callback_id of the Edit modal."""
ARG_BLOCK = "arg:"
"""block_id prefix of a field's input: `arg:<field name>` (its errors are shown there)."""
ARG_INPUT = "value"
"""action_id of every field's input element."""
MAX_FIELDS = 50
"""Most fields a modal shows (Slack allows 100 blocks); a bigger model is not editable here."""
_TEXT_MAX = 3000  # Slack's limit on a plain_text_input's value
_LABEL_MAX = 2000
_OPTION_MAX = 75


def editable(model: type[BaseModel], args: dict[str, Any]) -> bool:
    """Whether the call can be edited in a modal: some fields, not too many, and every
    proposed value short enough to prefill whole (a cut value would change it unseen)."""
    fields = model.model_fields
    if not 0 < len(fields) <= MAX_FIELDS:
        return False
    return all(len(as_text(value)) <= _TEXT_MAX for value in args.values() if value is not None)


def edit_modal(tool: str, model: type[BaseModel], args: dict[str, Any], metadata: str) -> Json:
    """The modal Edit opens; submitting it approves the call with the arguments in it."""
    intro = (
        f"Change what `{escape(cut(tool, 100))}` runs with, then approve. "
        "The agent is told that you edited its call."
    )
    blocks: list[Json] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    blocks += [_input(key, field, args.get(key)) for key, field in _fields(model).items()]
    return modal(EDIT_MODAL, metadata, title="Edit and approve", submit="Approve", blocks=blocks)


def _input(name: str, field: FieldInfo, value: Any) -> Json:
    options = choices(field)
    element: Json
    if options is not None:
        element = {
            "type": "static_select",
            "action_id": ARG_INPUT,
            "options": [_option(option) for option in options],
        }
        if value in options:
            element["initial_option"] = _option(value)
    else:
        element = {"type": "plain_text_input", "action_id": ARG_INPUT, "max_length": _TEXT_MAX}
        text = "" if value is None else as_text(value)
        if text:
            element["initial_value"] = text
        if len(text) > 60 or "\n" in text:
            element["multiline"] = True
    block: Json = {
        "type": "input",
        "block_id": f"{ARG_BLOCK}{name}",
        "label": {"type": "plain_text", "text": cut(name, _LABEL_MAX)},
        "element": element,
        "optional": not field.is_required(),
    }
    if field.description:
        block["hint"] = {"type": "plain_text", "text": cut(field.description, _LABEL_MAX)}
    return block


def _fields(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """The model's fields by the name the arguments use: the alias, if any."""
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _option(value: str) -> Json:
    return {"text": {"type": "plain_text", "text": cut(value, _OPTION_MAX)}, "value": value}


def submitted_args(model: type[BaseModel], values: Json) -> dict[str, Any]:
    """The arguments a submitted modal's state holds, per field of `model`; an emptied input
    leaves its field out (its default applies, or the model says it is required)."""
    args: dict[str, Any] = {}
    for name, field in _fields(model).items():
        block = values.get(f"{ARG_BLOCK}{name}")
        state = block.get(ARG_INPUT) if isinstance(block, dict) else None
        if not isinstance(state, dict):
            continue
        if state.get("type") == "static_select":
            selected = state.get("selected_option")
            text = selected.get("value") if isinstance(selected, dict) else None
        else:
            text = state.get("value")
        if isinstance(text, str) and text != "":
            args[name] = _read(field, text)
    return args


def _read(field: FieldInfo, text: str) -> Any:
    value = parsed(field, text)
    if isinstance(value, str) and value is text and _only_floats(field.annotation):
        try:
            number = json.loads(text)
        except ValueError:
            return value
        if isinstance(number, float):
            return number  # a strict float refuses "2.5"; no Decimal to keep exact
    return value


def _only_floats(annotation: Any) -> bool:
    """Whether the numbers a field takes are floats alone (`float`, optional or annotated)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _only_floats(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(annotation) if a is not type(None)]
        return any(_only_floats(a) for a in options) and all(
            _only_floats(a) or a is int for a in options
        )
    return annotation is float


def error_blocks(model: type[BaseModel], fields: dict[str, str]) -> dict[str, str]:
    """The model's errors by field as Slack's `errors`, keyed by the inputs' block ids; an
    error of no one field goes under the first input."""
    names = list(_fields(model))
    errors: dict[str, str] = {}
    for name, why in fields.items():
        where = name if name in names else (names[0] if names else WHOLE)
        key = f"{ARG_BLOCK}{where}"
        errors[key] = cut(f"{errors[key]}; {why}" if key in errors else why, _LABEL_MAX)
    return errors
