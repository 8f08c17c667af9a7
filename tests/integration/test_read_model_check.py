"""The read models checked against the event log: an edit of a derived table, which leaves every chain intact, is
named row by row; a store as the engine wrote it, or with commands landing during the check, has none."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from engine.audit import verify_store
from engine.demo import load_demo
from engine.read_model_check import CASE_TABLES, SHOWN, SUMMED_TABLES, check_read_models
from engine.rebuild import rebuild
from engine.service import Casework
from engine.tables import (
    READ_MODEL_TABLES,
    case_index,
    case_statistics,
    open_clocks,
    person_reservations,
    statistics_periods,
)
from tests.conftest import make_settings
from tests.integration.scenarios import CASEWORKER, MEDIATOR, file_dispute, hardship_application


def test_every_read_model_table_is_checked() -> None:
    assert sorted(t.name for t in CASE_TABLES + SUMMED_TABLES) == sorted(t.name for t in READ_MODEL_TABLES)


def test_a_store_as_the_engine_wrote_it_matches_its_read_models(cw: Casework, settings) -> None:
    load_demo(settings, size=1, seed=3)
    checked = check_read_models(cw, page_size=37)  # pages that split cases
    assert checked.ok, checked.differences
    with cw.read_transaction() as session:
        cases = session.execute(select(func.count()).select_from(case_index)).scalar_one()
        statistics = session.execute(select(func.count()).select_from(case_statistics)).scalar_one()
    assert checked.events == cw.store.recorder.max_notification_id()
    assert checked.cases == cases > 40
    assert checked.rows > cases + statistics


def _first(session: Session, table: Any, *where: Any) -> Any:
    return session.execute(select(table).where(*where).limit(1)).mappings().one()


def _stage(session: Session, number: str) -> str:
    session.execute(update(case_index).where(case_index.c.number == number).values(stage="closed", is_open=False))
    return "stage is closed, the events give filed"


def _moved(session: Session, number: str) -> str:
    session.execute(update(case_index).where(case_index.c.number == number).values(org_unit="suzhou.elsewhere"))
    return "org_unit is suzhou.elsewhere, the events give suzhou.gusu"


def _parties(session: Session, number: str) -> str:
    session.execute(update(case_index).where(case_index.c.number == number).values(parties="王某某"))
    return "parties is not what the events give"


def _clock_removed(session: Session, number: str) -> str:
    session.execute(delete(open_clocks).where(open_clocks.c.case_id == _case_id(session, number)))
    return "missing: the events give this row and it is not stored"


def _clock_added(session: Session, number: str) -> str:
    row = dict(_first(session, open_clocks, open_clocks.c.case_id == _case_id(session, number)))
    session.execute(insert(open_clocks).values({**row, "clock": "invented"}))
    return "stored, but no event gives it"


def _case_of_no_events(session: Session, number: str) -> str:
    import uuid

    row = dict(_first(session, case_index, case_index.c.number == number))
    session.execute(insert(case_index).values({**row, "case_id": uuid.uuid4(), "number": "LD-2026-999999"}))
    return "stored for a case the event log does not hold"


def _statistic_changed(session: Session, number: str) -> str:
    row = _first(session, case_statistics, case_statistics.c.metric == "disputes_filed")
    session.execute(update(case_statistics).where(case_statistics.c.metric == "disputes_filed").values(value=7))
    return f"value is 7, the events give {row['value']:.0f}"


def _statistic_removed(session: Session, number: str) -> str:
    session.execute(delete(statistics_periods).where(statistics_periods.c.metric == "disputes_filed"))
    return "value is 0, the events give 2"


def _reservation_removed(session: Session, number: str) -> str:
    session.execute(delete(person_reservations))
    return "missing: the events give this row and it is not stored"


EDITS: dict[str, tuple[Callable[[Session, str], str], str]] = {
    "stage": (_stage, "case_index, {number}: "),
    "moved to another unit": (_moved, "case_index, {number}: "),
    "parties": (_parties, "case_index, {number}: "),
    "clock removed": (_clock_removed, "open_clocks, {number} clock acceptance: "),
    "clock added": (_clock_added, "open_clocks, {number} clock invented: "),
    "a case of no events": (_case_of_no_events, "case_index, LD-2026-999999: "),
    "statistic changed": (_statistic_changed, "case_statistics, suzhou.gusu "),
    "statistic removed": (_statistic_removed, "statistics_periods, month "),
    "reservation removed": (_reservation_removed, "person_reservations, {hardship}: "),
}


def _case_id(session: Session, number: str) -> Any:
    return session.execute(select(case_index.c.case_id).where(case_index.c.number == number)).scalar_one()


@pytest.mark.parametrize("edit", list(EDITS))
def test_an_edit_of_a_derived_table_is_named_row_by_row(cw: Casework, edit: str) -> None:
    disputes = [file_dispute(cw), file_dispute(cw)]
    hardship = cw.open_case("hardship", CASEWORKER, **hardship_application())
    number = cw.get(disputes[0].case_id).number
    change, row = EDITS[edit]
    with cw.write_transaction() as session:
        problem = change(session, number)

    # an index row with no events behind it is also a head the chains do not reach; every other edit leaves them whole
    assert verify_store(cw).ok == (edit != "a case of no events")
    checked = check_read_models(cw)
    assert not checked.ok and checked.count >= 1
    named = row.format(number=number, hardship=cw.get(hardship.case_id).number)
    shown = [str(d) for d in checked.differences]
    assert any(d.startswith(named) and d.endswith(": " + problem) for d in shown), shown
    if edit == "parties":
        assert "王某某" not in " ".join(str(d) for d in checked.differences)  # names stay out of logs

    rebuild(cw)
    assert check_read_models(cw).ok


def test_past_the_first_differences_the_rest_are_counted(cw: Casework) -> None:
    for _ in range(SHOWN + 5):
        file_dispute(cw)
    with cw.write_transaction() as session:
        session.execute(update(case_index).values(assignee="nobody"))
    checked = check_read_models(cw, page_size=7)
    assert checked.count == SHOWN + 5 and len(checked.differences) == SHOWN
    assert all(str(d).endswith(": assignee is nobody, the events give null") for d in checked.differences)


def test_commands_committed_while_the_check_runs_are_no_difference(cw: Casework, clock, tmp_path, database_url) -> None:
    """The check reads events and derived rows in one snapshot: a dispute accepted by another service once its rows
    were compared (its statistics are read last), and a dispute filed meanwhile, are not taken for edits."""
    filed = [file_dispute(cw, workers_involved=30) for _ in range(4)]
    first = min(f.case_id for f in filed)  # the first page's case: pages go in case-id order
    events = cw.store.recorder.max_notification_id()
    other = Casework(make_settings(tmp_path, database_url), clock)
    committed: list[int] = []

    def commands() -> None:
        committed.append(other.execute(first, "accept", MEDIATOR).version)
        committed.append(file_dispute(other).version)

    def progress(done: int, total: int) -> None:
        if not committed:
            thread = threading.Thread(target=commands)
            thread.start()
            thread.join(30)

    try:
        checked = check_read_models(cw, page_size=1, progress=progress)
    finally:
        other.close()
    assert committed == [2, 1]
    assert checked.ok, [str(d) for d in checked.differences]
    assert (checked.events, checked.cases) == (events, 4)
    assert check_read_models(cw).ok  # and afterwards, with both commands in the events and the rows
