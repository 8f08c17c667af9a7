"""Cross-case links in one transaction; one open hardship case per person."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Table

from aggregates.base import Case
from aggregates.errors import InvalidCommand
from aggregates.rectification import RectificationProposal
from engine.errors import DuplicatePerson, VersionConflict
from engine.service import SYSTEM, Casework
from engine.tables import broke, command_log, person_reservations
from engine.unit_of_work import UnitOfWork
from tests.integration.scenarios import CASEWORKER, NEGOTIATOR, SUPERVISOR, count_rows, get_as, hardship_application

OFFER: dict[str, Any] = dict(
    org_unit="suzhou.sip",
    enterprise={"name": "苏州工业园区示例电子有限公司", "employees": 320},
    issuing_union="苏州工业园区总工会",
    document_number="园工要〔2026〕7号",
    terms={"wage_increase_pct": "6.0"},
)


def _overdue_negotiation(cw: Casework, clock):
    opened = cw.open_case("wage_negotiation", NEGOTIATOR, **OFFER)
    clock.advance(days=21)
    cw.execute(
        opened.case_id, "escalate_to_acting_offer", SUPERVISOR, acting_union="苏州市总工会", reason="20日内未答复"
    )
    clock.advance(days=21)
    return opened


def test_the_rectification_step_opens_a_linked_proposal_in_the_same_transaction(cw: Casework, clock) -> None:
    opened = _overdue_negotiation(cw, clock)
    result = cw.execute(
        opened.case_id,
        "issue_rectification",
        SUPERVISOR,
        reason="代行要约后仍未答复",
        items=[
            {
                "category": "collective_contract",
                "description": "拒不应约",
                "legal_basis": "集体合同规定第三十二条",
                "deadline": clock.now().date() + timedelta(days=30),
            }
        ],
    )
    assert result.stage == "rectification_pending" and len(result.linked) == 1
    proposal = get_as(cw, result.linked[0]["number"], RectificationProposal)
    negotiation = cw.get(opened.case_id)
    assert proposal.source_case_id == negotiation.id
    assert negotiation.links[0]["case_id"] == proposal.id
    assert proposal.clocks["reply"].due_on == clock.now().date() + timedelta(days=15)


def test_a_bad_rectification_opens_nothing(cw: Casework, clock) -> None:
    opened = _overdue_negotiation(cw, clock)
    before = count_rows(cw, "casework_events")
    with pytest.raises(InvalidCommand):
        cw.execute(opened.case_id, "issue_rectification", SUPERVISOR, reason="x", items=[])
    assert count_rows(cw, "casework_events") == before
    assert count_rows(cw, "case_index") == 1


def test_a_written_offer_counts_once_per_document_and_once_per_enterprise(cw: Casework) -> None:
    from engine.reports import statistics

    for name in ("甲公司", "乙公司", "丙公司"):
        cw.open_case("wage_negotiation", NEGOTIATOR, **{**OFFER, "enterprise": {"name": name}})
    report = statistics(cw, org_unit="suzhou")
    assert report.figure("offers_written") == 1 and report.figure("enterprises_covered") == 3


def test_one_open_hardship_case_per_person(cw: Casework) -> None:
    first = cw.open_case("hardship", CASEWORKER, **hardship_application())
    with pytest.raises(DuplicatePerson) as duplicate:
        cw.open_case("hardship", CASEWORKER, **hardship_application(org_unit="suzhou.kunshan"))
    assert duplicate.value.existing_number == first.number
    cw.execute(first.case_id, "withdraw", CASEWORKER, reason="本人放弃")
    again = cw.open_case("hardship", CASEWORKER, **hardship_application())
    assert again.number != first.number


def test_two_concurrent_applications_for_one_person_exactly_one_succeeds(cw: Casework) -> None:
    barrier = threading.Barrier(2)

    def apply(org_unit: str) -> str:
        barrier.wait()
        try:
            return cw.open_case("hardship", CASEWORKER, **hardship_application(org_unit=org_unit)).number
        except DuplicatePerson:
            return "duplicate"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(apply, ["suzhou.gusu", "suzhou.wuzhong"]))
    assert outcomes.count("duplicate") == 1
    assert count_rows(cw, "person_reservations") == 1
    assert count_rows(cw, "case_index") == 1


def insert_twice(cw: Casework, table: Table, **row: object) -> BaseException:
    """The error a second insert of `row` into `table` gets from the database."""
    with cw.write_transaction() as session:
        session.execute(table.insert().values(**row))
    with pytest.raises(Exception) as error, cw.write_transaction() as session:
        session.execute(table.insert().values(**row))
    return error.value


def test_a_broken_constraint_is_recognised_by_name_on_either_database(cw: Casework) -> None:
    reserved = insert_twice(cw, person_reservations, person_key="k" * 64, case_id=uuid.uuid4(), number="HS-2026-000001")
    assert broke(reserved, person_reservations.primary_key)
    logged = insert_twice(
        cw,
        command_log,
        command_id="person_reservations",
        action="person_reservations",
        result="person_reservations",
        recorded_at=datetime.now(UTC),
    )
    assert broke(logged, command_log.primary_key)
    assert not broke(logged, person_reservations.primary_key)  # the rows' words do not matter, the constraint does
    assert not broke(
        ValueError("UNIQUE constraint failed: person_reservations.person_key"), person_reservations.primary_key
    )


def test_only_a_second_reservation_of_a_person_is_a_duplicate_person(cw: Casework) -> None:
    def twice(table: Table, **row: object) -> Callable[[UnitOfWork], Case]:
        def work(uow: UnitOfWork) -> Case:
            uow.session.execute(table.insert().values(**row))
            uow.session.execute(table.insert().values(**row))
            raise AssertionError("the second insert was accepted")

        return work

    with pytest.raises(DuplicatePerson):
        cw.transact(
            SYSTEM,
            "apply",
            twice(person_reservations, person_key="k" * 64, case_id=uuid.uuid4(), number="HS-2026-000001"),
        )
    with pytest.raises(VersionConflict):  # a clash in the command log is no person's, whatever its rows say
        cw.transact(
            SYSTEM,
            "add_note",
            twice(
                command_log,
                command_id="person_reservations",
                action="add_note",
                result="person_reservations",
                recorded_at=datetime.now(UTC),
            ),
        )
