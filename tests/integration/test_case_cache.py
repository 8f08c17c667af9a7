"""A long case is not read again while the case index records the head this process holds it at; a case another
process changed since is brought up to date with the events it missed, each checked to chain on from the head held
(a short case's held rows compared first, an erasure replayed in full); nothing else is taken from the cache: a head
that does not follow is a full, checked replay, a past version is replayed, a command that fails leaves the cached
case as it was, and `casework verify` reads every event whatever is cached."""

from __future__ import annotations

import pickle
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from click.testing import CliRunner
from sqlalchemy import event, update

from aggregates.base import Case
from cli import main
from engine.accounts import User
from engine.audit import verify_store
from engine.case_cache import TRUSTED_FROM, CaseCache, private_copy
from engine.erasure import erase_person
from engine.errors import CaseIntegrityError
from engine.service import Casework, CommandResult
from engine.tables import case_index
from engine.unit_of_work import UnitOfWork
from tests.conftest import make_settings
from tests.integration.scenarios import CASEWORKER, MEDIATOR, file_dispute, hardship_application
from tests.integration.tamper import TAMPERINGS, flip_byte, rewrite_event
from tests.integration.test_command_statements import statements


def _long_dispute(cw: Casework, notes: int = TRUSTED_FROM) -> CommandResult:
    opened = file_dispute(cw)
    for i in range(notes):
        cw.execute(opened.case_id, "add_note", MEDIATOR, text=f"回访 {i}")
    return opened


def _reads_events(cw: Casework, read) -> bool:
    with statements(cw) as seen:
        read()
    return any("casework_events" in s and s.upper().startswith("SELECT") for s in seen)


def test_a_long_case_is_read_without_its_events_while_the_index_records_the_head_it_was_cached_at(
    cw: Casework,
) -> None:
    opened = _long_dispute(cw)
    assert not _reads_events(cw, lambda: cw.get(opened.case_id))
    case = cw.get(opened.number)
    assert (case.version, len(case.notes)) == (TRUSTED_FROM + 1, TRUSTED_FROM)
    # a short case's rows are read on every read, to be compared with those its cached state was checked against
    short = file_dispute(cw)
    assert _reads_events(cw, lambda: cw.get(short.case_id))
    # a past version is replayed from the events up to it, never taken from the newer cached state
    assert _reads_events(cw, lambda: cw.get(opened.case_id, version=TRUSTED_FROM))
    assert cw.get(opened.case_id, version=1).stage == "filed" and not cw.get(opened.case_id, version=1).notes
    assert len(cw.get(opened.case_id, version=TRUSTED_FROM).notes) == TRUSTED_FROM - 1


@pytest.fixture
def other(cw: Casework, tmp_path, database_url: str, clock) -> Iterator[Casework]:
    """A second process on the same database: a service with a cache of its own."""
    second = Casework(make_settings(tmp_path, database_url), clock)
    yield second
    second.close()


def _event_reads(cw: Casework, read: Callable[[], object]) -> list[str]:
    """The statements reading `casework_events` that `read` runs."""
    with statements(cw) as seen:
        read()
    return [s for s in seen if "casework_events" in s and s.upper().startswith("SELECT")]


def _replayed(case_id: UUID, tmp_path, database_url: str, clock) -> dict[str, object]:
    """The case's state as a process that holds nothing replays it."""
    fresh = Casework(make_settings(tmp_path, database_url), clock)
    try:
        return vars(fresh.get(case_id))
    finally:
        fresh.close()


def test_a_long_case_another_process_changed_is_brought_up_to_date_with_the_events_it_missed(
    cw: Casework, other: Casework, tmp_path, database_url: str, clock
) -> None:
    opened = _long_dispute(cw)
    assert cw.get(opened.case_id).version == TRUSTED_FROM + 1
    for text in ("另一进程的回访", "又一次回访"):
        other.execute(opened.case_id, "add_note", MEDIATOR, text=text)
    reads = _event_reads(cw, lambda: cw.get(opened.case_id))
    assert len(reads) == 1 and "originator_version >" in reads[0], reads  # the two new events, not all 53
    case = cw.get(opened.case_id)
    assert case.version == TRUSTED_FROM + 3 and [n["text"] for n in case.notes[-2:]] == ["另一进程的回访", "又一次回访"]
    assert vars(case) == _replayed(opened.case_id, tmp_path, database_url, clock)
    assert not _event_reads(cw, lambda: cw.get(opened.case_id))  # held at the new head
    # a command here on a case changed there works on the state brought up to date, and so does the other process
    other.execute(opened.case_id, "add_note", MEDIATOR, text="那边")
    assert cw.execute(opened.case_id, "add_note", MEDIATOR, text="这边").version == TRUSTED_FROM + 5
    assert [n["text"] for n in other.get(opened.case_id).notes[-2:]] == ["那边", "这边"]
    assert vars(cw.get(opened.case_id)) == _replayed(opened.case_id, tmp_path, database_url, clock)


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_short_case_another_process_changed_is_refused_if_a_row_it_held_changed(
    cw: Casework, other: Casework, tampering: str
) -> None:
    opened = file_dispute(cw)
    for text in ("回访", "再次回访"):
        cw.execute(opened.case_id, "add_note", MEDIATOR, text=text)
    assert cw.get(opened.case_id).version == 3
    other.execute(opened.case_id, "add_note", MEDIATOR, text="另一进程的回访")
    TAMPERINGS[tampering](cw, opened.case_id)
    with pytest.raises(CaseIntegrityError) as caught:
        cw.get(opened.case_id)
    assert (caught.value.number, caught.value.version) == (opened.number, 2)


