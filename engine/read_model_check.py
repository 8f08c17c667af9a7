"""Whether the read models say what the event log says.

The case index, the open clocks, the statistics and the person reservations are derived from the events, so an edit
of them (a case moved to another unit or marked closed, taken off its assignee's list, a report's figure changed)
leaves every hash chain and every signed checkpoint intact. This replays the whole log as a rebuild does, writing
nothing, in one snapshot of the store so that commands going on meanwhile are not taken for edits, and names each
row that differs from what the events give. `casework rebuild` puts them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from uuid import UUID

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from engine.projection import ProjectionBatch, periods
from engine.rebuild import PAGE, replayed_pages
from engine.service import Casework
from engine.tables import case_index, case_statistics, open_clocks, person_reservations, statistics_periods

CASE_TABLES = (case_index, open_clocks, person_reservations)
"""Read models keyed by case: compared page by page with the cases replayed."""
SUMMED_TABLES = (case_statistics, statistics_periods)
"""Read models summed over cases: compared whole, once every case is replayed."""

SHOWN = 20
"""How many differences a check names; it counts all of them."""

UNSHOWN_COLUMNS = frozenset({"parties", "reference"})
"""Columns whose values a difference does not print: they hold names of parties, which a log must not carry."""

Key = tuple[Any, ...]


@dataclass(frozen=True)
class Difference:
    table: str
    row: str
    """Which row: the case's number (and the clock's name), or the statistic's unit, day or period, and metric."""
    problem: str

    def __str__(self) -> str:
        return f"{self.table}, {self.row}: {self.problem}"


@dataclass(frozen=True)
class ReadModelCheck:
    events: int
    cases: int
    rows: int
    """Rows compared, stored or derived."""
    count: int
    """Differences found."""
    differences: tuple[Difference, ...]
    """The first SHOWN of them."""

    @property
    def ok(self) -> bool:
        return self.count == 0


