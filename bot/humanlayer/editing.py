"""Edits of an external call: offered only to a client that applies them (the native client,
`bot.client`), which sends its function's arguments as a JSON schema (`spec.kwargs_schema`)."""

from __future__ import annotations

from pydantic import BaseModel

from bot.core.thread import ExternalOrigin
from bot.mcp.schema import SchemaError, args_model


def external_args_model(origin: ExternalOrigin, fn: str) -> type[BaseModel] | None:
    """The model an approver's edit of the call is checked by; None: not editable (the
    HumanLayer SDK runs its function with its own arguments, or no usable schema)."""
    schema = origin.spec.get("kwargs_schema")
    if origin.api != "native" or not isinstance(schema, dict) or fn != origin.spec.get("fn"):
        return None
    try:
        return args_model(fn, schema)
    except SchemaError:
        return None
