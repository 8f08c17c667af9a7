"""Cross-case reactions: what an action recorded on one case calls for on another, in the same command.

Each case type's engine side declares the reactions it takes, keyed by the kind and action of the case that
acted (engine/case_types/): a negotiation follows its rectification proposal's outcome. They run inside the
command that records the action, so the cases change in one transaction; a sweep catches any the inline path
missed, and the stage tables and state guards let each step happen once.
"""

from __future__ import annotations

from aggregates.base import Case
from engine.case_types import reactions_to
from engine.unit_of_work import UnitOfWork


def react(uow: UnitOfWork, case: Case, action: str) -> None:
    """Apply, in the same unit of work, every reaction that `action` recorded on `case` calls for."""
    for reaction in reactions_to(case.KIND, action):
        reaction(uow, case, action)