def test_an_altered_event_another_process_recorded_is_named_not_applied(cw: Casework, other: Casework) -> None:
    opened = _long_dispute(cw)
    cw.get(opened.case_id)
    other.execute(opened.case_id, "add_note", MEDIATOR, text="另一进程的回访")
    flip_byte(cw, opened.case_id, TRUSTED_FROM + 2)
    with pytest.raises(CaseIntegrityError) as caught:
        cw.get(opened.case_id)
    assert (caught.value.number, caught.value.version) == (opened.number, TRUSTED_FROM + 2)


def test_a_command_that_fails_leaves_the_cached_case_as_it_was(cw: Casework) -> None:
    opened = _long_dispute(cw)
    first = cw.execute(opened.case_id, "add_note", MEDIATOR, command_id="note-x", text="回访")
    # the repeat records its note on its own copy of the case, then the command log refuses the command id
    again = cw.execute(opened.case_id, "add_note", MEDIATOR, command_id="note-x", text="回访")
    assert again.replayed and again.version == first.version
    case = cw.get(opened.case_id)
    assert case.version == first.version and [n["text"] for n in case.notes].count("回访") == 1


def test_an_event_altered_under_a_cached_case_is_named_by_verify(
    cw: Casework, tmp_path, database_url: str, clock, monkeypatch
) -> None:
    opened = _long_dispute(cw)
    cw.get(opened.case_id)
    flip_byte(cw, opened.case_id, 2)
    result = verify_store(cw)
    assert result.first_break is not None
    assert (result.first_break.number, result.first_break.version) == (opened.number, 2)
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASEWORK_DATABASE_URL", database_url)
    monkeypatch.delenv("CASEWORK_CIPHER_KEY", raising=False)
    verified = CliRunner().invoke(main, ["verify"], catch_exceptions=False)
    assert verified.exit_code == 1 and opened.number in verified.output and "v2" in verified.output, verified.output
    # a process that does not hold the case replays it and refuses it
    fresh = Casework(make_settings(tmp_path, database_url), clock)
    try:
        with pytest.raises(CaseIntegrityError) as caught:
            fresh.get(opened.case_id)
        assert (caught.value.number, caught.value.version) == (opened.number, 2)
    finally:
        fresh.close()


def test_a_head_changed_in_the_case_index_is_a_checked_replay_not_the_cached_case(cw: Casework) -> None:
    opened = _long_dispute(cw)
    cw.get(opened.case_id)
    with cw.write_transaction() as session:
        session.execute(update(case_index).where(case_index.c.case_id == opened.case_id).values(head_hash="f" * 64))
    with pytest.raises(CaseIntegrityError) as caught:
        cw.get(opened.case_id)
    assert "replaced" in caught.value.problem
    with pytest.raises(CaseIntegrityError):
        cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")


def test_a_chain_rewritten_with_its_head_is_read_as_rewritten_not_as_cached(cw: Casework) -> None:
    opened = _long_dispute(cw)
    cw.get(opened.case_id)
    assert cw.get(opened.case_id).notes[-1]["by"] == MEDIATOR.id
    rewrite_event(cw, opened.case_id, TRUSTED_FROM + 1, actor_id="mediator-9")
    assert cw.get(opened.case_id).notes[-1]["by"] == "mediator-9"
    assert not _reads_events(cw, lambda: cw.get(opened.case_id))  # cached again, at the head the index records


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_a_short_case_this_process_holds_is_refused_once_its_rows_change(cw: Casework, tampering: str) -> None:
    opened = file_dispute(cw)
    for text in ("回访", "再次回访"):
        cw.execute(opened.case_id, "add_note", MEDIATOR, text=text)
    assert cw.get(opened.case_id) is cw.get(opened.case_id)  # held, and shared with readers
    TAMPERINGS[tampering](cw, opened.case_id)
    with pytest.raises(CaseIntegrityError) as caught:
        cw.get(opened.case_id)
    assert (caught.value.number, caught.value.version) == (opened.number, 2)


