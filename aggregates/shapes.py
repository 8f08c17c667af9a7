"""The nested parts of commands, by the shape name their parameters declare (`aggregates.fields.Nested`).

Each shape is declared once, here, as the fields a part holds, with the same `Annotated` markers the
parameters carry: the HTTP API builds its request schema for the shape from it, the web workspace its
group of fields (or repeatable rows, for a list of parts). A field without a default must be given;
`OMITTED` marks one a caller may leave out; `| None` one that may also be null. These classes are
declarations: the aggregates receive plain mappings and check them themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from aggregates.fields import OMITTED, Bounds, Choice, Help, Money, Percent, Text
from aggregates.labor_dispute import CLAIM_CATEGORIES
from aggregates.rectification import ITEM_CATEGORIES, SOURCE_KINDS

CREDIT_CODE_HELP = (
    "unified social credit code (统一社会信用代码): 18 characters; spaces and full-width characters are normalised"
)
ID_NUMBER_HELP = (
    "居民身份证号码 (GB 11643): 17 digits and a check digit or X; full-width digits and spaces are accepted and "
    "normalised; a wrong check digit is refused"
)


@dataclass(frozen=True)
class Employer:
    name: Annotated[str, Text(max=200, min=1)]
    credit_code: Annotated[str, Text(max=40), Help(CREDIT_CODE_HELP)] = OMITTED  # room for spaces taken out


@dataclass(frozen=True)
class Enterprise(Employer):
    employees: Annotated[int, Bounds(0, 10_000_000)] | None = OMITTED


@dataclass(frozen=True)
class Person:
    name: Annotated[str, Text(max=100, min=1)]
    id_number: Annotated[str, Text(max=40), Help(ID_NUMBER_HELP)] = OMITTED  # room for spaces taken out
    phone: Annotated[str, Text(max=30)] = OMITTED
    address: Annotated[str, Text(max=300)] = OMITTED


@dataclass(frozen=True)
class Claim:
    category: Annotated[str, Text(max=40), Choice(CLAIM_CATEGORIES)]
    amount: Annotated[Any, Money()] = "0"
    description: Annotated[str, Text()] = OMITTED


@dataclass(frozen=True)
class Household:
    members: int
    monthly_income_per_capita: Annotated[Any, Money()]
    local_minimum: Annotated[Any, Money()]


@dataclass(frozen=True)
class Terms:
    wage_increase_pct: Annotated[Any, Percent(signed=True)] | None = OMITTED
    minimum_wage: Annotated[Any, Money()] | None = OMITTED
    other: Annotated[str, Text(max=4000)] = OMITTED


@dataclass(frozen=True)
class Item:
    category: Annotated[str, Text(max=40), Choice(ITEM_CATEGORIES)]
    description: Annotated[str, Text()]
    legal_basis: Annotated[str, Text(max=500)]
    deadline: date


@dataclass(frozen=True)
class ItemDeadline:
    item_no: int
    deadline: date


@dataclass(frozen=True)
class Source:
    kind: Annotated[str, Text(max=20), Choice(SOURCE_KINDS)]
    case_id: UUID = OMITTED
    number: Annotated[str, Text(max=32)] = OMITTED


@dataclass(frozen=True)
class Keyed:
    """A part whose keys the caller names (at most `key_max` characters each), each holding `value`."""

    value: Money
    key_max: int


SHAPES: dict[str, type | Keyed] = {
    "employer": Employer,
    "enterprise": Enterprise,
    "person": Person,
    "claim": Claim,
    "household": Household,
    "terms": Terms,
    "item": Item,
    "item_deadline": ItemDeadline,
    "source": Source,
    "amounts": Keyed(Money(), key_max=100),
}
"""Shape name (as `Nested` gives it) -> its declaration."""
