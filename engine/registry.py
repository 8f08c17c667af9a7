"""The case types the engine knows, by kind and by case-number prefix."""

from __future__ import annotations

from aggregates.base import Case
from aggregates.hardship import HardshipCase
from aggregates.labor_dispute import LaborDispute
from aggregates.rectification import RectificationProposal
from aggregates.wage_negotiation import WageNegotiation

CASE_TYPES: dict[str, type[Case]] = {
    cls.KIND: cls for cls in (LaborDispute, WageNegotiation, RectificationProposal, HardshipCase)
}
BY_PREFIX: dict[str, type[Case]] = {cls.PREFIX: cls for cls in CASE_TYPES.values()}


def case_type(kind: str) -> type[Case]:
    try:
        return CASE_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown case kind {kind!r}; known: {', '.join(CASE_TYPES)}") from None
