"""Case search over the read model: filters, sort and pages, never a replay of aggregates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from aggregates.policy import DeadlinePolicy
from engine.database import in_unit
from engine.errors import TooManyCases
from engine.service import Casework
from engine.tables import case_index, open_clocks, org_units, users
from engine.views import aware

SORTS = {
    "opened_at": case_index.c.opened_at,
    "updated_at": case_index.c.updated_at,
    "number": case_index.c.number,
    "stage": case_index.c.stage,
}
"""Sort keys; prefix '-' for descending. Ties break on the case number, so pages are stable."""


@dataclass(frozen=True)
class CaseFilter:
    scope: str | None = None
    """Org unit whose cases (and those of every unit below it) are searched; None = all."""
    kind: str | None = None
    stage: str | None = None
    org_unit: str | None = None
    assignee: str | None = None
    is_open: bool | None = None
    flags: tuple[str, ...] = ()
    text: str | None = None
    overdue_on: date | None = None
    """Only cases with an unpaused clock due before this day (i.e. overdue on it)."""
    due_before: date | None = None
    """Only cases with an unpaused clock due on or before this day."""
    opened_from: datetime | None = None
    """Only cases opened at or after this moment (business time of the opening event)."""
    opened_before: datetime | None = None
    """Only cases opened before this moment."""


def _conditions(f: CaseFilter) -> list[Any]:
    c = case_index.c
    where: list[Any] = []
    if f.scope:
        where.append(in_unit(c.org_unit, f.scope))
    if f.org_unit:
        where.append(in_unit(c.org_unit, f.org_unit))
    if f.kind:
        where.append(c.kind == f.kind)
    if f.stage:
        where.append(c.stage == f.stage)
    if f.assignee:
        where.append(c.assignee == f.assignee)
    if f.is_open is not None:
        where.append(c.is_open == f.is_open)
    for flag in f.flags:
        where.append(
            or_(
                c.flags == flag,
                c.flags.startswith(flag + ",", autoescape=True),
                c.flags.endswith("," + flag, autoescape=True),
                c.flags.contains("," + flag + ",", autoescape=True),
            )
        )
    if f.text:
        where.append(
            or_(
                c.number.contains(f.text, autoescape=True),
                c.parties.contains(f.text, autoescape=True),
                c.reference.contains(f.text, autoescape=True),
            )
        )
    if f.opened_from is not None:
        where.append(c.opened_at >= f.opened_from.astimezone(UTC))  # stored in UTC (SQLite keeps no offset)
    if f.opened_before is not None:
        where.append(c.opened_at < f.opened_before.astimezone(UTC))
    if f.overdue_on is not None:  # some unpaused clock is due before the day: the earliest is
        where.append(c.next_due_on < f.overdue_on)
    if f.due_before is not None:
        where.append(c.next_due_on <= f.due_before)
    return where


def search_cases(
    cw: Casework, f: CaseFilter, *, sort: str = "-updated_at", page: int = 1, per_page: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """One page of case-index rows matching `f`, with the total count; each row lists its open clocks."""
    where = _conditions(f)
    query = select(case_index).where(*where).order_by(*_order(sort)).limit(per_page).offset((page - 1) * per_page)
    with cw.read_transaction() as session:
        total = session.execute(select(func.count()).select_from(case_index).where(*where)).scalar_one()
        return _with_clocks(cw, session, query), total


def _order(sort: str) -> list[Any]:
    """The ORDER BY of a sort key (SORTS, '-' for descending), ties broken on the case number."""
    column = SORTS[sort.lstrip("-")]
    return [column.desc() if sort.startswith("-") else column.asc(), case_index.c.number.asc()]


def every_matching_case(cw: Casework, f: CaseFilter, *, sort: str = "-updated_at", limit: int) -> list[dict[str, Any]]:
    """Every case-index row matching `f`, in the order of `search_cases` with the same sort, each with the names
    of its unit and assignee (`unit_name`, `assignee_name`; None when unknown) and its times in the installation's
    zone: one query, whatever the number of rows. More than `limit` rows raise TooManyCases before any is read."""
    where = _conditions(f)
    c = case_index.c
    query = (
        select(
            case_index,
            org_units.c.name.label("unit_name"),
            users.c.name.label("assignee_name"),
        )
        .outerjoin(org_units, org_units.c.path == c.org_unit)
        .outerjoin(users, users.c.user_id == c.assignee)
        .where(*where)
        .order_by(*_order(sort))
    )
    tz = cw.settings.tz
    with cw.read_transaction() as session:
        total = session.execute(select(func.count()).select_from(case_index).where(*where)).scalar_one()
        if total > limit:
            raise TooManyCases(total, limit)
        rows = [dict(r._mapping) for r in session.execute(query)]
    for row in rows:
        row["opened_at"], row["updated_at"] = aware(row["opened_at"], tz), aware(row["updated_at"], tz)
        row["flags"] = [x for x in (row["flags"] or "").split(",") if x]
        row.pop("head_hash", None)
    return rows


def _with_clocks(cw: Casework, session: Session, query: Select[Any]) -> list[dict[str, Any]]:
    """The case-index rows `query` selects, each with its open clocks and its times in the installation's zone."""
    rows = [dict(r._mapping) for r in session.execute(query)]
    ids = [r["case_id"] for r in rows]
    clocks: dict[Any, list[dict[str, Any]]] = {i: [] for i in ids}
    if ids:
        k = open_clocks.c
        for r in session.execute(
            select(k.case_id, k.clock, k.due_on, k.paused).where(k.case_id.in_(ids)).order_by(k.due_on)
        ):
            clocks[r.case_id].append({"name": r.clock, "due_on": r.due_on, "paused": r.paused})
    tz = cw.settings.tz
    for row in rows:
        row["opened_at"], row["updated_at"] = aware(row["opened_at"], tz), aware(row["updated_at"], tz)
        row["flags"] = [x for x in (row["flags"] or "").split(",") if x]
        row["clocks"] = clocks[row["case_id"]]
        row.pop("head_hash", None)
    return rows


