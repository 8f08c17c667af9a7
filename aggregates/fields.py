"""What a command parameter holds, declared on the parameter itself with `typing.Annotated`.

A parameter's type says what the aggregate receives; these markers say what the type alone cannot:
how long a text may be, that a loosely typed value is an amount of money or a percentage, which
named shape a nested part has, which values a text may take. The adapters that describe commands
to callers (the HTTP API's request schemas and its OpenAPI document) are built from them, so
renaming a parameter renames a field and changes nothing else. They describe; the aggregate's own
checks still decide what it accepts.

    def start_mediation(self, ctx: Context, *, mediator: Annotated[str, Text(max=120)]) -> None: ...

On a sequence, a marker describes each item: `Annotated[Sequence[str], Text(max=200)]` is a list of
texts of at most 200 characters each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Text:
    """Text of at most `max` characters (a text parameter without this marker: at most 2000), and at least `min`."""

    max: int = 2000
    min: int = 0


@dataclass(frozen=True)
class Choice:
    """Text that is one of `choices`; the aggregate refuses anything else, naming them."""

    choices: tuple[str, ...]


@dataclass(frozen=True)
class Money:
    """An amount in CNY as decimal text ("8600.00"): at most `digits` digits before the point, `places` after."""

    digits: int = 12
    places: int = 2


@dataclass(frozen=True)
class Percent:
    """A percentage as decimal text ("5.5"); below zero too when `signed` (a wage cut)."""

    signed: bool = False
    digits: int = 3
    places: int = 4


@dataclass(frozen=True)
class Nested:
    """A structured part (a mapping, or each mapping of a sequence) of the named `shape`: "claim", "person",
    "item", ... Each adapter keeps one definition per shape."""

    shape: str


@dataclass(frozen=True)
class Bounds:
    """A whole number from `min` to `max` (without this marker: any that fits in 32 bits)."""

    min: int
    max: int


@dataclass(frozen=True)
class Help:
    """What a caller needs to know to fill the field in (the OpenAPI description, the form's hint)."""

    text: str


class _Omitted:
    def __repr__(self) -> str:
        return "OMITTED"


OMITTED: Any = _Omitted()
"""The default of a part a caller may leave out and that has no value of its own (nor null) when left out."""

Marker = Text | Choice | Money | Percent | Nested | Bounds | Help
"""Every kind of declaration a parameter may carry."""
