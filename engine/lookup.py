"""Finding a case in the case index by its id or its number, without loading its events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import bindparam, select
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


_INDEXED = select(case_index.c.case_id, case_index.c.number, case_index.c.kind, case_index.c.org_unit)
_BY_ID = _INDEXED.where(case_index.c.case_id == bindparam("ref", type_=case_index.c.case_id.type))
_BY_NUMBER = _INDEXED.where(case_index.c.number == bindparam("ref", type_=case_index.c.number.type))
"""Built once (every API command looks its case up here first): SQLAlchemy finds their compiled form without
making a statement's cache key anew."""


def find_in(session: Session, ref: UUID | str) -> IndexedCase | None:
    """The indexed case an id or a case number names, or None (also for text of neither shape)."""
    value: UUID | str
    if isinstance(ref, UUID):
        query, value = _BY_ID, ref
    elif not isinstance(ref, str) or len(ref) > 64:
        return None
    elif is_case_number(ref):
        query, value = _BY_NUMBER, ref
    else:
        try:
            query, value = _BY_ID, UUID(ref)
        except ValueError:
            return None  # not the shape of an id or a number (e.g. a NUL byte, which PostgreSQL refuses)
    row = session.execute(query, {"ref": value}).one_or_none()
    return IndexedCase(row.case_id, row.number, row.kind, row.org_unit) if row else None
