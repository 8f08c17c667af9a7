"""Each case type's engine side, registered by kind: what the engine does for a command beyond calling the
aggregate's method.

Most actions need nothing but their aggregate. Those that need the database or another case are prepared
here: a hardship application is checked against every other open case of the person; a negotiation's
rectification step opens the linked proposal; a link names the other case by number. A case type with such
actions has one module, `engine/case_types/<kind>.py`, whose `ENGINE_SIDE` declares them, and is named in
`MODULES`. The service looks preparations up by kind and action and names no kind; the catalogue
(engine/catalogue.py) reads from here what a prepared action takes instead of its method's parameters; the
reactions (engine/reactions.py) read what follows on another case. A module is imported when its kind is
first asked for, as the aggregates are (engine/registry.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from typing import Annotated, Any, NamedTuple

from aggregates.base import Case
from aggregates.errors import InvalidCommand
from aggregates.fields import Text
from engine.lookup import find_in
from engine.unit_of_work import UnitOfWork

MODULES: Mapping[str, str] = {
    "wage_negotiation": "engine.case_types.wage_negotiation",
    "hardship": "engine.case_types.hardship",
}
"""kind -> the module that holds its engine side; a kind not named here has none."""

Preparation = Callable[[UnitOfWork, Case, dict[str, Any]], None]
"""Turns what a caller sent for an action on a case into what the aggregate's method takes (in place), inside the
command's unit of work: it may read the database and load or open other cases, or refuse the command."""
OpeningPreparation = Callable[[UnitOfWork, dict[str, Any]], None]
"""The same for the action that opens a case of the kind (before there is a case)."""
Reaction = Callable[[UnitOfWork, Case, str], None]
"""What follows, in the same unit of work, from an action (the third argument) recorded on a case of another kind."""


@dataclass(frozen=True)
class Prepared:
    """An action the engine prepares, and what a caller passes for it instead of its method's own parameters."""

    prepare: Preparation
    parameters: Mapping[str, tuple[Any, bool]]
    """name -> (type hint, required), read by the catalogue."""


@dataclass(frozen=True)
class EngineSide:
    """One case type's engine side."""

    opening: OpeningPreparation | None = None
    supplied: frozenset[str] = frozenset()
    """Parameters of the aggregate's methods that the engine fills in and a caller never passes."""
    actions: Mapping[str, Prepared] = field(default_factory=dict)
    reactions: Mapping[tuple[str, str], Reaction] = field(default_factory=dict)
    """(kind, action) recorded on another case -> what a case of this type does about it."""


class Planned(NamedTuple):
    """A step the engine decided to take on a case by itself (a sweep's step): the action, its parameters and the
    reason recorded with it."""

    action: str
    data: dict[str, Any]
    reason: str


def name_the_linked_case(uow: UnitOfWork, case: Case, data: dict[str, Any]) -> None:
    """A link given as `case` (a number or an id) names a case that exists; the aggregate records its id, number
    and kind."""
    if "case" not in data:
        return
    ref = data.pop("case")
    other = find_in(uow.session, ref)
    if other is None:
        raise InvalidCommand(case.label, "link_case", {"case": f"no case {ref}"})
    data.update(case_id=other.case_id, number=other.number, kind=other.kind)


COMMON: Mapping[str, Prepared] = {
    "link_case": Prepared(
        name_the_linked_case,
        {"case": (Annotated[str, Text(max=64)], True), "relation": (Annotated[str, Text(max=64)], True)},
    ),
}
"""Actions every case type has that the engine prepares the same way for all of them."""
NOTHING = EngineSide()


@cache
def engine_side(kind: str) -> EngineSide:
    """The engine side of `kind` (nothing for a kind whose actions need only their aggregate)."""
    module = MODULES.get(kind)
    if module is None:
        return NOTHING
    side: EngineSide = import_module(module).ENGINE_SIDE
    return side


def prepared(kind: str, action: str) -> Prepared | None:
    """How the engine prepares `action` on a case of `kind`, if it does."""
    return engine_side(kind).actions.get(action) or COMMON.get(action)


def prepare_opening(uow: UnitOfWork, kind: str, data: dict[str, Any]) -> None:
    """Prepare the parameters of the action that opens a case of `kind`."""
    opening = engine_side(kind).opening
    if opening is not None:
        opening(uow, data)


def prepare(uow: UnitOfWork, case: Case, action: str, data: dict[str, Any]) -> None:
    """Prepare the parameters of `action` on `case`."""
    found = prepared(case.KIND, action)
    if found is not None:
        found.prepare(uow, case, data)


def reactions_to(kind: str, action: str) -> list[Reaction]:
    """What every case type does when `action` is recorded on a case of `kind`."""
    return [reaction for other in MODULES if (reaction := engine_side(other).reactions.get((kind, action)))]
