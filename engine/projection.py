"""Read-model projection: one piece of code for the inline path and for rebuilds.

A `ProjectionBatch` collects, for a set of events already applied to their cases, the
case-index rows, open clocks, statistic increments and person reservations they imply,
and writes them with a handful of bulk statements. A command writes a batch of one
event inside its own transaction; a rebuild writes a batch per page of notifications.
A command tells the batch the clocks its cases had when loaded, so a case whose clocks the
command left as they were keeps its open-clock rows untouched (most commands open or close none).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import delete, tuple_
from sqlalchemy.orm import Session

from aggregates.base import Case
from engine.database import Rows, write_rows
from engine.tables import (
    case_index,
    case_statistics,
    open_clocks,
    person_reservations,
    statistics_periods,
)


@dataclass
class ProjectionBatch:
    tz: tzinfo
    person_key: Callable[[str], str] | None = None
    """Keys a worker's ID number for the one-open-case-per-person reservation (the engine's secret)."""
    cases: dict[UUID, Case] = field(default_factory=dict)
    stats: dict[tuple[str, date, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    reserve: dict[str, Case] = field(default_factory=dict)
    release: dict[str, UUID] = field(default_factory=dict)
    clocks_before: dict[UUID, list[dict[str, Any]]] = field(default_factory=dict)
    """The open-clock rows of cases as they were loaded (`clock_rows`); a case named here whose rows are the same
    afterwards has them left as they are. A case not named (opened, or a rebuild) has them rewritten."""

    def add(self, case: Case, event: Case.Event) -> None:
        """Record what `event` (already applied to `case`) changes in the read model."""
        self.cases[case.id] = case
        self.count(case, event)
        change = self.person_change(case, event)
        if change is not None:
            person_key, reserve = change
            if reserve:
                self.reserve[person_key] = case
                self.release.pop(person_key, None)
            else:
                self.reserve.pop(person_key, None)
                self.release[person_key] = case.id

    def count(self, case: Case, event: Case.Event) -> None:
        """Add what `event` (already applied to `case`) counts in the statistics, on its business day."""
        day = event.occurred_at.astimezone(self.tz).date()
        for metric, value in case.statistics(event).items():
            self.stats[(case.org_unit, day, metric)] += Decimal(value)

    def person_change(self, case: Case, event: Case.Event) -> tuple[str, bool] | None:
        """(the person's key, True to reserve or False to release) when `event` opens or closes a case of a person
        who may have one open case at a time; None when it does neither."""
        identity = getattr(case, "person_identity", "")
        if not identity or self.person_key is None:
            return None
        if event.originator_version == 1:
            return self.person_key(identity), True
        if getattr(case, "releases_person", False):
            return self.person_key(identity), False
        return None

    def write(self, session: Session) -> None:
        self.remove(session)
        write_rows(session, self.rows())

    def remove(self, session: Session) -> None:
        """Delete the rows the batch replaces or ends: the open clocks of cases whose clocks changed, and the
        reservations of persons whose case closed. Before `rows` is written."""
        changed = self.changed_clocks()
        if changed:
            session.execute(delete(open_clocks).where(open_clocks.c.case_id.in_(list(changed))))
        if self.release:
            session.execute(
                delete(person_reservations).where(
                    tuple_(person_reservations.c.person_key, person_reservations.c.case_id).in_(
                        list(self.release.items())
                    )
                )
            )

    def changed_clocks(self) -> dict[UUID, list[dict[str, Any]]]:
        """The open-clock rows of each case whose clocks differ from those it was loaded with."""
        after = {case.id: clock_rows(case) for case in self.cases.values()}
        return {case_id: rows for case_id, rows in after.items() if self.clocks_before.get(case_id) != rows}

    def rows(self) -> list[Rows]:
        """The rows to write once `remove` has run (engine/database.py `write_rows`)."""
        clocks = [row for after in self.changed_clocks().values() for row in after]
        return [
            Rows(case_index, [index_row(case) for case in self.cases.values()], keys=("case_id",)),
            Rows(open_clocks, clocks),
            Rows(
                case_statistics,
                [
                    {"org_unit": org, "day": day, "metric": metric, "value": value}
                    for (org, day, metric), value in self.stats.items()
                ],
                keys=("org_unit", "day", "metric"),
                accumulate=("value",),
            ),
            Rows(
                statistics_periods,
                [
                    {"grain": grain, "starts": starts, "org_unit": org, "metric": metric, "value": value}
                    for (grain, starts, org, metric), value in periods(self.stats).items()
                ],
                keys=("grain", "starts", "org_unit", "metric"),
                accumulate=("value",),
            ),
            Rows(
                person_reservations,
                [{"person_key": key, "case_id": case.id, "number": case.number} for key, case in self.reserve.items()],
            ),
        ]


def index_row(case: Case) -> dict[str, Any]:
    """The case's row of the case index."""
    row = case.summary()
    row["is_open"] = case.is_open
    row["opened_at"] = row["opened_at"].astimezone(UTC)
    row["updated_at"] = row["updated_at"].astimezone(UTC)
    row["reference"] = case.index_reference()
    running = [c.due_on for c in case.clocks.values() if c.paused_on is None]
    row["next_due_on"] = min(running) if running else None
    return row


def clock_rows(case: Case) -> list[dict[str, Any]]:
    """The case's rows of the open-clock read model."""
    return [
        {
            "case_id": case.id,
            "clock": c.name,
            "kind": case.KIND,
            "org_unit": case.org_unit,
            "started_on": c.started_on,
            "due_on": c.due_on,
            "paused": c.paused_on is not None,
        }
        for c in case.clocks.values()
    ]


def periods(stats: dict[tuple[str, date, str], Decimal]) -> dict[tuple[str, date, str, str], Decimal]:
    """Daily counters (org unit, day, metric) summed per month and per year: (grain, first day, org unit, metric)."""
    out: dict[tuple[str, date, str, str], Decimal] = defaultdict(Decimal)
    for (org, day, metric), value in stats.items():
        out[("month", day.replace(day=1), org, metric)] += value
        out[("year", day.replace(month=1, day=1), org, metric)] += value
    return out