@dataclass
class _Findings:
    count: int = 0
    rows: int = 0
    shown: list[Difference] = field(default_factory=list)
    matched: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Stored rows of each case-keyed table that belong to a case the log holds."""

    def add(self, table: Table, row: str, problem: str) -> None:
        self.count += 1
        if len(self.shown) < SHOWN:
            self.shown.append(Difference(table.name, row, problem))

    def compare(
        self,
        table: Table,
        stored: Mapping[Key, Mapping[Any, Any]],
        derived: Mapping[Key, Mapping[Any, Any]],
        name: Callable[[Key, Mapping[Any, Any]], str],
        absent: Mapping[Any, Any] | None = None,
    ) -> None:
        """Every row of `derived` against the `stored` row of the same key, column by column. `absent`: the row a
        missing one stands for (a statistic not stored is zero), where a missing row is no difference by itself."""
        keys = stored.keys() | derived.keys()
        self.rows += len(keys)
        for key in sorted(keys, key=str):
            have, want = stored.get(key, absent), derived.get(key, absent)
            row = name(key, want or have or {})
            if have is None:
                self.add(table, row, "missing: the events give this row and it is not stored")
            elif want is None:
                self.add(table, row, "stored, but no event gives it")
            else:
                for column in table.c.keys():
                    if normal(have.get(column)) != normal(want.get(column)):
                        self.add(table, row, _changed(column, have.get(column), want.get(column)))


def check_read_models(
    cw: Casework, *, page_size: int = PAGE, progress: Callable[[int, int], None] | None = None
) -> ReadModelCheck:
    """Replay every case and compare each read-model row with the one its events give (see the module's text).

    Memory holds a page of cases, the store's daily statistics and the ids of its cases, as a rebuild's does."""
    findings = _Findings()
    events = cases = 0
    seen: set[UUID] = set()
    with cw.snapshot_transaction() as session:
        total = cw.store.recorder.max_notification_id() or 0
        counters = ProjectionBatch(tz=cw.settings.tz)
        for page, page_events, _ in replayed_pages(cw, session, page_size, counters):
            _compare_cases(session, page, findings)
            seen.update(page.cases)
            events, cases = events + page_events, cases + len(page.cases)
            if progress:
                progress(events, max(total, events))
        _compare_orphans(session, seen, findings)
        _compare_statistics(session, counters, findings)
    return ReadModelCheck(
        events=events, cases=cases, rows=findings.rows, count=findings.count, differences=tuple(findings.shown)
    )


def _compare_cases(session: Session, page: ProjectionBatch, findings: _Findings) -> None:
    """The page's cases' rows of the case index, the open clocks and the person reservations."""
    ids = list(page.cases)
    numbers = {case.id: case.number for case in page.cases.values()}
    derived = {rows.table.name: rows.rows for rows in page.rows()}
    for table in CASE_TABLES:
        stored = session.execute(select(table).where(table.c.case_id.in_(ids))).mappings().all()
        findings.matched[table.name] += len(stored)
        findings.compare(
            table,
            _keyed(stored, table),
            _keyed(derived[table.name], table),
            partial(_named_by_case, numbers, table),
        )


def _compare_orphans(session: Session, seen: set[UUID], findings: _Findings) -> None:
    """Rows of the case-keyed tables whose case the log does not hold (looked for only where some are stored)."""
    for table in CASE_TABLES:
        stored = session.execute(select(func.count()).select_from(table)).scalar_one()
        if stored == findings.matched[table.name]:
            continue
        for row in session.execute(select(table)).mappings():
            if row["case_id"] not in seen:
                findings.rows += 1
                number = (
                    row.get("number")
                    or session.execute(
                        select(case_index.c.number).where(case_index.c.case_id == row["case_id"])
                    ).scalar()
                )
                name = _case_row(number or row["case_id"], _key_of(row, table), table)
                findings.add(table, name, "stored for a case the event log does not hold")


def _compare_statistics(session: Session, counters: ProjectionBatch, findings: _Findings) -> None:
    """The daily statistics and their monthly and yearly sums, whole tables; a statistic not stored counts zero."""
    daily = {key: {"value": value} for key, value in counters.stats.items()}
    summed = {key: {"value": value} for key, value in periods(counters.stats).items()}
    for table, derived in ((case_statistics, daily), (statistics_periods, summed)):
        stored = _keyed(session.execute(select(table)).mappings(), table)
        findings.compare(
            table,
            {k: {"value": row["value"]} for k, row in stored.items()},
            derived,
            lambda k, _row: " ".join(str(part) for part in k),
            absent={"value": Decimal(0)},
        )


def _keyed(rows: Iterable[Mapping[Any, Any]], table: Table) -> dict[Key, Mapping[Any, Any]]:
    """Rows by their primary key."""
    return {_key_of(row, table): row for row in rows}


def _key_of(row: Mapping[Any, Any], table: Table) -> Key:
    return tuple(row[c.name] for c in table.primary_key)


def _named_by_case(numbers: Mapping[UUID, str], table: Table, key: Key, row: Mapping[Any, Any]) -> str:
    return _case_row(numbers.get(row.get("case_id"), row.get("number")), key, table)  # type: ignore[arg-type]


def _case_row(number: Any, key: Key, table: Table) -> str:
    """A case-keyed row named by the case's number, and a clock's by its name as well."""
    return f"{number} clock {key[1]}" if table is open_clocks else str(number)


def normal(value: Any) -> Any:
    """A value as either side holds it, made comparable: a time as UTC (SQLite gives it back without its zone), a
    number as a Decimal."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).normalize()
    if isinstance(value, memoryview):
        return bytes(value)
    return value


def _changed(column: str, stored: Any, derived: Any) -> str:
    if column in UNSHOWN_COLUMNS:
        return f"{column} is not what the events give"
    return f"{column} is {_shown(stored)}, the events give {_shown(derived)}"


def _shown(value: Any) -> str:
    value = normal(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    text = "null" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."