def test_a_command_may_read_a_case_this_process_holds_from_its_events(cw: Casework) -> None:
    opened = _long_dispute(cw)

    def work(uow: UnitOfWork) -> Case:
        assert not _reads_events(cw, lambda: uow.load(opened.case_id))
        with statements(cw) as seen:
            case = uow.load(opened.case_id, replay=True)
        assert any("casework_events" in s and s.upper().startswith("SELECT") for s in seen)
        cw.apply(uow, case, "add_note", {"text": "重新读取后的回访"})
        return case

    assert cw.transact(MEDIATOR, "add_note", work).version == TRUSTED_FROM + 2
    assert cw.get(opened.case_id).notes[-1]["text"] == "重新读取后的回访"


@pytest.mark.parametrize("by", ["this process", "another process"])
def test_an_erasure_on_a_case_this_process_holds_is_read_back_erased(
    cw: Casework, by: str, request: pytest.FixtureRequest
) -> None:
    """Applying the erasure's events to the state held would keep what the erasure made unreadable: replayed."""
    opened = cw.open_case("hardship", CASEWORKER, **hardship_application())
    cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="申请人撤回")
    assert cw.get(opened.case_id).worker["name"]  # type: ignore[attr-defined]
    top = User("sup-top", "总工会审核", "supervisor", "suzhou", True, datetime(2026, 1, 1, tzinfo=UTC), "admin")
    eraser = cw if by == "this process" else request.getfixturevalue("other")
    erase_person(eraser, top, case=opened.number, person="worker", reason="本人申请删除")
    assert cw.get(opened.case_id).worker["erased"] is True  # type: ignore[attr-defined]
    assert cw.get(opened.case_id) is cw.get(opened.case_id)  # held again, as erased


def test_the_cases_kept_add_up_to_at_most_the_events_allowed_least_recently_used_dropped_first(cw: Casework) -> None:
    cases = [file_dispute(cw) for _ in range(3)]
    for opened in cases:
        cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")
    cache = CaseCache(events=5)
    for opened in cases:
        cache.put(cw.get(opened.case_id))
    held = [opened.case_id for opened in cases if cache.get(opened.case_id, 2, cw.get(opened.case_id).head_hash)]
    assert held == [cases[1].case_id, cases[2].case_id]  # 2 + 2 events; the third case's 2 would make 6
    cache.forget([cases[1].case_id])
    cache.put(cw.get(cases[0].case_id))
    assert cache.get(cases[0].case_id, 2, cw.get(cases[0].case_id).head_hash) is not None


def test_a_commands_copy_shares_nothing_it_could_change_with_the_cached_case(cw: Casework) -> None:
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")
    held = cw.get(opened.case_id)
    before = pickle.dumps(held)
    copy = private_copy(held)
    assert pickle.dumps(copy) == before
    copy.notes.append({"text": "新的"})
    copy.applicants[0]["name"] = "改过"  # type: ignore[attr-defined]
    copy.claims[0]["amount"] = "1.00"  # type: ignore[attr-defined]
    copy.clocks.clear()
    assert pickle.dumps(held) == before and cw.get(opened.case_id) is held
    # the items of the lists events only append to are shared, not copied (no event changes one)
    assert copy.notes is not held.notes and copy.notes[0] is held.notes[0]


def test_a_command_that_waited_for_another_on_the_same_case_takes_the_held_case_with_the_rows_that_one_added(
    cw: Casework,
) -> None:
    """On PostgreSQL the second command's one statement for the head and the rows waits for the first's row lock,
    then sees the new head but the rows of its own snapshot: it reads the rows again and takes the held case, as
    the first left it, without a replay (which would read the person keys). On SQLite the second waits to begin."""
    opened = file_dispute(cw)
    cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")
    writing, go = threading.Event(), threading.Event()
    seen: list[tuple[str, str]] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append((threading.current_thread().name, " ".join(statement.split())))

    def hold_the_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if threading.current_thread().name == "first" and statement.lstrip().startswith(("WITH", "INSERT")):
            writing.set()
            go.wait(10)

    results: dict[str, CommandResult] = {}

    def note(name: str) -> None:
        results[name] = cw.execute(opened.case_id, "add_note", MEDIATOR, text=name)

    event.listen(cw.sql_engine, "before_cursor_execute", record)
    event.listen(cw.sql_engine, "after_cursor_execute", hold_the_first)
    try:
        first = threading.Thread(target=note, args=("first",), name="first")
        first.start()
        assert writing.wait(10)
        second = threading.Thread(target=note, args=("second",), name="second")
        second.start()
        time.sleep(0.3)  # the second is waiting for the first
        assert "second" not in results
        go.set()
        first.join(10)
        second.join(10)
    finally:
        go.set()
        event.remove(cw.sql_engine, "before_cursor_execute", record)
        event.remove(cw.sql_engine, "after_cursor_execute", hold_the_first)
    assert (results["first"].version, results["second"].version) == (3, 4)
    case = cw.get(opened.case_id)
    assert [n["text"] for n in case.notes][-2:] == ["first", "second"]
    assert verify_store(cw).ok
    second_statements = [s for name, s in seen if name == "second"]
    assert not any("person_data_keys" in s for s in second_statements), second_statements
