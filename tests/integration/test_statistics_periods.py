"""The statistics report sums whole years and months from their own counters and only the days at its ends from the
daily ones: whatever the period and unit, its figures are those the events themselves give, as the commands wrote
the counters, after a rebuild from the events, and after the migration that sums the daily rows already there."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete

from aggregates.base import DEFAULT_TZ, Case, case_event
from engine.clock import FixedClock
from engine.migrate import downgrade, upgrade
from engine.read_model_check import check_read_models
from engine.rebuild import rebuild
from engine.reports import spans, statistics
from engine.service import Casework
from engine.tables import case_index, statistics_periods
from tests.integration.scenarios import MEDIATOR, credit_code, file_dispute

DAYS = [
    date(2025, 11, 30),
    date(2025, 12, 1),
    date(2025, 12, 31),
    date(2026, 1, 1),
    date(2026, 2, 28),
    date(2026, 3, 1),
    date(2026, 6, 15),
    date(2026, 12, 31),
    date(2027, 1, 1),
    date(2027, 2, 10),
]
"""Days on both sides of month and year ends."""
UNITS = ["suzhou.gusu", "suzhou.gusu.shuangta", "suzhou.wuzhong", "wuxi.liangxi"]
PERIODS = [
    (None, None),
    (date(2026, 1, 1), date(2026, 12, 31)),  # a whole year
    (date(2026, 1, 1), date(2026, 12, 30)),  # a day short of it
    (date(2025, 12, 1), date(2026, 1, 31)),  # two whole months across a year's end
    (date(2025, 11, 30), date(2027, 1, 1)),  # a day, a month, a year, a day
    (date(2026, 2, 28), date(2026, 3, 1)),
    (date(2026, 6, 15), date(2026, 6, 15)),
    (None, date(2026, 2, 28)),
    (date(2026, 3, 1), None),
    (date(2026, 3, 2), date(2026, 3, 1)),  # ends before it starts: nothing
]
Figures = dict[str, Decimal]


def seed(cw: Casework, clock: FixedClock) -> None:
    """Disputes in several units, each moved through its steps on its own day: counts, workers and amounts."""
    for n, day in enumerate(DAYS * 2):
        clock.set(datetime(day.year, day.month, day.day, 10, tzinfo=DEFAULT_TZ))
        case_id = file_dispute(
            cw,
            org_unit=UNITS[n % len(UNITS)],
            employer={"name": f"苏州示例企业 {n}", "credit_code": credit_code(n)},
            workers_involved=1 + n % 7,
        ).case_id
        if n % 3 == 2:
            cw.execute(case_id, "decline", MEDIATOR, reason="不属于劳动争议调解范围")
            continue
        cw.execute(case_id, "accept", MEDIATOR)
        if n % 2:
            clock.set(clock.now() + timedelta(days=1))  # the next steps on the next day
        cw.execute(case_id, "start_mediation", MEDIATOR, mediator="调解员 张")
        cw.execute(
            case_id,
            "reach_agreement",
            MEDIATOR,
            terms="分期支付",
            amounts={"wages": f"{1000 + n}.{n:02d}"},
            performance_due=clock.now().date() + timedelta(days=30),
        )


def counted_from_events(cw: Casework) -> list[tuple[str, date, str, Decimal]]:
    """(unit, day, metric, value) of every event, from the events read back and applied case by case."""
    with cw.read_transaction() as session:
        case_ids = session.execute(case_index.select().with_only_columns(case_index.c.case_id)).scalars().all()
    counted = []
    for case_id in case_ids:
        case: Case | None = None
        for stored in cw.store.events.get(case_id):
            event = case_event(stored)
            case = event.mutate(case)
            assert case is not None
            day = event.occurred_at.astimezone(DEFAULT_TZ).date()
            counted += [(case.org_unit, day, metric, Decimal(v)) for metric, v in case.statistics(event).items()]
    return counted


def expected(
    counted: list[tuple[str, date, str, Decimal]], unit: str | None, start: date | None, end: date | None, depth: int
) -> tuple[Figures, dict[str, Figures]]:
    totals: Figures = defaultdict(Decimal)
    by_org: dict[str, Figures] = defaultdict(lambda: defaultdict(Decimal))
    for org, day, metric, value in counted:
        if unit and not (org == unit or org.startswith(unit + ".")):
            continue
        if (start and day < start) or (end and day > end):
            continue
        totals[metric] += value
        by_org[".".join(org.split(".")[:depth])][metric] += value
    return dict(totals), {k: dict(v) for k, v in by_org.items()}


def assert_reports_match_the_events(cw: Casework) -> None:
    counted = counted_from_events(cw)
    assert len(counted) > 60 and any(value % 1 for *_, value in counted)  # amounts with cents among them
    for unit in (None, "suzhou", "suzhou.gusu", "wuxi"):
        for start, end in PERIODS:
            report = statistics(cw, org_unit=unit, start=start, end=end, by_org_depth=2)
            assert (report.figures, report.by_org) == expected(counted, unit, start, end, 2), (unit, start, end)
    whole = statistics(cw, start=date(2025, 1, 1), end=date(2027, 12, 31))
    assert whole.figure("disputes_filed") == len(DAYS) * 2 and whole.figure("dispute_agreed_amount") > 0


def period_rows(cw: Casework) -> list[tuple[str, ...]]:
    with cw.read_transaction() as session:
        return sorted(tuple(str(v) for v in row) for row in session.execute(statistics_periods.select()))


def test_a_period_is_covered_by_whole_years_and_months_and_the_days_at_its_ends() -> None:
    assert spans(date(2026, 1, 1), date(2026, 12, 31)) == [("year", date(2026, 1, 1), date(2027, 1, 1))]
    assert spans(date(2026, 1, 1), date(2026, 2, 6)) == [
        ("month", date(2026, 1, 1), date(2026, 2, 1)),
        ("day", date(2026, 2, 1), date(2026, 2, 7)),
    ]
    assert spans(date(2026, 3, 5), date(2026, 3, 20)) == [("day", date(2026, 3, 5), date(2026, 3, 21))]
    assert spans(None, None) == [("year", None, None)]
    assert spans(date(2026, 3, 2), date(2026, 3, 1)) == []
    assert len(spans(date(2025, 3, 5), date(2027, 2, 3))) == 5  # days, months, years, months, days


@pytest.mark.parametrize("start", [date(2025, 12, 30), date(2026, 1, 1), date(2026, 2, 15)])
def test_every_day_of_a_period_is_counted_once_and_no_other(start: date) -> None:
    for length in (0, 1, 30, 45, 365, 400, 800):
        end = start + timedelta(days=length)
        covered: dict[date, int] = defaultdict(int)
        for grain, first, after in spans(start, end):
            assert first is not None and after is not None
            day = first
            while day < after:  # every day of each period the span takes whole
                covered[day] += 1
                day += timedelta(days=1)
            assert grain == "day" or (first.day == 1 and after.day == 1)
            assert grain != "year" or (first.month == 1 and after.month == 1)
        assert covered == {start + timedelta(days=n): 1 for n in range(length + 1)}, (start, end)


def test_the_report_over_the_summed_periods_equals_the_events_inline_and_after_a_rebuild(
    cw: Casework, clock: FixedClock
) -> None:
    seed(cw, clock)
    assert_reports_match_the_events(cw)
    inline = period_rows(cw)
    assert {row[0] for row in inline} == {"month", "year"}
    with cw.write_transaction() as session:
        session.execute(delete(statistics_periods))
    rebuild(cw, page_size=7)  # pages that cut cases in two
    assert period_rows(cw) == inline
    assert_reports_match_the_events(cw)


def test_the_migration_sums_the_daily_counters_already_there(cw: Casework, clock: FixedClock) -> None:
    seed(cw, clock)
    written = period_rows(cw)
    downgrade(cw.sql_engine, "0009")
    upgrade(cw.sql_engine)
    assert period_rows(cw) == written
    assert_reports_match_the_events(cw)
    assert check_read_models(cw).ok  # an upgraded store does not set off the nightly read-model check
