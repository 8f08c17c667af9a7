"""The unit of work: what one command touches, saved together in one transaction.

A command loads the cases it acts on and opens the cases it creates through its unit of work; the
service saves every case the unit touched, with the read model and the command's record, when the
command's work is done. Case-type preparations and cross-case reactions receive the unit, never the
service.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlalchemy.orm import Session

from aggregates.base import Case, Context
from engine.database import dialect_insert
from engine.persons import PersonKeys
from engine.projection import clock_rows
from engine.registry import case_type
from engine.tables import case_numbers

COMMAND_NAMESPACE = uuid.UUID("6f1c2d1e-8f0a-4c59-9a53-3c1f0f4f2a10")
"""Cases a command opens get ids derived from the command id, so a retried command opens the same cases."""

CaseLoader = Callable[[Session, UUID], Case]
"""Reads a case for a command: checked against its hash chain, and locked against concurrent commands."""


class UnitOfWork:
    """What one command touches: the cases it loads or opens, all saved together.

    `persons` keys ID numbers for the one-open-case-per-person rule, which a preparation checks
    in the same transaction that makes the reservation."""

    def __init__(
        self,
        session: Session,
        ctx: Context,
        load: CaseLoader,
        persons: PersonKeys,
        replay: CaseLoader | None = None,
    ) -> None:
        self.session, self.ctx, self.persons = session, ctx, persons
        self._load = load
        self._replay = replay or load
        self.touched: dict[UUID, Case] = {}
        self.clocks_loaded: dict[UUID, list[dict[str, Any]]] = {}
        """Each loaded case's open-clock rows as loaded, so the read model rewrites only those the command changed."""

    def load(self, case_id: UUID, *, replay: bool = False) -> Case:
        """The case, to act on. `replay`: read from its events even if the process holds it (engine/case_cache.py),
        for a command that changed what its events read as in its own transaction (an erasure destroys keys)."""
        case = (self._replay if replay else self._load)(self.session, case_id)
        self.touched[case.id] = case
        self.clocks_loaded.setdefault(case.id, clock_rows(case))
        return case

    def open(
        self, kind: str, *, org_unit: str, assignee: str | None = None, case_id: UUID | None = None, **data: Any
    ) -> Case:
        cls = case_type(kind)
        case_id = case_id or uuid.uuid5(COMMAND_NAMESPACE, f"{self.ctx.command_id}/{len(self.touched)}")
        cls.check_opener(self.ctx, "(new)")
        number = next_case_number(self.session, cls.PREFIX, self.ctx.today.year)
        creator = getattr(cls, cls.TABLE.creating.name)
        case: Case = creator(self.ctx, case_id=case_id, number=number, org_unit=org_unit, assignee=assignee, **data)
        self.touched[case.id] = case
        return case


def next_case_number(session: Session, prefix: str, year: int) -> str:
    """The next number of a case type in `year` (LD-2026-000123), counted in the database: numbers are never
    reused, and two concurrent commands never get the same one."""
    stmt = (
        dialect_insert(session, case_numbers)
        .values(prefix=prefix, year=year, last=1)
        .on_conflict_do_update(index_elements=["prefix", "year"], set_={"last": case_numbers.c.last + 1})
    )
    last: int = session.execute(stmt.returning(case_numbers.c.last)).scalar_one()
    return f"{prefix}-{year}-{last:06d}"
