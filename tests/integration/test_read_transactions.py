"""A read of its own runs on PostgreSQL in autocommit, without the round trips of BEGIN and ROLLBACK, and on
SQLite in one deferred transaction; a read inside a write joins the write, and a write after a read on the same
pooled connection is one transaction again, undone whole when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select

from engine.service import Casework
from engine.tables import case_numbers
from tests.integration.scenarios import MEDIATOR, file_dispute

ROUNDS = 12
"""More than the connection pool holds (5 by default)."""


def _driver(session: Any) -> Any:
    return session.connection().connection.driver_connection


def _postgres(cw: Casework) -> bool:
    return cw.sql_engine.dialect.name == "postgresql"


def test_a_read_of_its_own_opens_no_transaction_on_postgresql(cw: Casework) -> None:
    opened = file_dispute(cw)
    with cw.read_transaction() as session:
        assert cw.load_checked(session, opened.case_id).version == 1
        driver = _driver(session)
        if _postgres(cw):
            assert driver.autocommit and driver.info.transaction_status == TransactionStatus.IDLE
        else:
            assert driver.in_transaction  # BEGIN (deferred): the read's statements share one snapshot


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
            if _postgres(cw):
                driver = _driver(session)
                assert not driver.autocommit and driver.info.transaction_status == TransactionStatus.INTRANS
            raise RuntimeError("the command failed")
    with cw.read_transaction() as session:
        left = session.execute(select(func.count()).where(case_numbers.c.prefix.like("Y%"))).scalar()
    assert left == 0
    assert cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访").version == before + 1
