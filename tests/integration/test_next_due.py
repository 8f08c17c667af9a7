"""The case index keeps each open case's next due date (the earliest of its unpaused clocks), which the work queue
orders and counts by; migration 0006 fills it in for the rows an earlier release wrote."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from engine.migrate import downgrade, upgrade
from engine.service import Actor, Casework
from engine.tables import case_index
from tests.integration.scenarios import file_dispute

SUPERVISOR = Actor("supervisor-1", "supervisor")


def _next_due(cw: Casework, number: str) -> date | None:
    with cw.read_transaction() as session:
        return session.execute(select(case_index.c.next_due_on).where(case_index.c.number == number)).scalar_one()


def test_the_next_due_date_follows_the_clocks_as_they_open_pause_and_close(cw: Casework) -> None:
    opened = file_dispute(cw)
    case = cw.get(opened.case_id)
    assert _next_due(cw, opened.number) == case.clocks["acceptance"].due_on
    cw.execute(opened.case_id, "pause_clock", SUPERVISOR, clock="acceptance", reason="申请人补正材料")
    assert _next_due(cw, opened.number) is None  # no clock runs
    cw.execute(opened.case_id, "resume_clock", SUPERVISOR, clock="acceptance")
    assert _next_due(cw, opened.number) == cw.get(opened.case_id).clocks["acceptance"].due_on
    cw.execute(opened.case_id, "accept", SUPERVISOR)
    accepted = cw.get(opened.case_id)
    assert _next_due(cw, opened.number) == min(c.due_on for c in accepted.clocks.values() if c.paused_on is None)


def test_the_migration_fills_in_the_next_due_date_of_the_rows_already_there(cw: Casework) -> None:
    opened = file_dispute(cw)
    due = _next_due(cw, opened.number)
    assert due is not None
    downgrade(cw.sql_engine, "0005")
    upgrade(cw.sql_engine)
    assert _next_due(cw, opened.number) == due
    with cw.write_transaction() as session:  # a row as an earlier release would leave it, unfilled
        session.execute(update(case_index).values(next_due_on=None))
    downgrade(cw.sql_engine, "0005")
    upgrade(cw.sql_engine)
    assert _next_due(cw, opened.number) == due
