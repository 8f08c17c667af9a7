"""Reading a tampered case: every read checks the hash chain, and a broken case is a refusal that names its
number and the version where it breaks — never a traceback, never a silently different case."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from eventsourcing.cipher import AESCipher

from cli import main
from engine.audit import as_of, history, verify_case, verify_store
from engine.errors import CaseIntegrityError
from engine.migrate import upgrade
from engine.service import Casework, CommandResult
from tests.conftest import make_settings
from tests.integration.scenarios import MEDIATOR, count_rows, file_dispute
from tests.integration.tamper import TAMPERINGS, delete_events, flip_byte


def _dispute_of_three_events(cw: Casework, clock) -> CommandResult:
    """Filed, accepted a day later, a note the day after: open, so commands may still run on it."""
    opened = file_dispute(cw)
    clock.advance(days=1)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    clock.advance(days=1)
    cw.execute(opened.case_id, "add_note", MEDIATOR, text="电话回访申请人")
    return opened


def _refused(read, number: str, version: int) -> CaseIntegrityError:
    with pytest.raises(CaseIntegrityError) as caught:
        read()
    error = caught.value
    assert (error.code, error.number, error.version) == ("broken_chain", number, version)
    assert f"case {number} " in str(error) and f"version {version}" in str(error)
    return error


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_every_read_of_a_tampered_case_is_refused_naming_its_number_and_version(
    cw: Casework, clock, tampering: str
) -> None:
    opened = _dispute_of_three_events(cw, clock)
    other = file_dispute(cw)
    TAMPERINGS[tampering](cw, opened.case_id)

    for read in (
        lambda: cw.get(opened.number),
        lambda: cw.get(opened.case_id),
        lambda: cw.get(opened.number, version=3),
        lambda: as_of(cw, opened.number, version=2),
        lambda: as_of(cw, opened.case_id, at=clock.now()),
        lambda: history(cw, opened.number),
    ):
        _refused(read, opened.number, 2)
    # Up to the break the chain holds: the case as it was filed is still provably the case as filed.
    assert cw.get(opened.number, version=1).stage == "filed"

    events = count_rows(cw, "casework_events")
    _refused(lambda: cw.execute(opened.case_id, "add_note", MEDIATOR, text="再次回访"), opened.number, 2)
    assert count_rows(cw, "casework_events") == events  # nothing is built on a history nobody recorded
    assert cw.get(other.number).stage == "filed"  # the other case reads as before
    assert cw.execute(other.case_id, "add_note", MEDIATOR, text="已受理前回访").version == 2


def test_a_removed_last_event_and_a_case_whose_events_were_all_removed_are_broken_not_missing(
    cw: Casework, clock
) -> None:
    shortened = _dispute_of_three_events(cw, clock)
    emptied = _dispute_of_three_events(cw, clock)
    delete_events(cw, shortened.case_id, 3)  # the chain left is intact: only the case index knows it was longer
    delete_events(cw, emptied.case_id)

    error = _refused(lambda: cw.get(shortened.number), shortened.number, 3)
    assert "removed" in error.problem
    _refused(lambda: history(cw, shortened.number), shortened.number, 3)
    assert cw.get(shortened.number, version=2).stage == "accepted"
    for read in (
        lambda: cw.get(emptied.number),
        lambda: cw.get(emptied.case_id),
        lambda: history(cw, emptied.number),
        lambda: cw.execute(emptied.case_id, "add_note", MEDIATOR, text="回访"),
    ):
        error = _refused(read, emptied.number, 1)
        assert "no events" in error.problem

    result = verify_case(cw, emptied.number)
    assert not result.ok and result.events == 0
    broken = result.first_break
    assert broken is not None
    assert (broken.case_id, broken.number, broken.version) == (emptied.case_id, emptied.number, 1)
    assert "no events" in broken.problem and str(broken).startswith(f"case {emptied.number} (id {emptied.case_id})")
    assert not verify_case(cw, emptied.case_id).ok


def test_verification_names_the_broken_case_by_its_number(cw: Casework, clock) -> None:
    opened = _dispute_of_three_events(cw, clock)
    flip_byte(cw, opened.case_id, 2)
    for result in (verify_case(cw, opened.case_id), verify_store(cw)):
        assert result.first_break is not None
        assert (result.first_break.number, result.first_break.version) == (opened.number, 2)
        assert str(result.first_break).startswith(f"case {opened.number} (id {opened.case_id}) event v2")


def test_with_a_cipher_a_changed_byte_is_a_refusal_not_a_decryption_traceback(
    tmp_path, database_url: str, clock
) -> None:
    cw = Casework(make_settings(tmp_path, database_url, cipher_key=AESCipher.create_key(num_bytes=32)), clock)
    upgrade(cw.sql_engine)
    try:
        opened = _dispute_of_three_events(cw, clock)
        flip_byte(cw, opened.case_id, 2, field=b"")  # the first byte of the ciphertext
        error = _refused(lambda: cw.get(opened.number), opened.number, 2)
        assert "cannot be read" in error.problem
    finally:
        cw.close()


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_casework_show_and_history_print_one_line_and_exit_non_zero(
    cw: Casework, clock, tmp_path, database_url: str, monkeypatch, tampering: str
) -> None:
    opened = _dispute_of_three_events(cw, clock)
    TAMPERINGS[tampering](cw, opened.case_id)
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CASEWORK_DATABASE_URL", database_url)
    monkeypatch.delenv("CASEWORK_CIPHER_KEY", raising=False)
    runner = CliRunner()
    for args in (["show", opened.number], ["show", opened.number, "--version", "3"], ["history", opened.number]):
        result = runner.invoke(main, args, catch_exceptions=False)  # an unexpected exception would propagate here
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in result.output, result.output
        assert opened.number in lines[0] and "version 2" in lines[0] and "broken" in lines[0]
    verified = runner.invoke(main, ["verify", opened.number], catch_exceptions=False)
    assert verified.exit_code == 1
    assert f"case {opened.number} (id {opened.case_id}) event v2" in " ".join(verified.output.split())
