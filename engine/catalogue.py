"""The catalogue of commands a caller may send: each action's parameters, read from the aggregates.

The parameters of an action are its aggregate method's keyword arguments, except those the
engine supplies itself (ids, case numbers, whether an offer is the first of its document) and,
for the few actions the engine prepares (a rectification step opens a linked case; a link names
the other case by reference), the parameters the engine takes instead, as each case type's
engine side declares them (engine/case_types/). A nested part's fields are its shape's
(`aggregates.shapes`, `shape_parts`). The API builds its request schemas from this, and the web
workspace its forms,
so a new parameter in an aggregate reaches the API without a second declaration: its type, and
what its `typing.Annotated` markers (`aggregates.fields`) declare.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import operator
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from aggregates.base import Case
from aggregates.fields import Marker
from aggregates.shapes import SHAPES
from engine.case_types import engine_side, prepared
from engine.registry import CASE_TYPES

SUPPLIED_BY_ENGINE = frozenset({"self", "cls", "ctx", "case_id", "number"})
"""Parameters of every case type's methods that the engine fills in; a case type's engine side may name more."""


@dataclass(frozen=True)
class Parameter:
    """One parameter of a command: its type (`Annotated` markers taken off into `metadata`), whether a caller
    must give it, and its default."""

    name: str
    annotation: Any
    required: bool
    default: Any = None
    metadata: tuple[Marker, ...] = ()


def declared(hint: Any) -> tuple[Any, tuple[Marker, ...]]:
    """A type hint without its `Annotated` markers, and the markers: `Annotated[str | None, Text(max=120)]` and
    `Annotated[str, Text(max=120)] | None` both give `(str | None, (Text(max=120),))`."""
    if typing.get_origin(hint) is Annotated:
        annotated, *markers = typing.get_args(hint)
        inner, nested = declared(annotated)
        return inner, (*markers, *nested)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        parts = [declared(arg) for arg in typing.get_args(hint)]
        return functools.reduce(operator.or_, (part for part, _ in parts)), tuple(m for _, ms in parts for m in ms)
    return hint, ()


@functools.cache
def parameters(kind: str, action: str) -> tuple[Parameter, ...]:
    """What a caller passes to run `action` on a case of `kind` (opening actions include org_unit)."""
    cls: type[Case] = CASE_TYPES[kind]
    instead = prepared(kind, action)
    if instead is not None:
        return tuple(_parameter(name, hint, required) for name, (hint, required) in instead.parameters.items())
    supplied = SUPPLIED_BY_ENGINE | engine_side(kind).supplied
    method = getattr(cls, action)
    hints = typing.get_type_hints(method, include_extras=True)
    found = []
    for p in inspect.signature(method).parameters.values():
        if p.name in supplied:
            continue
        required = p.default is inspect.Parameter.empty
        found.append(_parameter(p.name, hints.get(p.name, Any), required, None if required else p.default))
    return tuple(found)


def _parameter(name: str, hint: Any, required: bool, default: Any = None) -> Parameter:
    annotation, metadata = declared(hint)
    return Parameter(name, annotation, required, default, metadata)


@functools.cache
def shape_parts(shape: str) -> tuple[Parameter, ...]:
    """The fields of a nested part of `shape`, as parameters (a `Keyed` shape has none: its caller names its keys)."""
    declaration = SHAPES[shape]
    if not isinstance(declaration, type):
        return ()
    hints = typing.get_type_hints(declaration, include_extras=True)
    parts = []
    for f in dataclasses.fields(declaration):
        required = f.default is dataclasses.MISSING
        parts.append(_parameter(f.name, hints[f.name], required, None if required else f.default))
    return tuple(parts)


def catalogue() -> dict[str, dict[str, tuple[Parameter, ...]]]:
    """Every action of every case type with its parameters."""
    return {kind: {name: parameters(kind, name) for name in cls.TABLE.commands} for kind, cls in CASE_TYPES.items()}
