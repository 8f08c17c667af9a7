"""Forms drawn from the command catalogue (`engine.catalogue`): the same parameters, types and markers the API's
request schemas are built from, so a new action or parameter reaches the workspace without a second form.

A parameter of a simple type becomes one input: text (a textarea when it may be long), a select for a choice,
checkboxes for a list of choices, a number, a date, a checkbox for yes/no, decimal text for money and
percentages, one line per item for a list of texts. A structured part is its shape's fields (`aggregates.shapes`)
in a group; a list of parts is a group of rows, one more added by the form's "add a row" button (no script); a
part whose keys the caller names (amounts by name) is rows of a name and an amount. Inputs are named by their
path: `employer.name`, `claims.0.amount`, as the engine names a refused value (`claims[0].amount`). What is
wrong with an input is said in the reader's language; what the engine refuses, in its own words.
"""

from __future__ import annotations

import collections.abc
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext

from aggregates.fields import Bounds, Choice, Help, Money, Nested, Percent, Text
from aggregates.shapes import SHAPES, Keyed
from engine.catalogue import Parameter, parameters, shape_parts

LONG_TEXT = 200
"""A text that may be longer than this is a textarea."""
MAX_ROWS = 200
"""The most rows a list of parts may have (the API's limit on a list)."""
GROUPS = ("group", "rows", "keyed")


@dataclass(frozen=True)
class Field:
    """One input of a form, or a group of them (`widget` in GROUPS, with `parts`)."""

    name: str
    widget: str
    """text, textarea, select, checkboxes, number, date, checkbox, decimal, lines; or group, rows, keyed"""
    required: bool
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    help: str | None = None
    bounds: Bounds | None = None
    parts: tuple[Field, ...] = ()
    """A group's fields: each part of its shape (rows: of each row; keyed: the name and the amount)."""


@dataclass(frozen=True)
class ActionForm:
    """The fields of one action of one case type, and the parameters no field can carry."""

    kind: str
    action: str
    fields: tuple[Field, ...]
    unsupported: tuple[str, ...] = ()
    """Parameters no field carries: optional ones are left out; a required one keeps the form closed."""
    blocked: bool = False
    """A required parameter has no field: the action is run through the API."""


