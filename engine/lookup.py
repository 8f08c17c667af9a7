"""Finding a case in the case index by its id or its number, without loading its events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.registry import BY_PREFIX
from engine.tables import case_index

CASE_NUMBER = re.compile(r"[A-Z]+-\d{4}-\d+", re.ASCII)
"""The shape of a case number: LD-2026-000123."""


@dataclass(frozen=True)
class IndexedCase:
    """Where a case stands in the case index: enough to authorise a request before loading it."""

    case_id: UUID
    number: str
    kind: str
    org_unit: str


def is_case_number(ref: str) -> bool:
    """Whether `ref` has the shape of a case number with a known prefix (it may still name no case)."""
    return CASE_NUMBER.fullmatch(ref) is not None and ref.split("-")[0] in BY_PREFIX


def find_in(session: Session, ref: UUID | str) -> IndexedCase | None:
    """The indexed case an id or a case number names, or None (also for text of neither shape)."""
    c = case_index.c
    if isinstance(ref, UUID):
        condition = c.case_id == ref
    elif not isinstance(ref, str) or len(ref) > 64:
        return None
    elif is_case_number(ref):
        condition = c.number == ref
    else:
        try:
            condition = c.case_id == UUID(ref)
        except ValueError:
            return None  # not the shape of an id or a number (e.g. a NUL byte, which PostgreSQL refuses)
    row = session.execute(select(c.case_id, c.number, c.kind, c.org_unit).where(condition)).one_or_none()
    return IndexedCase(row.case_id, row.number, row.kind, row.org_unit) if row else None
