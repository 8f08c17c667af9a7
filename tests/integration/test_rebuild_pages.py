"""The rebuild reads the log in case order, a page at a time: each case's chain is checked from its first event,
even when a page's end cuts the case in two, and the person keys a page's cases use are read in one query."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.errors import CaseIntegrityError
from engine.rebuild import rebuild
from engine.service import Casework
from tests.integration.scenarios import (
    CASEWORKER,
    MEDIATOR,
    count_rows,
    credit_code,
    file_dispute,
    hardship_application,
)
from tests.integration.tamper import delete_events, flip_byte

ID_NUMBERS = ["32050219800101123X", "320506197502030026", "11010519491231002X"]


@pytest.mark.parametrize("page_size", [2, 1000])  # 2: every case of three events is cut by a page's end
def test_a_case_altered_in_the_middle_or_cut_short_stops_the_rebuild_naming_it(cw: Casework, page_size: int) -> None:
    case_id = file_dispute(cw).case_id
    for _ in range(2):
        cw.execute(case_id, "add_note", MEDIATOR, text="回访")
    flip_byte(cw, case_id, 2)
    with pytest.raises(CaseIntegrityError) as broken:
        rebuild(cw, page_size=page_size)
    assert broken.value.case_id == case_id and broken.value.version == 2


def test_a_removed_first_event_is_a_broken_chain_not_a_shorter_case(cw: Casework) -> None:
    case_id = file_dispute(cw).case_id
    cw.execute(case_id, "add_note", MEDIATOR, text="回访")
    delete_events(cw, case_id, 1)
    with pytest.raises(CaseIntegrityError) as broken:
        rebuild(cw, page_size=1)
    assert broken.value.case_id == case_id and broken.value.version == 1


def test_the_person_keys_of_a_page_are_read_in_one_query(cw: Casework) -> None:
    for n, id_number in enumerate(ID_NUMBERS * 2):  # each person twice: a withdrawn case, then an open one
        worker = {"name": f"李{n}", "id_number": id_number, "phone": "13900000000", "address": "吴中区某街道"}
        opened = cw.open_case("hardship", CASEWORKER, **hardship_application(worker=worker))
        if n < len(ID_NUMBERS):
            cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="申请人撤回")
    for n in range(4):
        opened = file_dispute(cw, employer={"name": f"苏州示例企业 {n}", "credit_code": credit_code(n)})
        cw.execute(opened.case_id, "accept", MEDIATOR)
    reads: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "person_data_keys" in statement:
            reads.append(statement)

    events = cw.store.recorder.max_notification_id() or 0
    event.listen(cw.sql_engine, "before_cursor_execute", record)
    try:
        report = rebuild(cw, page_size=1000)
    finally:
        event.remove(cw.sql_engine, "before_cursor_execute", record)
    assert (report.events, report.cases) == (events, 10)
    assert len(reads) == 1  # one page: one query for the keys of its ten cases, not one per sealed event
    assert count_rows(cw, "person_reservations") == len(ID_NUMBERS)  # the open cases' ID numbers, opened and keyed
