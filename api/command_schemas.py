"""One marshmallow request schema per command of every case type, built from the engine's catalogue.

The fields come from each action's parameters: their names, their types and what their `Annotated`
markers (`aggregates.fields`) declare — a text's length, money or a percentage, a nested part's
shape, the values a text may take. The API never keeps a second list of what a command takes, and
never guesses from a parameter's name: renaming one renames its field and nothing else. Nested parts
use the one schema per shape in `api.fields`; a parameter the API cannot express (an unknown shape,
a mapping without one, an untyped value that is neither money nor a percentage) fails at import,
naming it.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any, TypeVar
from uuid import UUID

import marshmallow as ma
from marshmallow import fields, validate

from aggregates import fields as declared
from aggregates.shapes import SHAPES, Keyed
from api.fields import MAX_ITEMS, Day, DecimalText, Strict, Text, Whole
from engine.catalogue import Parameter, parameters, shape_parts
from engine.registry import CASE_TYPES

M = TypeVar("M", bound=declared.Marker)


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def _marker(p: Parameter, kind: type[M]) -> M | None:
    return next((m for m in p.metadata if isinstance(m, kind)), None)


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (Mapping, dict)


def _text(p: Parameter, **options: Any) -> fields.Field:
    """Text as declared: its length (at most 2000 characters unless the parameter says otherwise) and choices."""
    length = _marker(p, declared.Text) or declared.Text()
    choice = _marker(p, declared.Choice)
    metadata = {**options.pop("metadata", {}), **({"enum": list(choice.choices)} if choice else {})}
    return Text(max_length=length.max, min_length=length.min, metadata=metadata, **options)


def _decimal(p: Parameter, **options: Any) -> fields.Field:
    """Money or a percentage, as decimal text (the aggregate parses it)."""
    money, percent = _marker(p, declared.Money), _marker(p, declared.Percent)
    if money:
        return DecimalText(digits=money.digits, places=money.places, **options)
    if percent:
        return DecimalText(signed=percent.signed, digits=percent.digits, places=percent.places, **options)
    raise TypeError(
        f"parameter {p.name!r} has no declared type ({p.annotation}): annotate it with "
        "aggregates.fields.Money or Percent"
    )


def _nested(p: Parameter) -> fields.Field:
    """The one schema of the parameter's declared shape."""
    nested = _marker(p, declared.Nested)
    if nested is None:
        raise TypeError(
            f"parameter {p.name!r} ({p.annotation}) declares no shape: annotate it with aggregates.fields.Nested"
        )
    if nested.shape not in SHAPES:
        raise TypeError(
            f"parameter {p.name!r} has the shape {nested.shape!r}, which aggregates.shapes.SHAPES does not "
            f"define (it defines {', '.join(SHAPES)})"
        )
    shape = SHAPES[nested.shape]
    if isinstance(shape, Keyed):
        return fields.Dict(
            keys=Text(max_length=shape.key_max),
            values=DecimalText(digits=shape.value.digits, places=shape.value.places),
            validate=validate.Length(max=MAX_ITEMS),
        )
    return fields.Nested(shape_schema(nested.shape))


@cache
def shape_schema(shape: str) -> type[ma.Schema]:
    """The request schema of a nested part of `shape`, made once (the OpenAPI document names it by its class)."""
    attrs: dict[str, Any] = {p.name: field_for(p) for p in shape_parts(shape)}
    return type(f"{_camel(shape)}Schema", (Strict,), attrs)


def field_for(p: Parameter) -> fields.Field:
    """The marshmallow field for one command parameter."""
    annotation, optional = _unwrap_optional(p.annotation)
    options: dict[str, Any] = {"required": p.required, "allow_none": optional}
    if not p.required and p.default is not declared.OMITTED and p.default not in (None, (), ""):
        options["load_default"] = p.default
    if help_ := _marker(p, declared.Help):
        options["metadata"] = {"description": help_.text}
    origin = typing.get_origin(annotation)
    items = typing.get_args(annotation)[0] if origin in (Sequence, list) and typing.get_args(annotation) else None
    if _is_mapping(annotation) or _is_mapping(items):
        field = _nested(p)
        if items is not None:
            field = fields.List(field, validate=validate.Length(max=MAX_ITEMS))
        field.required, field.allow_none = p.required, optional
        return field
    if origin in (Sequence, list):
        return fields.List(_text(p), validate=validate.Length(max=MAX_ITEMS), **options)
    if annotation is bool:
        return fields.Boolean(**options)
    if annotation is int:
        bounds = _marker(p, declared.Bounds)
        if bounds:
            options["validate"] = validate.Range(min=bounds.min, max=bounds.max)
        return Whole(**options)
    if annotation is date:
        return Day(**options)
    if annotation is UUID:
        return fields.UUID(**options)
    if annotation is str:
        return _text(p, **options)
    if annotation is Any:
        return _decimal(p, **options)
    raise TypeError(f"parameter {p.name!r} has a type the API cannot express: {p.annotation}")


class CommandBase(Strict):
    reason = Text(
        max_length=2000,
        allow_none=True,
        metadata={
            "description": "why: required for declines, rejections, escalations, extensions, withdrawals, closures"
        },
    )
    occurred_at = fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "business time, when it happened earlier than now (back-dating within the policy's limit)"
        },
    )


class OpenBase(CommandBase):
    org_unit = Text(max_length=200, metadata={"description": "the owning union (default: the caller's own)"})
    assignee = Text(max_length=120, allow_none=True)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@cache
def command_schema(kind: str, action: str) -> type[ma.Schema]:
    """The request schema of `action` on `kind` (an opening action's includes org_unit and assignee)."""
    cls = CASE_TYPES[kind]
    a = cls.TABLE.actions[action]
    attrs: dict[str, Any] = {
        p.name: field_for(p) for p in parameters(kind, action) if not (a.creates and p.name in ("org_unit", "assignee"))
    }
    if a.reason_required:  # the engine refuses the action without one; the document says so up front
        attrs["reason"] = Text(required=True, min_length=1, max_length=2000, metadata={"description": "why"})
    base = OpenBase if a.creates else CommandBase
    return type(f"{_camel(kind)}{_camel(action)}Command", (base,), attrs)


def all_command_schemas() -> dict[tuple[str, str], type[ma.Schema]]:
    return {
        (kind, action): command_schema(kind, action)
        for kind, cls in CASE_TYPES.items()
        for action in cls.TABLE.commands
    }
