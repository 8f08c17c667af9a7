"""Who is above whom in the tree of unions: the higher-level union that issues an acting offer, and the
supervisors an overdue clock or a broken case is reported to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.tables import org_units, users

UNKNOWN_HIGHER_UNION = "上级工会 higher-level union"


def ancestors(org_unit: str) -> list[str]:
    """`org_unit` and every unit above it, nearest first: suzhou.gusu.shuangta, suzhou.gusu, suzhou."""
    parts = org_unit.split(".")
    return [".".join(parts[:i]) for i in range(len(parts), 0, -1)]


def higher_union(session: Session, org_unit: str) -> str:
    """The name of the union one level above `org_unit` (上级工会), which issues an acting offer."""
    parent = org_unit.rpartition(".")[0]
    if not parent:
        return UNKNOWN_HIGHER_UNION
    name = session.execute(select(org_units.c.name).where(org_units.c.path == parent)).scalar()
    return name or parent


def supervisors_of(session: Session, org_unit: str) -> list[str]:
    """The active supervisors of the nearest unit at or above `org_unit` that has any."""
    chain = ancestors(org_unit)
    rows = session.execute(
        select(users.c.user_id, users.c.org_unit)
        .where(users.c.role == "supervisor", users.c.active.is_(True), users.c.org_unit.in_(chain))
        .order_by(users.c.user_id)
    ).all()
    for unit in chain:
        found = [r.user_id for r in rows if r.org_unit == unit]
        if found:
            return found
    return []
