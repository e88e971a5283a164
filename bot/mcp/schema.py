"""An MCP tool's JSON input schema as a pydantic model, so its calls are validated like ours.

A careful converter for the subset MCP servers publish (what pydantic, zod and hand-written
schemas produce for tool inputs): objects with `properties` and `required`, the scalar types
with their bounds (`minLength`, `maximum`, `pattern`, `enum`, `const`, ...), arrays with
`items`, nested objects, nullable types (`type: [..., "null"]`, `anyOf` with `null`), unions
by `anyOf`/`oneOf`, and local `$ref`s into `$defs`. Anything else (`allOf`, `not`,
`if`/`then`, `patternProperties`, a remote `$ref`) is refused with `SchemaError`, naming the
path and the keyword, rather than silently validating less than the server asks.

Why not a library: the converters on PyPI generate code, or accept more of JSON Schema than
they enforce; a refusal saying what is unsupported is worth more here than coverage.
"""

from __future__ import annotations

import keyword
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    create_model,
    model_serializer,
)

from bot.core.jsondata import Json

_IGNORED = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "format",
        "$schema",
        "$id",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$defs",
        "definitions",
    }
)
"""Keywords that only describe (the model sees them in the server's schema as sent)."""
_KNOWN = _IGNORED | {
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "oneOf",
    "$ref",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
}
_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool}
_RESERVED = frozenset(dir(BaseModel))


class SchemaError(ValueError):
    """The schema uses something the converter does not support; says where and what."""