SOON_WORKING_DAYS = 3
"""A case whose next clock falls due within this many working days comes right after the overdue ones."""


@dataclass(frozen=True)
class WorkQueue:
    """One page of a work queue and its counts over every page: all, overdue, due within SOON_WORKING_DAYS."""

    rows: list[dict[str, Any]]
    total: int
    overdue: int
    due_soon: int


def working_days_left(policy: DeadlinePolicy, today: date, due_on: date) -> int:
    """Working days from `today` until `due_on`: 0 when due today, negative (the working days since) once past."""
    if due_on >= today:
        return sum(1 for n in range(1, (due_on - today).days + 1) if policy.is_working_day(today + timedelta(n)))
    return -sum(1 for n in range(0, (today - due_on).days) if policy.is_working_day(today - timedelta(n)))


def work_queue(cw: Casework, f: CaseFilter, today: date, *, page: int = 1, per_page: int = 50) -> WorkQueue:
    """Open cases matching `f` in the order they need work: overdue first (most overdue first), then due within
    SOON_WORKING_DAYS working days (soonest first), then the rest by stage and number."""
    c = case_index.c
    soon = cw.settings.policy.add_days(today, SOON_WORKING_DAYS, working_days=True)
    next_due = c.next_due_on  # kept on the row by the projection: no join, no grouping over the clocks
    urgency = case((next_due < today, 0), (next_due <= soon, 1), else_=2)
    where = [*_conditions(f), c.is_open.is_(True)]
    order = [urgency, case((next_due <= soon, next_due), else_=None).asc().nulls_last(), c.stage, c.number]
    query = select(case_index).where(*where).order_by(*order).limit(per_page).offset((page - 1) * per_page)
    counts = select(
        func.count(),
        func.coalesce(func.sum(case((next_due < today, 1), else_=0)), 0),
        func.coalesce(func.sum(case((and_(next_due >= today, next_due <= soon), 1), else_=0)), 0),
    ).where(*where)
    with cw.read_transaction() as session:
        total, overdue, due_soon = session.execute(counts).one()
        return WorkQueue(_with_clocks(cw, session, query), int(total), int(overdue), int(due_soon))


def overdue_by_unit(cw: Casework, unit: str, today: date) -> dict[str, int]:
    """How many open cases of `unit` and below have an unpaused clock overdue on `today`, for `unit` itself and
    for each unit directly below it (a case further down counts for the child it lies under). One grouped query
    over the case index; the folding into children is over org units, never over cases."""
    c = case_index.c
    query = (
        select(c.org_unit, func.count())
        .where(in_unit(c.org_unit, unit), c.is_open.is_(True), c.next_due_on < today)
        .group_by(c.org_unit)
    )
    depth = unit.count(".") + 2
    counts: dict[str, int] = {}
    with cw.read_transaction() as session:
        for org_unit, count in session.execute(query):
            child = ".".join(org_unit.split(".")[:depth])
            counts[child] = counts.get(child, 0) + int(count)
    return counts
