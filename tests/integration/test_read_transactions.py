"""A read of its own begins no transaction, on PostgreSQL (autocommit) as on SQLite (no BEGIN), so it costs no BEGIN
and ROLLBACK and each of its statements sees what is committed when it runs; a case read that a command overtakes
between its statements reads the newer case, not a broken one. A read inside a write joins the write, and a write
after a read on the same pooled connection is one transaction again, undone whole when it fails."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import event, func, select

from engine.service import Casework
from engine.tables import case_numbers
from tests.conftest import make_settings
from tests.integration.scenarios import MEDIATOR, file_dispute
from tests.integration.test_command_statements import statements

ROUNDS = 12
"""More than the connection pool holds (5 by default)."""


def _driver(session: Any) -> Any:
    return session.connection().connection.driver_connection


def _postgres(cw: Casework) -> bool:
    return cw.sql_engine.dialect.name == "postgresql"


def test_a_read_of_its_own_opens_no_transaction(cw: Casework) -> None:
    opened = file_dispute(cw)
    with statements(cw) as seen, cw.read_transaction() as session:
        assert cw.load_checked(session, opened.case_id, cached=False).version == 1
        driver = _driver(session)
        if _postgres(cw):
            assert driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
        else:
            assert not driver.in_transaction
    assert seen and all(s.split()[0].upper() == "SELECT" for s in seen)  # no BEGIN, no ROLLBACK


def test_a_case_read_overtaken_by_a_command_between_its_statements_reads_the_newer_case(
    cw: Casework, tmp_path: Path, database_url: str, clock: Any
) -> None:
    """The head is read from the case index before the events: a command another process commits in between leaves
    more events than the head, which is the newer case, never a case that looks cut short or altered."""
    opened = file_dispute(cw)
    other = Casework(make_settings(tmp_path, database_url), clock)
    overtaken: list[int] = []

    def note() -> None:
        overtaken.append(other.execute(opened.case_id, "add_note", MEDIATOR, text="回访").version)

    def overtake(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not overtaken and "FROM case_index" in statement:  # the other process commits, now
            command = threading.Thread(target=note)
            command.start()
            command.join(30)

    event.listen(cw.sql_engine, "after_cursor_execute", overtake)
    try:
        with cw.read_transaction() as session:
            case = cw.load_checked(session, opened.case_id, cached=False)
    finally:
        event.remove(cw.sql_engine, "after_cursor_execute", overtake)
        other.close()
    assert overtaken == [2]
    assert case.version == 2 and case.notes[-1]["text"] == "回访"


def test_a_read_inside_a_write_joins_it_and_sees_what_it_wrote(cw: Casework) -> None:
    with cw.write_transaction() as session:
        session.execute(case_numbers.insert().values(prefix="ZZ", year=2026, last=7))
        with cw.read_transaction() as inner:
            assert inner is session
            assert not _driver(inner).autocommit if _postgres(cw) else _driver(inner).in_transaction
            assert inner.execute(select(case_numbers.c.last).where(case_numbers.c.prefix == "ZZ")).scalar() == 7
        session.execute(case_numbers.delete().where(case_numbers.c.prefix == "ZZ"))


@pytest.mark.parametrize("rounds", [12])
def test_a_write_after_reads_on_every_pooled_connection_is_undone_whole_when_it_fails(
    cw: Casework, rounds: int
) -> None:
    opened = file_dispute(cw)
    before = cw.get(opened.case_id).version
    for i in range(ROUNDS):  # more than the pool holds: every pooled connection has served a read
        with cw.read_transaction() as session:
            session.execute(select(func.count()).select_from(case_numbers)).scalar()
        with pytest.raises(RuntimeError), cw.write_transaction() as session:
            session.execute(case_numbers.insert().values(prefix=f"Y{i}", year=2026, last=1))
            driver = _driver(session)
            if _postgres(cw):
                assert not driver.autocommit and driver.info.transaction_status == TransactionStatus.INTRANS
            else:
                assert driver.in_transaction
            raise RuntimeError("the command failed")
    with cw.read_transaction() as session:
        left = session.execute(select(func.count()).where(case_numbers.c.prefix.like("Y%"))).scalar()
    assert left == 0
    assert cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访").version == before + 1