class McpArgs(BaseModel):
    """Base of the converted models: optional arguments the model left out stay out of the
    call (a server would refuse a `null` it never allowed)."""

    model_config = ConfigDict(
        extra="allow", validate_by_name=True, validate_by_alias=True, serialize_by_alias=True
    )

    @model_serializer(mode="wrap")
    def _drop_unset_nones(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        unset = {
            (field.alias or name)
            for name, field in type(self).model_fields.items()
            if name not in self.model_fields_set and field.default is None
        }
        return {key: value for key, value in data.items() if not (key in unset and value is None)}


class _ClosedArgs(McpArgs):
    """For `additionalProperties: false`: unknown arguments are refused."""

    model_config = ConfigDict(extra="forbid")


def args_model(tool: str, schema: Json) -> type[BaseModel]:
    """A pydantic model validating `schema` (an MCP tool's `inputSchema`); SchemaError if it
    uses what is not supported."""
    return _Converter(tool, schema).model(schema, tool, "inputSchema")


class _Converter:
    def __init__(self, tool: str, root: Json) -> None:
        self.tool = tool
        self.root = root
        self.models: dict[str, type[BaseModel]] = {}

    def fail(self, where: str, what: str) -> SchemaError:
        return SchemaError(f"MCP tool {self.tool!r}: {where}: {what}")

    def model(self, schema: Json, name: str, where: str) -> type[BaseModel]:
        schema = self.resolve(schema, where)
        self.check_keywords(schema, where)
        if schema.get("type", "object") != "object":
            raise self.fail(where, f"expected an object schema, got type {schema.get('type')!r}")
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise self.fail(where, "`properties` is not an object")
        required = set(schema.get("required") or ())
        fields: dict[str, Any] = {}
        for index, (prop, sub) in enumerate(properties.items()):
            at = f"{where}.properties.{prop}"
            annotation = self.annotation(sub, f"{name}_{prop}", at)
            info: Json = {"description": sub.get("description")} if isinstance(sub, dict) else {}
            if prop in required:
                default: Any = ...
            elif isinstance(sub, dict) and "default" in sub:
                default = sub["default"]
            else:
                default, annotation = None, annotation | None
            python_name = prop
            if not prop.isidentifier() or keyword.iskeyword(prop) or prop in _RESERVED:
                python_name = f"field_{index}"
            if prop.startswith("_"):
                python_name = f"field_{index}"
            if python_name != prop:
                info["alias"] = prop
            fields[python_name] = (annotation, Field(default, **info))
        base = _ClosedArgs if schema.get("additionalProperties") is False else McpArgs
        model: type[BaseModel] = create_model(_model_name(name), __base__=base, **fields)
        return model

    def annotation(self, schema: Any, name: str, where: str) -> Any:
        if schema is True or schema == {}:
            return Any
        if not isinstance(schema, dict):
            raise self.fail(where, "a schema must be an object")
        schema = self.resolve(schema, where)
        self.check_keywords(schema, where)
        if "const" in schema:
            return Literal[schema["const"]]
        if "enum" in schema:
            values = tuple(schema["enum"])
            if not values:
                raise self.fail(where, "`enum` is empty")
            return Literal[values]
        for key in ("anyOf", "oneOf"):
            if key in schema:
                return self.union(schema[key], key, name, where)
        kind = schema.get("type")
        if isinstance(kind, list):
            options = [self.annotation({**schema, "type": k}, name, where) for k in kind]
            return Union[tuple(options)]  # noqa: UP007
        if kind is None:
            return Any
        return self.typed(kind, schema, name, where)

    def union(self, options: Any, key: str, name: str, where: str) -> Any:
        if not isinstance(options, list) or not options:
            raise self.fail(where, f"`{key}` must be a non-empty list")
        types = [
            self.annotation(option, f"{name}_{i}", f"{where}.{key}[{i}]")
            for i, option in enumerate(options)
        ]
        return Union[tuple(types)]  # noqa: UP007  # a runtime tuple of types

    def typed(self, kind: str, schema: Json, name: str, where: str) -> Any:
        if kind == "null":
            return type(None)
        if kind == "object":
            if "properties" in schema:
                return self.model(schema, name, where)
            values = schema.get("additionalProperties", True)
            value = Any if values in (True, None) else self.annotation(values, name, where)
            return dict[str, value]  # type: ignore[valid-type]
        if kind == "array":
            item = self.annotation(schema.get("items", True), f"{name}_item", f"{where}.items")
            bounds = _pick(schema, {"minItems": "min_length", "maxItems": "max_length"})
            return Annotated[list[item], Field(**bounds)]  # type: ignore[valid-type]
        if kind not in _SCALARS:
            raise self.fail(where, f"unknown type {kind!r}")
        bounds = _pick(
            schema,
            {
                "minLength": "min_length",
                "maxLength": "max_length",
                "pattern": "pattern",
                "minimum": "ge",
                "maximum": "le",
                "exclusiveMinimum": "gt",
                "exclusiveMaximum": "lt",
                "multipleOf": "multiple_of",
            },
        )
        base = _SCALARS[kind]
        if kind in ("integer", "number"):
            # JSON Schema: `true` is no number, nor "3"; strict mode still takes 3 as a float.
            return Annotated[base, Field(strict=True, **bounds)]
        return Annotated[base, Field(**bounds)] if bounds else base

    def resolve(self, schema: Json, where: str) -> Json:
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise self.fail(where, f"only local $refs are supported, not {ref!r}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            if not isinstance(target, dict):
                raise self.fail(where, f"$ref {ref!r} points at nothing")
            schema = {**{k: v for k, v in schema.items() if k != "$ref"}, **target}
            seen += 1
            if seen > 20:
                raise self.fail(where, f"$ref {ref!r} is recursive, which is not supported")
        return schema

    def check_keywords(self, schema: Json, where: str) -> None:
        unknown = sorted(key for key in schema if key not in _KNOWN and not key.startswith("x-"))
        if unknown:
            raise self.fail(where, f"unsupported JSON Schema keyword(s): {', '.join(unknown)}")


def _pick(schema: Json, names: dict[str, str]) -> Json:
    return {ours: schema[theirs] for theirs, ours in names.items() if theirs in schema}


def _model_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace("-", "_").split("_")) or "Args"
