"""The case types the engine knows, by kind and by case-number prefix.

A case type's module is imported the first time the type is asked for: defining a type's events is
most of the engine's import time, and a command on one case (`casework show`) needs one type, not
four. Whoever iterates the types (the API, the command schemas) imports them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aggregates.base import Case

_TYPES: dict[str, tuple[str, str, str]] = {  # kind: (case-number prefix, module, class); each class says the same
    "labor_dispute": ("LD", "aggregates.labor_dispute", "LaborDispute"),
    "wage_negotiation": ("WN", "aggregates.wage_negotiation", "WageNegotiation"),
    "rectification_proposal": ("RP", "aggregates.rectification", "RectificationProposal"),
    "hardship": ("HS", "aggregates.hardship", "HardshipCase"),
}


class _CaseTypes(Mapping[str, "type[Case]"]):
    """Case types by a key (kind or prefix), each imported when first looked up."""

    def __init__(self, where: Mapping[str, tuple[str, str]]) -> None:
        self._where = where
        self._loaded: dict[str, type[Case]] = {}

    def __getitem__(self, key: str) -> type[Case]:
        try:
            return self._loaded[key]
        except KeyError:
            module, name = self._where[key]  # KeyError for an unknown key, as a dict
            cls: type[Case] = getattr(import_module(module), name)
            self._loaded[key] = cls
            return cls

    def __contains__(self, key: object) -> bool:
        return key in self._where

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


CASE_TYPES: Mapping[str, type[Case]] = _CaseTypes({kind: (m, c) for kind, (_, m, c) in _TYPES.items()})
BY_PREFIX: Mapping[str, type[Case]] = _CaseTypes({prefix: (m, c) for prefix, m, c in _TYPES.values()})


def case_type(kind: str) -> type[Case]:
    try:
        return CASE_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown case kind {kind!r}; known: {', '.join(CASE_TYPES)}") from None
