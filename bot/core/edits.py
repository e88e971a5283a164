"""Edit before approve: an approver's changed arguments, checked by the tool's own model (pure).

An edit is offered only for requests decided by one approval (quorum 1): with a quorum, the
earlier votes were for the proposed arguments, and an edit would need them all again.
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

WHOLE = "arguments"
"""The key of an error that concerns no one field."""


class EditError(Exception):
    """The edited arguments do not validate; `fields` says why, per field name."""

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{name}: {why}" for name, why in fields.items()))


def validated(model: type[BaseModel], args: Mapping[str, Any]) -> dict[str, Any]:
    """`args` as the tool's model makes them (JSON data), or EditError with each field's error."""
    try:
        return model.model_validate(dict(args)).model_dump(mode="json")
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            name = str(error["loc"][0]) if error["loc"] else WHOLE
            fields.setdefault(name, error["msg"])
        raise EditError(fields) from None


def changes(proposed: Mapping[str, Any], approved: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The fields an edit changed, as `(proposed, approved)`, in the approved order."""
    return {
        name: (proposed.get(name), value)
        for name, value in approved.items()
        if name not in proposed or proposed[name] != value
    }


def choices(field: FieldInfo) -> list[str] | None:
    """A field's allowed strings if it is a `Literal` of strings (a select), else None."""
    if get_origin(field.annotation) is Literal:
        values = get_args(field.annotation)
        if values and all(isinstance(value, str) for value in values):
            return list(values)
    return None


def is_text(field: FieldInfo) -> bool:
    """Whether a field takes text as typed (`str`, or an optional `str`)."""
    annotation = field.annotation
    if annotation is str:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return set(get_args(annotation)) <= {str, type(None)}
    return False


def as_text(value: Any) -> str:
    """A proposed value as it is shown in a text input: strings as they are, the rest as JSON."""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def parsed(field: FieldInfo, text: str) -> Any:
    """What a text input means for `field`: the text itself for a text field; else JSON if it
    reads as JSON (integers, lists, true), else the text, for the model to accept or refuse.

    A number with a fraction stays text: the model parses `"249.90"` into a `Decimal` exactly,
    where a float would not be.
    """
    if is_text(field):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return text if isinstance(value, float) else value
