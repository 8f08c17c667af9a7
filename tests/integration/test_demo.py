"""The demo data set: the year up to today, counted as stored, with unions named as people name them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from aggregates.rectification import RectificationProposal
from aggregates.wage_negotiation import WageNegotiation
from engine.audit import checked_events
from engine.demo import ORG_NAMES, load_demo
from engine.service import Casework
from engine.tables import case_index

pytestmark = pytest.mark.slow  # each test loads a simulated year of cases


def test_the_demo_covers_the_year_up_to_today_and_nothing_after(cw: Casework, settings) -> None:
    summary = load_demo(settings, size=1, seed=11)
    today = datetime.now(settings.tz).date()
    times = [(n.originator_id, n.originator_version) for n in cw.store.recorder.select_notifications(1, 10_000)]
    assert len(times) > 150
    events = [e for case_id in {c for c, _ in times} for e in checked_events(cw, case_id)]
    latest = max(max(e.timestamp, e.occurred_at) for e in events)
    earliest = min(e.occurred_at for e in events)
    assert latest.astimezone(settings.tz).date() <= today
    assert earliest.astimezone(settings.tz).date() >= today - timedelta(days=366)
    assert latest.astimezone(settings.tz).date() >= today - timedelta(days=180)  # the year is used, not its start
    with cw.read_transaction() as session:
        stored = session.execute(select(func.count()).select_from(case_index)).scalar_one()
    assert summary.cases == stored  # a referral touching a negotiation opens no case


def test_a_demo_until_a_given_day_is_dated_by_it(cw: Casework, settings) -> None:
    load_demo(settings, size=1, seed=11, until=date(2025, 6, 30))
    with cw.read_transaction() as session:
        numbers = list(session.execute(select(case_index.c.number)).scalars())
        last = session.execute(select(func.max(case_index.c.updated_at))).scalar_one()
    assert {n.split("-")[1] for n in numbers} <= {"2024", "2025"}
    assert last.astimezone(settings.tz).date() <= date(2025, 6, 30)


def test_unions_are_named_as_people_name_them(cw: Casework, settings) -> None:
    load_demo(settings, size=1, seed=11)
    unions = set()
    with cw.read_transaction() as session:
        ids = list(
            session.execute(
                select(case_index.c.case_id).where(
                    case_index.c.kind.in_(["wage_negotiation", "rectification_proposal"])
                )
            ).scalars()
        )
    for case_id in ids:
        case = cw.get(case_id)
        assert isinstance(case, WageNegotiation | RectificationProposal)
        unions.add(case.issuing_union)
        unions.update(filter(None, [getattr(case, "acting_union", None)]))
    assert unions and all(u.isascii() is False and "." not in u and "suzhou" not in u for u in unions), unions
    assert all(u.endswith("工会") for u in unions), unions
    towns = {name.removesuffix("总工会") for path, name in ORG_NAMES.items() if path.count(".") == 2}
    assert any(any(town in u for town in towns) and ("区" in u or "市" in u) for u in unions), unions
    assert {u for u in unions if u in ORG_NAMES.values()} <= {ORG_NAMES[p] for p in ORG_NAMES if p.count(".") == 1}
