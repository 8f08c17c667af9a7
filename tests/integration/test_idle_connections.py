"""PostgreSQL: a pooled connection the server dropped while it sat idle is replaced before it is used; one in
steady use is handed out without a test query."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text

from engine import database
from engine.service import Casework
from tests.integration.scenarios import MEDIATOR, file_dispute


@pytest.fixture
def postgres_cw(cw: Casework) -> Casework:
    if cw.sql_engine.dialect.name != "postgresql":
        pytest.skip("the pool of a SQLite file opens no server connection")
    return cw


def _statements(cw: Casework) -> list[str]:
    seen: list[str] = []
    event.listen(cw.sql_engine, "before_cursor_execute", lambda *args: seen.append(args[2]))
    return seen


def test_a_connection_killed_while_idle_is_replaced_and_the_command_runs(
    postgres_cw: Casework, monkeypatch: pytest.MonkeyPatch
) -> None:
    cw = postgres_cw
    first = file_dispute(cw)
    with cw.sql_engine.connect() as connection:
        pid = connection.execute(text("select pg_backend_pid()")).scalar_one()
    outside = create_engine(cw.sql_engine.url)  # the server's administrator, say, or its restart
    with outside.connect() as other:
        other.execute(text("select pg_terminate_backend(:pid)"), {"pid": pid})
    outside.dispose()
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # as after a quiet spell
    cw.execute(first.case_id, "add_note", MEDIATOR, text="服务器重启后继续办理")
    assert cw.get(first.number).notes[-1]["text"] == "服务器重启后继续办理"


def test_a_connection_in_steady_use_is_not_tested_first(postgres_cw: Casework) -> None:
    cw = postgres_cw
    first = file_dispute(cw)
    seen = _statements(cw)
    cw.execute(first.case_id, "add_note", MEDIATOR, text="电话回访")
    assert seen and not any(s.strip().upper() == "SELECT 1" for s in seen)
