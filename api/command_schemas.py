"""One marshmallow request schema per command of every case type, built from the engine's catalogue.

The fields come from each action's parameters (their names and type hints in `aggregates/`), so
the API never keeps a second list of what a command takes. Nested parts (applicants, claims,
items, household, ...) use the schemas in `api.fields`; a parameter of a shape with no schema
here fails at import, not at run time.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any
from uuid import UUID

import marshmallow as ma
from marshmallow import fields, validate

from api.fields import (
    ClaimSchema,
    Day,
    DecimalText,
    EmployerSchema,
    EnterpriseSchema,
    HouseholdSchema,
    ItemDeadlineSchema,
    ItemSchema,
    PersonSchema,
    SourceSchema,
    Strict,
    TermsSchema,
    Text,
    Whole,
)
from engine.catalogue import Parameter, parameters
from engine.registry import CASE_TYPES

MAX_ITEMS = 200
TEXT_LIMITS = {"assignee": 120, "mediator": 120, "document_number": 120, "org_unit": 200, "clock": 48,
               "case": 64, "relation": 64, "issuing_union": 200, "acting_union": 200, "authority": 200,
               "bureau": 200, "side": 20, "result": 20, "outcome": 2000, "aid_type": 20, "fund": 200,
               "period": 40, "category": 40, "recommended_category": 40, "employer": 200}
SIGNED_PERCENT = {"wage_increase_pct"}

NESTED: dict[str, Any] = {
    "employer": lambda: fields.Nested(EmployerSchema),
    "enterprise": lambda: fields.Nested(EnterpriseSchema),
    "applicants": lambda: fields.List(fields.Nested(PersonSchema), validate=validate.Length(max=MAX_ITEMS)),
    "worker": lambda: fields.Nested(PersonSchema),
    "claims": lambda: fields.List(fields.Nested(ClaimSchema), validate=validate.Length(max=MAX_ITEMS)),
    "household": lambda: fields.Nested(HouseholdSchema),
    "terms": lambda: fields.Nested(TermsSchema),
    "items": lambda: fields.List(fields.Nested(ItemSchema), validate=validate.Length(max=MAX_ITEMS)),
    "item_deadlines": lambda: fields.List(fields.Nested(ItemDeadlineSchema), validate=validate.Length(max=MAX_ITEMS)),
    "source": lambda: fields.Nested(SourceSchema),
    "amounts": lambda: fields.Dict(keys=Text(max_length=100), values=DecimalText(),
                                   validate=validate.Length(max=MAX_ITEMS)),
}


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return annotation, False


def field_for(p: Parameter) -> fields.Field:
    """The marshmallow field for one command parameter."""
    annotation, optional = _unwrap_optional(p.annotation)
    options: dict[str, Any] = {"required": p.required, "allow_none": optional}
    if not p.required and p.default not in (None, (), ""):
        options["load_default"] = p.default
    origin = typing.get_origin(annotation)
    if origin in (Mapping, dict) or (origin in (Sequence, list) and typing.get_args(annotation)
                                     and typing.get_origin(typing.get_args(annotation)[0]) in (Mapping, dict)):
        if p.name not in NESTED:
            raise TypeError(f"parameter {p.name!r} ({p.annotation}) has no nested schema in api.command_schemas")
        field = NESTED[p.name]()
        field.required, field.allow_none = p.required, optional
        return field
    if origin in (Sequence, list):
        return fields.List(Text(max_length=200), validate=validate.Length(max=MAX_ITEMS), **options)
    if annotation is bool:
        return fields.Boolean(**options)
    if annotation is int:
        return Whole(**options)
    if annotation is date:
        return Day(**options)
    if annotation is UUID:
        return fields.UUID(**options)
    if annotation is str:
        return Text(max_length=TEXT_LIMITS.get(p.name, 2000), **options)
    if annotation is Any:  # amounts and percentages: parsed by the aggregate from decimal text
        if p.name in SIGNED_PERCENT:
            return DecimalText(signed=True, places=4, digits=3, **options)
        return DecimalText(**options)
    raise TypeError(f"parameter {p.name!r} has a type the API cannot express: {p.annotation}")


class CommandBase(Strict):
    reason = Text(max_length=2000, allow_none=True, metadata={
        "description": "why: required for declines, rejections, escalations, extensions, withdrawals, closures"})
    occurred_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "business time, when it happened earlier than now (back-dating within the policy's limit)"})


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
    attrs: dict[str, Any] = {p.name: field_for(p) for p in parameters(kind, action)
                             if not (a.creates and p.name in ("org_unit", "assignee"))}
    if a.reason_required:  # the engine refuses the action without one; the document says so up front
        attrs["reason"] = Text(required=True, min_length=1, max_length=2000, metadata={"description": "why"})
    base = OpenBase if a.creates else CommandBase
    return type(f"{_camel(kind)}{_camel(action)}Command", (base,), attrs)


def all_command_schemas() -> dict[tuple[str, str], type[ma.Schema]]:
    return {(kind, action): command_schema(kind, action)
            for kind, cls in CASE_TYPES.items() for action in cls.TABLE.actions}
