"""What one command costs the database: the statements an add_note runs, pinned so that they cannot creep back.

A command runs in one transaction: the case index's head (locked on PostgreSQL), the case's events (only their
rows, to compare, when the process holds the case at that head, read with the head on PostgreSQL; none for a long
case it holds: engine/case_cache.py),
the new event, the case-index row and the command log — whose primary key is the idempotency
check —, written on PostgreSQL by one statement. Open-clock rows are written only by a command that changed the
clocks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from engine.case_cache import TRUSTED_FROM
from engine.service import Casework
from engine.tables import metadata
from tests.integration.scenarios import MEDIATOR, file_dispute


@contextmanager
def statements(cw: Casework) -> Iterator[list[str]]:
    """The SQL statements run on `cw`'s database inside the block, in order, each on one line."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(cw.sql_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(cw.sql_engine, "before_cursor_execute", record)


def _short(seen: list[str]) -> list[str]:
    """Each statement as its verb and table: `SELECT casework_events`, `INSERT case_index`; a statement that writes
    several tables (PostgreSQL's data-modifying WITH) as `INSERT casework_events + case_index + command_log`."""
    out = []
    for s in seen:
        words = s.replace('"', "").split()
        verb = words[0].upper()
        if verb == "WITH":
            tables = [words[i + 2] for i, w in enumerate(words) if w.lstrip("(") == "INSERT" and words[i + 1] == "INTO"]
            out.append("INSERT " + " + ".join(tables))
            continue
        if verb == "SELECT":
            table = words[words.index("FROM") + 1] if "FROM" in words else "?"
        elif verb in ("INSERT", "DELETE"):
            table = words[2]
        elif verb == "LOCK":
            table = words[2]
        else:
            table = ""
        out.append(f"{verb} {table}".strip())
    return out


def _begin(cw: Casework) -> list[str]:
    """SQLite's BEGIN IMMEDIATE is a statement; psycopg begins a transaction by itself."""
    return ["BEGIN"] if cw.sql_engine.dialect.name == "sqlite" else []


def _lock_events(cw: Casework) -> list[str]:
    """eventsourcing's recorder locks its table on PostgreSQL, so notifications commit in order."""
    return ["LOCK casework_events"] if cw.sql_engine.dialect.name == "postgresql" else []


def _inserts(cw: Casework, *tables: str) -> list[str]:
    """The rows a command writes, into `tables`: on PostgreSQL one statement, on SQLite one per table (a statement
    costs SQLite no round trip)."""
    if cw.sql_engine.dialect.name == "postgresql":
        return ["INSERT " + " + ".join(tables)]
    return [f"INSERT {t}" for t in tables]


def _held_rows(cw: Casework) -> list[str]:
    """A held short case's rows: read by the statement that reads its head on PostgreSQL (`SELECT case_index ...
    JOIN casework_events`), by a second statement on SQLite."""
    return [] if cw.sql_engine.dialect.name == "postgresql" else ["SELECT casework_events"]


def _person_keys() -> list[str]:
    """A replay reads the keys of the persons whose data the case's events seal, once (engine/sealing.py)."""
    return ["SELECT person_data_keys"] if "person_data_keys" in metadata.tables else []


def test_an_add_note_on_a_short_case_replays_it_and_writes_three_rows(cw: Casework) -> None:
    opened = file_dispute(cw)
    with statements(cw) as seen:
        cw.cases.forget([opened.case_id])  # as in a process that has not read the case yet
        cw.execute(opened.case_id, "add_note", MEDIATOR, text="第一次回访")
    assert _short(seen) == [
        *_begin(cw),
        "SELECT case_index",
        "SELECT casework_events",
        *_person_keys(),
        *_lock_events(cw),
        *_inserts(cw, "casework_events", "case_index", "command_log"),
    ], seen


def test_an_add_note_on_a_short_case_this_process_holds_compares_its_rows_and_writes_three(cw: Casework) -> None:
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "add_note", MEDIATOR, text="第一次回访")
    with statements(cw) as seen:
        cw.execute(opened.case_id, "add_note", MEDIATOR, text="第二次回访")
    assert _short(seen) == [
        *_begin(cw),
        "SELECT case_index",
        *_held_rows(cw),
        *_lock_events(cw),
        *_inserts(cw, "casework_events", "case_index", "command_log"),
    ], seen


def test_an_add_note_on_a_long_case_reads_no_event(cw: Casework) -> None:
    opened = file_dispute(cw)
    for i in range(TRUSTED_FROM):
        cw.execute(opened.case_id, "add_note", MEDIATOR, text=f"回访 {i}")
    with statements(cw) as seen:
        result = cw.execute(opened.case_id, "add_note", MEDIATOR, text="再次回访")
    assert result.version == TRUSTED_FROM + 2
    assert _short(seen) == [
        *_begin(cw),
        "SELECT case_index",
        *_lock_events(cw),
        *_inserts(cw, "casework_events", "case_index", "command_log"),
    ], seen


def test_a_command_that_changes_the_clocks_rewrites_its_open_clock_rows(cw: Casework) -> None:
    opened = file_dispute(cw)
    with statements(cw) as seen:
        cw.execute(opened.case_id, "accept", MEDIATOR)  # closes the acceptance clock, opens the mediation clock
    assert _short(seen) == [
        *_begin(cw),
        "SELECT case_index",
        *_held_rows(cw),
        "DELETE open_clocks",
        *_lock_events(cw),
        # the acceptance is counted in the statistics, by day and by month and year
        *_inserts(
            cw, "casework_events", "case_index", "open_clocks", "case_statistics", "statistics_periods", "command_log"
        ),
    ], seen


def test_a_repeated_command_id_is_answered_from_the_command_log_with_nothing_appended(cw: Casework) -> None:
    opened = file_dispute(cw)
    first = cw.execute(opened.case_id, "add_note", MEDIATOR, command_id="note-1", text="回访")
    again = cw.execute(opened.case_id, "add_note", MEDIATOR, command_id="note-1", text="回访")
    assert again.replayed and (again.version, again.command_id) == (first.version, "note-1")
    assert cw.get(opened.case_id).version == first.version
    # a repeat whose action the case no longer allows is answered the same way, not refused
    accepted = cw.execute(opened.case_id, "accept", MEDIATOR, command_id="accept-1")
    assert cw.execute(opened.case_id, "accept", MEDIATOR, command_id="accept-1").version == accepted.version
