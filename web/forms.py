"""Action forms drawn from the command catalogue (`engine.catalogue`): the same parameters, types and markers the
API's request schemas are built from, so a new action or parameter reaches the workspace without a second form.

A parameter of a simple type becomes one field: text (a textarea when it may be long), a select for a choice,
checkboxes for a list of choices, a number, a date, a checkbox for yes/no, decimal text for money and
percentages, one line per item for a list of texts. A structured part (claims, items, a household) has no
field yet: such an action's form says so.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aggregates.fields import Choice, Money, Nested, Percent, Text
from engine.catalogue import Parameter, parameters

LONG_TEXT = 200
"""A text that may be longer than this is a textarea."""


@dataclass(frozen=True)
class Field:
    """One field of an action form."""

    name: str
    widget: str
    """text, textarea, select, checkboxes, number, date, checkbox, decimal or lines"""
    required: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None


@dataclass(frozen=True)
class ActionForm:
    """The fields of one action of one case type, and the parameters no simple field can carry."""

    kind: str
    action: str
    fields: tuple[Field, ...]
    unsupported: tuple[str, ...] = ()
    """Parameters no simple field carries: optional ones are left out; a required one keeps the form closed."""
    blocked: bool = False
    """A required parameter has no field yet: the action is run through the API for now."""


@dataclass
class Submission:
    """A submitted form as the engine's keyword arguments, and what is wrong with each bad field."""

    data: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _field(p: Parameter) -> Field | None:
    """The field for parameter `p`, or None when it needs more than one simple field."""
    markers = {type(m): m for m in p.metadata}
    if Nested in markers:
        return None
    annotation = _without_none(p.annotation)
    choice = markers.get(Choice)
    choices = choice.choices if isinstance(choice, Choice) else ()
    text = markers.get(Text)
    max_length = text.max if isinstance(text, Text) else None
    origin = typing.get_origin(annotation)
    if origin in (collections.abc.Sequence, list, tuple):
        (item,) = typing.get_args(annotation)[:1] or (Any,)
        if item is not str:
            return None
        return Field(p.name, "checkboxes" if choices else "lines", p.required, choices, max_length)
    if Money in markers or Percent in markers:
        return Field(p.name, "decimal", p.required)
    if annotation is bool:
        return Field(p.name, "checkbox", False)
    if annotation is int:
        return Field(p.name, "number", p.required)
    if annotation is date:
        return Field(p.name, "date", p.required)
    if annotation is str:
        if choices:
            return Field(p.name, "select", p.required, choices)
        widget = "text" if max_length is not None and max_length <= LONG_TEXT else "textarea"
        return Field(p.name, widget, p.required, (), max_length or 2000)
    return None


def action_form(kind: str, action: str) -> ActionForm:
    """The form for `action` on a case of `kind`."""
    found: list[Field] = []
    unsupported: list[str] = []
    blocked = False
    for p in parameters(kind, action):
        f = _field(p)
        if f is None:
            unsupported.append(p.name)
            blocked = blocked or p.required
        else:
            found.append(f)
    return ActionForm(kind, action, tuple(found), tuple(unsupported), blocked)


def read(form: ActionForm, values: Any) -> Submission:
    """The engine's keyword arguments from submitted `values` (a MultiDict): empty optional fields left out,
    numbers and dates parsed, a missing required field or an unreadable value named."""
    out = Submission()
    for f in form.fields:
        if f.widget == "checkbox":
            out.data[f.name] = values.get(f.name) == "on"
            continue
        if f.widget == "checkboxes":
            picked = [v for v in values.getlist(f.name) if v in f.choices]
            if picked or f.required:
                out.data[f.name] = picked
            continue
        raw = (values.get(f.name) or "").strip()
        if not raw:
            if f.required:
                out.problems[f.name] = "is required"
            continue
        if f.widget == "lines":
            out.data[f.name] = [line.strip() for line in raw.splitlines() if line.strip()]
        elif f.widget == "number":
            if raw.lstrip("-").isdigit():
                out.data[f.name] = int(raw)
            else:
                out.problems[f.name] = "must be a whole number"
        elif f.widget == "date":
            try:
                out.data[f.name] = date.fromisoformat(raw)
            except ValueError:
                out.problems[f.name] = "must be a date (YYYY-MM-DD)"
        elif f.max_length is not None and len(raw) > f.max_length:
            out.problems[f.name] = f"must be at most {f.max_length} characters"
        else:
            out.data[f.name] = raw
    return out