@dataclass
class Submission:
    """A submitted form as the engine's keyword arguments, and what is wrong with each bad input (by its path)."""

    data: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _is_mapping(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (collections.abc.Mapping, dict)


def _group(p: Parameter, shape: str, repeated: bool) -> Field | None:
    declaration = SHAPES.get(shape)
    if isinstance(declaration, Keyed):
        name = Field("name", "text", True, max_length=declaration.key_max)
        return Field(p.name, "keyed", p.required, parts=(name, Field("amount", "decimal", True)))
    parts = [(part, _field(part)) for part in shape_parts(shape)]
    if declaration is None or any(f is None and part.required for part, f in parts):
        return None
    found = tuple(f for _, f in parts if f is not None)
    return Field(p.name, "rows" if repeated else "group", p.required, parts=found)


def _field(p: Parameter) -> Field | None:
    """The field for parameter (or part) `p`, or None when no input can carry it."""
    markers = {type(m): m for m in p.metadata}
    annotation = _without_none(p.annotation)
    origin = typing.get_origin(annotation)
    items = typing.get_args(annotation)[0] if origin in (collections.abc.Sequence, list) else None
    nested = markers.get(Nested)
    if isinstance(nested, Nested) and (_is_mapping(annotation) or _is_mapping(items)):
        return _group(p, nested.shape, repeated=items is not None)
    choice = markers.get(Choice)
    choices = choice.choices if isinstance(choice, Choice) else ()
    text = markers.get(Text)
    max_length = text.max if isinstance(text, Text) else None
    help_ = markers.get(Help)
    hint = help_.text if isinstance(help_, Help) else None
    bounds = markers.get(Bounds)
    if items is not None:
        if items is not str:
            return None
        return Field(p.name, "checkboxes" if choices else "lines", p.required, choices, max_length, hint)
    if Money in markers or Percent in markers:
        return Field(p.name, "decimal", p.required, help=hint)
    if annotation is bool:
        return Field(p.name, "checkbox", False, help=hint)
    if annotation is int:
        return Field(p.name, "number", p.required, help=hint, bounds=bounds if isinstance(bounds, Bounds) else None)
    if annotation is date:
        return Field(p.name, "date", p.required, help=hint)
    if annotation is str:
        if choices:
            return Field(p.name, "select", p.required, choices, help=hint)
        widget = "text" if max_length is not None and max_length <= LONG_TEXT else "textarea"
        return Field(p.name, widget, p.required, (), max_length or 2000, hint)
    return None


def form_of(kind: str, action: str, leave_out: frozenset[str] = frozenset()) -> ActionForm:
    """The form for `action` on a case of `kind`, without the parameters in `leave_out` (the page asks for them
    itself, as the opening form does for the org unit)."""
    found: list[Field] = []
    unsupported: list[str] = []
    blocked = False
    for p in parameters(kind, action):
        if p.name in leave_out:
            continue
        f = _field(p)
        if f is None:
            unsupported.append(p.name)
            blocked = blocked or p.required
        else:
            found.append(f)
    return ActionForm(kind, action, tuple(found), tuple(unsupported), blocked)


def action_form(kind: str, action: str) -> ActionForm:
    """The form for `action` on a case of `kind`."""
    return form_of(kind, action)


def input_path(engine_key: str) -> str:
    """The input a refusal names: the engine's `claims[0].amount` is the input `claims.0.amount`."""
    return re.sub(r"\[(\d+)\]", r".\1", engine_key)


def row_count(f: Field, values: Any, add: str | None = None) -> int:
    """How many rows group `f` shows: those submitted (at least one), and one more when `add` names it."""
    row = re.compile(rf"{re.escape(f.name)}\.(\d+)\.")
    indices = [int(found.group(1)) for key in values if (found := row.match(key))]
    shown = max([i + 1 for i in indices], default=1)
    return min(MAX_ROWS, shown + (1 if add == f.name else 0))


def input_paths(form: ActionForm, values: Any) -> set[str]:
    """The path of every input and group the form shows for `values`."""
    paths: set[str] = set()
    for f in form.fields:
        paths.add(f.name)
        if f.widget == "group":
            paths.update(f"{f.name}.{part.name}" for part in f.parts)
        elif f.widget in ("rows", "keyed"):
            for i in range(row_count(f, values)):
                paths.update(f"{f.name}.{i}.{part.name}" for part in f.parts)
    return paths


def read(form: ActionForm, values: Any) -> Submission:
    """The engine's keyword arguments from submitted `values` (a MultiDict): empty optional inputs and blank rows
    left out, numbers and dates parsed, a missing required input or an unreadable value named by its path."""
    out = Submission()
    for f in form.fields:
        if f.widget == "group":
            part = _read_parts(f.parts, f"{f.name}.", values, out.problems)
            if part:
                out.data[f.name] = part
            elif f.required:
                out.problems[f.name] = gettext("is required")
        elif f.widget in ("rows", "keyed"):
            rows = []
            for i in range(row_count(f, values)):
                row = _read_parts(f.parts, f"{f.name}.{i}.", values, out.problems)
                if row:
                    rows.append(row)
            if f.widget == "keyed":
                if rows:
                    out.data[f.name] = {row["name"]: row["amount"] for row in rows if "name" in row and "amount" in row}
            elif rows or f.required:
                out.data[f.name] = rows
            if f.required and not rows:
                out.problems[f.name] = gettext("needs at least one row")
        else:
            _read_input(f, f.name, values, out.data, out.problems)
    return out


def _read_parts(parts: tuple[Field, ...], prefix: str, values: Any, problems: dict[str, str]) -> dict[str, Any]:
    """One part from the inputs under `prefix`: empty when every input is blank (a row left empty is no row)."""
    if not any((values.get(prefix + p.name) or "").strip() for p in parts if p.widget not in ("checkbox",)):
        return {}
    found: dict[str, Any] = {}
    for p in parts:
        _read_input(p, prefix + p.name, values, found, problems, key=p.name)
    return found


def _read_input(
    f: Field, path: str, values: Any, data: dict[str, Any], problems: dict[str, str], key: str | None = None
) -> None:
    """Read input `path` of field `f` into `data[key or f.name]`, or name its problem in `problems[path]`."""
    key = key or f.name
    if f.widget == "checkbox":
        data[key] = values.get(path) == "on"
        return
    if f.widget == "checkboxes":
        picked = [v for v in values.getlist(path) if v in f.choices]
        if picked or f.required:
            data[key] = picked
        return
    raw = (values.get(path) or "").strip()
    if not raw:
        if f.required:
            problems[path] = gettext("is required")
        return
    if f.widget == "lines":
        data[key] = [line.strip() for line in raw.splitlines() if line.strip()]
    elif f.widget == "number":
        if not re.fullmatch(r"-?\d{1,10}", raw):
            problems[path] = gettext("must be a whole number")
        elif f.bounds is not None and not f.bounds.min <= int(raw) <= f.bounds.max:
            problems[path] = gettext("must be from %(min)s to %(max)s", min=f.bounds.min, max=f.bounds.max)
        else:
            data[key] = int(raw)
    elif f.widget == "date":
        try:
            data[key] = date.fromisoformat(raw)
        except ValueError:
            problems[path] = gettext("must be a date (YYYY-MM-DD)")
    elif f.widget == "decimal" and not re.fullmatch(r"-?\d{1,15}(\.\d{1,4})?", raw):
        problems[path] = gettext("must be a number such as 8600.00")
    elif f.widget == "select" and raw not in f.choices:
        problems[path] = gettext("must be one of %(choices)s", choices=", ".join(f.choices))
    elif f.max_length is not None and len(raw) > f.max_length:
        problems[path] = gettext("must be at most %(n)s characters", n=f.max_length)
    else:
        data[key] = raw
