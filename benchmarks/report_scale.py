"""The statistics report over a year of a city's events vs over a tenth of them.

SEED    --cases labor-dispute cases of one city (org units suzhou.district<0..6>.street<0..4>), opened on
        days spread evenly over one year by a FixedClock and moved through the engine the same day:
        every fifth one declined (2 events), the others accepted, mediated, a session recorded, an
        agreement reached and its performance confirmed (6 events). Every event goes through
        Casework.execute, so case_statistics is what the engine's projection wrote.
PRODUCT engine.reports.statistics(cw, org_unit="suzhou", start=1 January, end=31 December,
        by_org_depth=3): the whole year, broken down by district.
ANCHOR  the same report over the year's first tenth of the cases (1 January to the day the
        (cases/10)-th case was opened), on the same database in the same run, alternating in
        blocks of --block calls so drifting load affects both alike.

Ratio: p50 year ÷ p50 tenth. The year holds ten times the events; the report reads a year's counters
per unit from statistics_periods, and a tenth a month's and the few days after it from case_statistics,
so its cost follows the units, not the events or the days. --cipher seeds through an encrypted store
(the report reads only the read model, which is never encrypted).

At the defaults (--cases 5,000, about 26,000 events) seeding takes one to three minutes per database
on a 2-core machine (180–550 events/s). A city's year at full size, 600,000 events, is --cases
115,400 (about 5.2 events a case); seeding it takes an hour or more per database (each event is a
command through the engine):

    .venv/bin/python -m benchmarks.report_scale                       # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.report_scale --cases 115400 -n 50  # 600,000 events
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from benchmarks.common import (
    Backend,
    LatencyStats,
    add_database_arguments,
    console,
    credit_code,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    new_cipher_key,
    plain,
    print_table,
    ratio,
    reachable_backends,
)

YEAR = 2025
CITY = "suzhou"


@dataclass
class Result:
    backend: str
    cases: int
    events: int
    statistics_rows: int
    period_rows: int
    seed_s: float
    tenth_end: date
    year: LatencyStats
    tenth: LatencyStats
    tenth_events: int


def dispute(i: int) -> dict[str, Any]:
    return {
        "org_unit": f"{CITY}.district{i % 7}.street{i % 5}",
        "employer": {"name": f"苏州精密制造有限公司 {i}", "credit_code": credit_code(i)},
        "applicants": [{"name": f"王{i}", "phone": f"1380000{i % 10000:04d}"}],
        "workers_involved": 1 + i % 12,
        "claims": [{"category": "wages", "amount": f"{1000 + i % 9000}.00"}],
        "summary": "拖欠三个月工资",
    }


def seed(cw: Any, clock: Any, cases: int) -> tuple[int, int, int, date]:
    """Open and move `cases` cases over the year. Returns the events recorded, and the cases and events of the
    first tenth (every day up to the one the (cases/10)-th case is opened on) with its last day."""
    from aggregates.base import DEFAULT_TZ
    from engine.service import Actor

    mediator = Actor(id="mediator-bench", role="mediator")
    start = datetime(YEAR, 1, 1, 10, tzinfo=DEFAULT_TZ)
    events = tenth_cases = tenth_events = 0
    tenth_day = (max(1, cases // 10) - 1) * 365 // cases
    for i in range(cases):
        day = i * 365 // cases
        clock.set(start + timedelta(days=day))
        today = clock.now().date()
        case_id = cw.open_case("labor_dispute", mediator, **dispute(i)).case_id
        if i % 5 == 4:
            result = cw.execute(case_id, "decline", mediator, reason="不属于劳动争议调解范围")
        else:
            cw.execute(case_id, "accept", mediator)
            cw.execute(case_id, "start_mediation", mediator, mediator="调解员 张")
            cw.execute(case_id, "record_session", mediator, held_on=today, summary="双方到场，核对工资台账")
            cw.execute(
                case_id,
                "reach_agreement",
                mediator,
                terms="用人单位分两期支付拖欠工资",
                amounts={"wages": "3000.00"},
                performance_due=today + timedelta(days=30),
            )
            result = cw.execute(case_id, "confirm_performance", mediator)
        events += result.version
        if day <= tenth_day:
            tenth_cases += 1
            tenth_events += result.version
    return events, tenth_cases, tenth_events, (start + timedelta(days=tenth_day)).date()


def run(backend: Backend, args: argparse.Namespace) -> Result:
    from sqlalchemy import func, select

    from aggregates.base import DEFAULT_TZ
    from engine.clock import FixedClock
    from engine.migrate import upgrade
    from engine.reports import statistics
    from engine.service import Casework
    from engine.tables import case_statistics, statistics_periods

    clock = FixedClock(datetime(YEAR, 1, 1, 10, tzinfo=DEFAULT_TZ))
    cw = Casework(backend.settings(new_cipher_key() if args.cipher else None), clock)
    try:
        upgrade(cw.sql_engine)
        t0 = time.perf_counter()
        events, tenth_cases, tenth_events, tenth_end = seed(cw, clock, args.cases)
        seed_s = time.perf_counter() - t0
        with cw.read_transaction() as session:
            rows = session.execute(select(func.count()).select_from(case_statistics)).scalar_one()
            period_rows = session.execute(select(func.count()).select_from(statistics_periods)).scalar_one()
        first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)

        def year() -> Any:
            return statistics(cw, org_unit=CITY, start=first, end=last, by_org_depth=3)

        def tenth() -> Any:
            return statistics(cw, org_unit=CITY, start=first, end=tenth_end, by_org_depth=3)

        whole, part = year(), tenth()
        filed = whole.figure("disputes_filed")
        if filed != args.cases:
            raise SystemExit(f"the year's report counts {filed} disputes filed, {args.cases} were opened")
        if part.figure("disputes_filed") != tenth_cases:
            raise SystemExit(
                f"the tenth's report counts {part.figure('disputes_filed')} disputes filed, {tenth_cases} were opened"
            )
        for _ in range(args.warmup):
            year()
            tenth()
        times: dict[str, list[float]] = {"year": [], "tenth": []}
        for done in range(0, args.n, args.block):
            for name, call in (("year", year), ("tenth", tenth)):
                for _ in range(min(args.block, args.n - done)):
                    t = time.perf_counter()
                    call()
                    times[name].append(time.perf_counter() - t)
    finally:
        cw.close()
    return Result(
        backend=backend.label,
        cases=args.cases,
        events=events,
        statistics_rows=rows,
        period_rows=period_rows,
        seed_s=seed_s,
        tenth_end=tenth_end,
        year=LatencyStats.of(times["year"]),
        tenth=LatencyStats.of(times["tenth"]),
        tenth_events=tenth_events,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.report_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--cases",
        type=int,
        default=5000,
        help="cases opened over the year, about 5.2 events each (default %(default)s)",
    )
    parser.add_argument("-n", type=int, default=100, help="timed reports of each kind (default %(default)s)")
    parser.add_argument("--block", type=int, default=10, help="reports per alternating block (default %(default)s)")
    parser.add_argument(
        "--warmup", type=int, default=5, help="untimed reports of each kind first (default %(default)s)"
    )
    add_database_arguments(parser, cipher_help="seed through an encrypted event store (CASEWORK_CIPHER_KEY)")
    args = parser.parse_args(argv)
    if min(args.n, args.block) < 1 or args.cases < 10 or args.warmup < 0:
        parser.error("-n and --block must be positive, --cases at least 10, --warmup not negative")
    exit_cleanly_on_sigterm()

    kinds, skipped = reachable_backends(args)
    console.print(environment_line())

    results: list[Result] = []
    for kind in kinds:
        with isolated_backend(kind, args.postgres_url) as backend:
            console.print(f"[bold]{backend.label}[/]: seeding {args.cases} cases over {YEAR} through the engine")
            results.append(run(backend, args))

    rows: list[tuple[Any, ...]] = []
    for r in results:
        for name, stats, events in (
            (f"anchor: statistics 1 Jan – {r.tenth_end:%d %b} (a tenth)", r.tenth, r.tenth_events),
            ("engine: statistics over the year", r.year, r.events),
        ):
            rows.append(
                (r.backend, name, stats.n, events, stats.p50_ms, stats.p99_ms, ratio(stats.p50_ms, r.tenth.p50_ms))
            )
    print_table(
        f"Statistics report of {CITY} (by district): a year vs its first tenth (same database, same run)",
        ["database", "measurement", "n", "events", "p50 ms", "p99 ms", "p50 ÷ tenth"],
        rows,
        caption="events: recorded in the period the report covers.",
    )
    for r in results:
        console.print(
            f"{r.backend}: {r.cases:,} cases, {r.events:,} events, {r.statistics_rows:,} case_statistics rows, "
            f"{r.period_rows:,} statistics_periods rows; "
            f"seeding took {r.seed_s:.0f} s ({r.events / r.seed_s:.0f} events/s)"
        )

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for r in results:
        db = "sqlite" if r.backend.startswith("SQLite") else "postgresql"
        print(
            plain(
                f"{db} report_statistics",
                cases=r.cases,
                events=r.events,
                statistics_rows=r.statistics_rows,
                period_rows=r.period_rows,
                cipher=args.cipher,
                n=r.year.n,
                year_p50_ms=r.year.p50_ms,
                year_p99_ms=r.year.p99_ms,
                tenth_events=r.tenth_events,
                tenth_p50_ms=r.tenth.p50_ms,
                tenth_p99_ms=r.tenth.p99_ms,
                p50_ratio=ratio(r.year.p50_ms, r.tenth.p50_ms),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
