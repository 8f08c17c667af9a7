"""One command = one transaction: idempotency, optimistic concurrency, nothing left behind."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

import pytest
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.errors import ActionNotAllowed, InvalidCommand
from engine.errors import CaseNotFound, VersionConflict
from engine.service import Casework
from engine.unit_of_work import UnitOfWork, next_case_number
from tests.integration.scenarios import MEDIATOR, count_rows, file_dispute

TABLES = ("casework_events", "case_index", "open_clocks", "case_statistics", "command_log")


def snapshot(cw: Casework) -> dict[str, int]:
    return {t: count_rows(cw, t) for t in TABLES}


def test_opening_a_case_writes_events_index_clock_statistics_and_command_log(cw: Casework) -> None:
    result = file_dispute(cw, command_id="open-1")
    assert result.number == "LD-2026-000001" and result.stage == "filed" and result.version == 1
    assert snapshot(cw) == {
        "casework_events": 1,
        "case_index": 1,
        "open_clocks": 1,
        "case_statistics": 1,
        "command_log": 1,
    }
    case = cw.get(result.number)
    assert case.clocks["acceptance"].due_on.isoformat() == "2026-03-05"  # 3 working days from Monday


def test_a_repeated_command_id_returns_the_first_result_and_appends_nothing(cw: Casework) -> None:
    first = file_dispute(cw, command_id="open-1")
    accepted = cw.execute(first.case_id, "accept", MEDIATOR, command_id="accept-1")
    before = snapshot(cw)
    again = cw.execute(first.case_id, "accept", MEDIATOR, command_id="accept-1")
    reopened = file_dispute(cw, command_id="open-1")
    assert again.replayed and not accepted.replayed
    assert (again.case_id, again.version, again.stage) == (accepted.case_id, accepted.version, accepted.stage)
    assert reopened.number == first.number and reopened.replayed
    assert snapshot(cw) == before
    assert cw.get(first.case_id).version == 2


def test_a_refused_command_leaves_nothing_behind(cw: Casework) -> None:
    opened = file_dispute(cw)
    before = snapshot(cw)
    with pytest.raises(ActionNotAllowed) as refused:
        cw.execute(opened.case_id, "confirm_performance", MEDIATOR, command_id="bad-1")
    assert "'filed'" in str(refused.value) and "accept" in refused.value.allowed
    with pytest.raises(InvalidCommand) as invalid:
        file_dispute(cw, claims=[{"category": "bonus", "amount": "-1"}], command_id="bad-2")
    assert set(invalid.value.fields) == {"claims[0].category", "claims[0].amount"}
    assert snapshot(cw) == before
    assert cw.command_result("bad-1") is None and cw.command_result("bad-2") is None
    # the refused open did not consume a case number
    assert file_dispute(cw).number == "LD-2026-000002"


def test_a_stale_expected_version_is_a_conflict_naming_the_current_version(cw: Casework) -> None:
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "accept", MEDIATOR, expected_version=1)
    before = snapshot(cw)
    with pytest.raises(VersionConflict) as conflict:
        cw.execute(opened.case_id, "add_note", MEDIATOR, expected_version=1, text="stale")
    assert conflict.value.current == 2 and conflict.value.expected == 1
    assert snapshot(cw) == before


def test_unknown_case_is_not_found(cw: Casework) -> None:
    with pytest.raises(CaseNotFound):
        cw.get("LD-2026-999999")


def test_concurrent_commands_with_the_same_expected_version_one_wins(cw: Casework) -> None:
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    barrier = threading.Barrier(2)

    def note(i: int) -> str:
        barrier.wait()
        try:
            cw.execute(opened.case_id, "add_note", MEDIATOR, expected_version=2, text=f"note {i}")
            return "ok"
        except VersionConflict:
            return "conflict"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(note, range(2)))
    assert outcomes == ["conflict", "ok"]
    case = cw.get(opened.case_id)
    assert case.version == 3 and len(case.notes) == 1


def test_concurrent_commands_without_a_version_all_land(cw: Casework) -> None:
    opened = file_dispute(cw)
    barrier = threading.Barrier(4)

    def notes(worker: int) -> int:
        barrier.wait()
        for i in range(10):
            cw.execute(opened.case_id, "add_note", MEDIATOR, text=f"{worker}-{i}")
        return worker

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(notes, range(4)))
    case = cw.get(opened.case_id)
    assert case.version == 41 and len(case.notes) == 40
    assert sorted(n["text"] for n in case.notes) == sorted(f"{w}-{i}" for w in range(4) for i in range(10))
    assert count_rows(cw, "command_log") == 41


def test_case_numbers_run_per_type_and_year(cw: Casework, clock) -> None:
    assert [file_dispute(cw).number for _ in range(3)] == [f"LD-2026-00000{i}" for i in (1, 2, 3)]
    clock.advance(days=310)
    assert file_dispute(cw).number == "LD-2027-000001"


def test_a_role_that_may_not_open_the_case_type_is_refused_before_its_data_is_checked(cw: Casework) -> None:
    from engine.service import Actor

    with pytest.raises(ActionNotAllowed) as refused:
        file_dispute(cw, Actor("auditor-1", "auditor"), claims=[])
    assert "role 'auditor' may not open" in str(refused.value)
    assert count_rows(cw, "casework_events") == 0


def test_a_unit_of_work_loads_with_the_loader_it_is_given_and_numbers_cases_in_the_database(cw: Casework) -> None:
    first = file_dispute(cw)
    loaded: list[UUID] = []

    def load(session: Session, case_id: UUID) -> Case:
        loaded.append(case_id)
        return cw.load_checked(session, case_id)

    with cw.write_transaction() as session:
        uow = UnitOfWork(session, cw.context(MEDIATOR, "by-hand"), load, cw.persons)
        assert uow.load(first.case_id).number == first.number
        assert loaded == [first.case_id] and list(uow.touched) == [first.case_id]
        assert next_case_number(session, "LD", 2026) == "LD-2026-000002"
        assert next_case_number(session, "LD", 2027) == "LD-2027-000001"
    assert file_dispute(cw).number == "LD-2026-000003"
