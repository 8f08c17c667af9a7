"""The catalogue of commands a caller may send: each action's parameters, read from the aggregates.

The parameters of an action are its aggregate method's keyword arguments, except those the
engine supplies itself (ids, case numbers, whether an offer is the first of its document) and,
for the few actions the engine prepares (a rectification step opens a linked case; a link names
the other case by reference), the parameters the engine takes instead. The API builds its
request schemas from this, so a new parameter in an aggregate reaches the API without a second
declaration.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from aggregates.base import Case
from engine.registry import CASE_TYPES

SUPPLIED_BY_ENGINE = frozenset({"self", "cls", "ctx", "case_id", "number", "first_of_document"})

PREPARED: dict[str, dict[str, tuple[Any, bool]]] = {
    # action -> {parameter: (annotation, required)} the engine takes instead of the method's own.
    "issue_rectification": {"items": (Sequence[Mapping[str, Any]], True), "issuing_union": (str | None, False),
                            "assignee": (str | None, False)},
    "link_case": {"case": (str, True), "relation": (str, True)},
    # The pending step decides which of these apply; the engine fills the defaults the scheduler would use.
    "confirm_escalation": {"acting_union": (str | None, False), "items": (Sequence[Mapping[str, Any]] | None, False),
                           "issuing_union": (str | None, False), "assignee": (str | None, False)},
}


@dataclass(frozen=True)
class Parameter:
    name: str
    annotation: Any
    required: bool
    default: Any = None


@cache
def parameters(kind: str, action: str) -> tuple[Parameter, ...]:
    """What a caller passes to run `action` on a case of `kind` (opening actions include org_unit)."""
    cls: type[Case] = CASE_TYPES[kind]
    if action in PREPARED:
        return tuple(Parameter(name, ann, req) for name, (ann, req) in PREPARED[action].items())
    method = getattr(cls, action)
    hints = typing.get_type_hints(method)
    found = []
    for p in inspect.signature(method).parameters.values():
        if p.name in SUPPLIED_BY_ENGINE:
            continue
        required = p.default is inspect.Parameter.empty
        found.append(Parameter(p.name, hints.get(p.name, Any), required, None if required else p.default))
    return tuple(found)


def catalogue() -> dict[str, dict[str, tuple[Parameter, ...]]]:
    """Every action of every case type with its parameters."""
    return {kind: {name: parameters(kind, name) for name in cls.TABLE.actions} for kind, cls in CASE_TYPES.items()}
