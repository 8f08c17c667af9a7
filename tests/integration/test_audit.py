"""Audit: history with who/when/why, state as of a version or a time, tamper detection, encryption."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from eventsourcing.cipher import AESCipher
from sqlalchemy import event, text

from aggregates.labor_dispute import LaborDispute
from engine.audit import as_of, history, verify_case, verify_store
from engine.migrate import upgrade
from engine.service import Casework, CommandResult
from tests.conftest import make_settings
from tests.integration.scenarios import MEDIATOR, SUPERVISOR, file_dispute, get_as


def _dispute_with_history(cw: Casework, clock) -> CommandResult:
    opened = file_dispute(cw)
    clock.advance(days=1)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    clock.advance(days=1)
    cw.execute(opened.case_id, "withdraw", MEDIATOR, reason="申请人与企业自行和解")
    return opened


def test_history_lists_every_event_with_actor_role_reason_times_and_chain(cw: Casework, clock) -> None:
    opened = _dispute_with_history(cw, clock)
    entries = history(cw, opened.number)
    assert [(e.version, e.event, e.actor_role, e.stage) for e in entries] == [
        (1, "DisputeFiled", "mediator", "filed"),
        (2, "DisputeAccepted", "mediator", "accepted"),
        (3, "DisputeWithdrawn", "mediator", "withdrawn"),
    ]
    assert entries[2].reason == "申请人与企业自行和解"
    assert entries[1].recorded_at - entries[0].recorded_at == timedelta(days=1)
    assert [e.prev_hash for e in entries[1:]] == [e.hash for e in entries[:-1]]
    assert len({e.command_id for e in entries}) == 3


def test_state_as_of_a_version_and_as_of_a_past_time(cw: Casework, clock, start_time) -> None:
    opened = _dispute_with_history(cw, clock)
    assert as_of(cw, opened.number, version=2).stage == "accepted"
    assert as_of(cw, opened.case_id, at=start_time + timedelta(hours=30)).stage == "accepted"
    assert as_of(cw, opened.case_id, at=start_time + timedelta(hours=1)).stage == "filed"
    assert as_of(cw, opened.case_id, at=start_time + timedelta(days=5)).stage == "withdrawn"
    with pytest.raises(Exception, match="did not exist"):
        as_of(cw, opened.case_id, at=start_time - timedelta(days=1))


def test_verify_passes_on_an_untouched_store(cw: Casework, clock) -> None:
    _dispute_with_history(cw, clock)
    file_dispute(cw)
    result = verify_store(cw)
    assert result.ok and result.events == 4 and result.cases == 2


def test_changing_one_byte_of_a_stored_event_is_detected_and_named(cw: Casework, clock) -> None:
    opened = _dispute_with_history(cw, clock)
    with cw.write_transaction() as session:
        row = session.execute(text("select id, state from casework_events where originator_version = 2")).one()
        state = bytes(row.state)
        position = state.index(b'"actor_id":"') + len(b'"actor_id":"')
        tampered = state[:position] + bytes([state[position] ^ 0x01]) + state[position + 1 :]
        session.execute(text("update casework_events set state = :s where id = :i"), {"s": tampered, "i": row.id})
    for result in (verify_case(cw, opened.number), verify_store(cw)):
        assert not result.ok and result.first_break is not None
        assert result.first_break.version == 2 and result.first_break.case_id == opened.case_id
        assert "altered" in result.first_break.problem


def test_removing_the_last_event_is_detected_through_the_case_index(cw: Casework, clock) -> None:
    opened = _dispute_with_history(cw, clock)
    with cw.write_transaction() as session:
        session.execute(text("delete from casework_events where originator_version = 3"))
    result = verify_case(cw, opened.number)
    assert result.first_break is not None and "removed" in result.first_break.problem


def test_with_a_cipher_key_personal_data_is_encrypted_at_rest(tmp_path, database_url: str, clock) -> None:
    settings = make_settings(tmp_path, database_url, cipher_key=AESCipher.create_key(num_bytes=32))
    cw = Casework(settings, clock)
    upgrade(cw.sql_engine)
    try:
        opened = file_dispute(cw)
        cw.execute(opened.case_id, "accept", SUPERVISOR)
        with cw.read_transaction() as session:
            stored = b"".join(bytes(s) for (s,) in session.execute(text("select state from casework_events")))
        assert "王建国".encode() not in stored and b"32050219800101123X" not in stored
        assert get_as(cw, opened.case_id, LaborDispute).applicants[0]["name"] == "王建国"
        assert verify_store(cw).ok
    finally:
        cw.close()


def test_a_store_encrypted_by_the_pycryptodome_cipher_of_earlier_releases_reads_unchanged(
    tmp_path, database_url: str, clock
) -> None:
    """Earlier releases stored events with eventsourcing.cipher:AESCipher; the store now uses the same format from
    eventsourcing.cryptography, so those events read and verify as before."""
    from engine import store

    key = AESCipher.create_key(num_bytes=32)
    settings = make_settings(tmp_path, database_url, cipher_key=key)
    topic, store.CIPHER_TOPIC = store.CIPHER_TOPIC, "eventsourcing.cipher:AESCipher"
    try:
        before = Casework(settings, clock)
        upgrade(before.sql_engine)
        opened = file_dispute(before)
        before.execute(opened.case_id, "accept", SUPERVISOR)
        before.close()
    finally:
        store.CIPHER_TOPIC = topic
    now = Casework(settings, clock)
    try:
        assert type(now.store.mapper.cipher).__module__ == "eventsourcing.cryptography"
        assert get_as(now, opened.number, LaborDispute).applicants[0]["name"] == "王建国"
        assert verify_store(now).ok
        now.execute(opened.case_id, "add_note", SUPERVISOR, text="加密方式更换后继续办理")
        assert [e.action for e in history(now, opened.number)][-1] == "add_note"
    finally:
        now.close()


@pytest.mark.parametrize("verify", ["store", "case", "store, a case opened"])
def test_a_command_committed_while_the_store_is_verified_is_no_break(
    cw: Casework, clock, tmp_path, database_url: str, verify: str
) -> None:
    """Verification reads the events, then the case index's heads: a command another process commits in between
    leaves the index ahead of the events read. That case has moved on (or was opened); it was not cut short or
    altered, and its newer events are checked up to its new head."""
    opened = [file_dispute(cw), file_dispute(cw)]
    other = Casework(make_settings(tmp_path, database_url), clock)
    committed: list[int] = []

    def command() -> None:
        if verify.endswith("opened"):
            committed.append(file_dispute(other).version)
        else:
            committed.append(other.execute(opened[1].case_id, "add_note", MEDIATOR, text="核查期间的回访").version)

    def overtake(conn, cursor, statement: str, *_) -> None:  # type: ignore[no-untyped-def]
        if not committed and "FROM case_index" in statement and "head_hash" in statement:  # the heads, about to be read
            thread = threading.Thread(target=command)
            thread.start()
            thread.join(30)

    event.listen(cw.sql_engine, "before_cursor_execute", overtake)
    try:
        result = verify_case(cw, opened[1].case_id) if verify == "case" else verify_store(cw)
    finally:
        event.remove(cw.sql_engine, "before_cursor_execute", overtake)
        other.close()
    assert committed == [1 if verify.endswith("opened") else 2]
    assert result.ok, result.first_break
    assert (result.cases, result.events) == {"store": (2, 3), "case": (1, 2), "store, a case opened": (3, 3)}[verify]
