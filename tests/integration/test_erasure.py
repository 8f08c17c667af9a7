"""Erasing one person's data: gone from every read, while every chain, checkpoint and statistic holds.

Each test runs on SQLite and PostgreSQL (the `cw` fixture)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text, update

from aggregates.errors import ActionNotAllowed
from engine.accounts import User
from engine.audit import as_of, history, verify_case, verify_store
from engine.checkpoints import make_checkpoint, verify_store_checkpoints
from engine.dossier import dossier_csv
from engine.dossier_pdf import dossier_content
from engine.erasure import NothingToErase, erase_person
from engine.errors import CaseIntegrityError, ErasureRefused
from engine.read_model_check import check_read_models
from engine.rebuild import rebuild
from engine.reports import statistics
from engine.service import Casework
from engine.tables import EVENTS_TABLE, metadata, person_data_keys, person_reservations
from tests.conftest import make_settings
from tests.integration.scenarios import CASEWORKER, MEDIATOR, file_dispute, hardship_application
from tests.integration.tamper import _row_ids, rewrite_event

ID = "320506197502030026"
NAME = "李秀英"
PHONE = "13900000000"
OTHER_APPLICANT = {"name": "赵小红", "phone": "13700000000"}  # recorded without an ID number


def _user(role: str = "supervisor", org_unit: str = "suzhou") -> User:
    return User("sup-top", "总工会审核", role, org_unit, True, datetime(2026, 1, 1, tzinfo=UTC), "admin")


TOP = _user()


def _closed_hardship(cw: Casework, **overrides: Any) -> str:
    opened = cw.open_case("hardship", CASEWORKER, **hardship_application(**overrides))
    cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="申请人撤回")
    return opened.number


def _everything_stored(cw: Casework) -> Iterator[bytes]:
    """Every value of every table the product writes, as bytes: what an insider reading the database finds."""
    names = [EVENTS_TABLE, *metadata.tables]
    with cw.read_transaction() as session:
        for name in names:
            for row in session.execute(text(f'select * from "{name}"')):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        yield bytes(value)
                    elif value is not None:
                        yield str(value).encode("utf-8")


def _first_event(cw: Casework, number: str) -> dict[str, Any]:
    """A case's opening event as stored (unencrypted store)."""
    with cw.read_transaction() as session:
        return json.loads(
            bytes(
                session.execute(
                    text(f"select state from {EVENTS_TABLE} where id = :i"), {"i": _row_ids(cw, cw.resolve(number))[1]}
                ).scalar_one()
            )
        )


def _stored_anywhere(cw: Casework, *secrets: str) -> set[str]:
    wanted = {s: s.encode("utf-8") for s in secrets}
    return {s for value in _everything_stored(cw) for s, raw in wanted.items() if raw in value}


def test_personal_data_is_never_stored_in_clear_and_reads_back_for_those_who_may_see_it(cw: Casework) -> None:
    number = _closed_hardship(cw)
    file_dispute(cw)
    assert _stored_anywhere(cw, NAME, ID, PHONE, "吴中区某街道", "王建国", "32050219800101123X") == set()
    assert _stored_anywhere(cw, "苏州示例精密机械有限公司", "拖欠两个月工资") == {
        "苏州示例精密机械有限公司",
        "拖欠两个月工资",
    }
    worker = cw.get(number).worker  # type: ignore[attr-defined]
    assert worker == {"name": NAME, "id_number": ID, "phone": PHONE, "address": "吴中区某街道"}
    assert history(cw, number)[0].data["worker"]["name"] == NAME


def test_an_erased_person_is_gone_from_every_read_while_chains_checkpoints_and_statistics_hold(cw: Casework) -> None:
    number = _closed_hardship(cw)
    before = make_checkpoint(cw).checkpoint
    report_before = statistics(cw)
    version_before = cw.get(number).version

    done = erase_person(cw, TOP, id_number=ID, reason="目的已实现，本人申请删除 (PIPL art. 47)")

    assert done.cases == [number] and not done.replayed
    case = cw.get(number)
    assert case.worker == {"name": None, "id_number": None, "phone": None, "address": None, "erased": True}  # type: ignore[attr-defined]
    assert case.version == version_before + 1
    events = history(cw, number)
    assert events[0].data["worker"]["erased"] is True and events[0].data["worker"]["name"] is None
    last = events[-1]
    assert (last.action, last.actor_id, last.actor_role) == ("erase_personal_data", "sup-top", "supervisor")
    assert last.reason == "目的已实现，本人申请删除 (PIPL art. 47)" and last.data == {"persons": ["worker"]}
    assert as_of(cw, number, version=1).worker["name"] is None  # type: ignore[attr-defined]
    content = json.dumps(dossier_content(cw, number, role="supervisor"), ensure_ascii=False, default=str)
    csv = dossier_csv(cw, case.id, role="supervisor", actor_id="sup-top", today=date(2026, 12, 1)).content
    for shown in (content, csv.decode("utf-8-sig") if isinstance(csv, bytes) else str(csv)):
        assert NAME not in shown and ID not in shown and PHONE not in shown
    # the proof holds: every chain, the checkpoint made before and one made after
    assert verify_store(cw).ok
    assert verify_store_checkpoints(cw, against=before).ok
    make_checkpoint(cw)
    assert verify_store_checkpoints(cw).ok
    # the statistics never held the person: the erasure changes none of them
    assert statistics(cw).figures == report_before.figures
    # and the one-case-per-person rule no longer knows them: nothing keyed by their number is left
    subject = cw.persons.key_for(ID)
    with cw.read_transaction() as session:
        assert (
            session.execute(select(person_data_keys.c.key_id).where(person_data_keys.c.subject == subject)).all() == []
        )
        assert session.execute(select(person_reservations)).all() == []
    # nor is anything of them in the database
    assert _stored_anywhere(cw, NAME, ID, PHONE) == set()


def test_after_a_rebuild_the_erased_person_still_reads_as_erased_and_the_store_verifies(cw: Casework) -> None:
    number = _closed_hardship(cw)
    erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
    assert check_read_models(cw).ok  # the erasure's rows inline are what a replay gives
    rebuild(cw)
    assert cw.get(number).worker["erased"] is True  # type: ignore[attr-defined]
    assert verify_store(cw).ok
    assert check_read_models(cw).ok


def test_a_person_who_returns_after_an_erasure_gets_a_new_key_and_a_second_erasure_touches_only_the_new_case(
    cw: Casework,
) -> None:
    first = _closed_hardship(cw)
    erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
    again = cw.open_case("hardship", CASEWORKER, **hardship_application())  # the rule finds no open case of theirs
    assert cw.get(again.number).worker["name"] == NAME  # type: ignore[attr-defined]
    cw.execute(again.case_id, "withdraw", CASEWORKER, reason="撤回")
    done = erase_person(cw, TOP, id_number=ID, reason="再次申请删除")
    assert done.cases == [again.number]
    assert [e.action for e in history(cw, first)].count("erase_personal_data") == 1


def test_every_case_of_the_person_is_erased_at_once_and_others_in_them_are_kept(cw: Casework) -> None:
    hardship = _closed_hardship(cw)
    dispute = file_dispute(
        cw,
        applicants=[{"name": NAME, "id_number": ID, "phone": PHONE}, OTHER_APPLICANT],
        workers_involved=12,
    )
    cw.execute(dispute.case_id, "decline", MEDIATOR, reason="不属于受理范围")
    done = erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
    assert sorted(done.cases) == sorted([hardship, dispute.number])
    applicants = cw.get(dispute.number).applicants  # type: ignore[attr-defined]
    assert applicants[0] == {"name": None, "id_number": None, "phone": None, "erased": True}
    assert applicants[1] == OTHER_APPLICANT


def test_a_person_without_an_id_number_is_erased_by_their_place_in_the_case(cw: Casework) -> None:
    dispute = file_dispute(cw, applicants=[{"name": "王建国", "id_number": "32050219800101123X"}, OTHER_APPLICANT])
    cw.execute(dispute.case_id, "decline", MEDIATOR, reason="不属于受理范围")
    with pytest.raises(NothingToErase) as wrong_place:
        erase_person(cw, TOP, case=dispute.number, person="applicants.7", reason="本人申请删除")
    assert "applicants.0, applicants.1" in str(wrong_place.value)
    erase_person(cw, TOP, case=dispute.number, person="applicants.1", reason="本人申请删除")
    applicants = cw.get(dispute.number).applicants  # type: ignore[attr-defined]
    assert applicants[0]["name"] == "王建国" and applicants[1]["erased"] is True
    with pytest.raises(NothingToErase, match="erased before"):
        erase_person(cw, TOP, case=dispute.number, person="applicants.1", reason="again")


@pytest.mark.parametrize(
    "user, why",
    [
        (_user(org_unit="suzhou.gusu"), "top of the org tree"),
        (_user(role="caseworker"), "top of the org tree"),
        (_user(role="admin"), "top of the org tree"),
    ],
)
def test_only_a_supervisor_at_the_top_of_the_tree_may_erase(cw: Casework, user: User, why: str) -> None:
    number = _closed_hardship(cw)
    with pytest.raises(ErasureRefused, match=why):
        erase_person(cw, user, id_number=ID, reason="本人申请删除")
    assert cw.get(number).worker["name"] == NAME  # type: ignore[attr-defined]


def test_an_open_case_keeps_the_data_it_needs_and_nothing_is_half_erased(cw: Casework) -> None:
    closed = _closed_hardship(cw)
    dispute = file_dispute(cw, applicants=[{"name": NAME, "id_number": ID}])  # still open
    with pytest.raises(ErasureRefused, match=dispute.number):
        erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
    assert cw.get(closed).worker["name"] == NAME  # type: ignore[attr-defined]
    assert cw.get(dispute.number).applicants[0]["name"] == NAME  # type: ignore[attr-defined]
    assert [e.action for e in history(cw, closed)][-1] == "withdraw"


def test_an_erasure_needs_a_reason_and_a_person(cw: Casework) -> None:
    _closed_hardship(cw)
    with pytest.raises(ErasureRefused, match="reason"):
        erase_person(cw, TOP, id_number=ID, reason="  ")
    with pytest.raises(ErasureRefused, match="either"):
        erase_person(cw, TOP, reason="本人申请删除")
    with pytest.raises(NothingToErase):
        erase_person(cw, TOP, id_number="110101199003070011", reason="本人申请删除")


def test_a_repeated_erasure_command_returns_the_first_result(cw: Casework) -> None:
    number = _closed_hardship(cw)
    first = erase_person(cw, TOP, id_number=ID, reason="本人申请删除", command_id="erase-1")
    again = erase_person(cw, TOP, id_number=ID, reason="本人申请删除", command_id="erase-1")
    assert again.replayed and again.cases == first.cases == [number]


def test_the_erasure_event_is_not_a_command_anyone_may_send(cw: Casework) -> None:
    number = _closed_hardship(cw)
    with pytest.raises(ActionNotAllowed):
        cw.execute(cw.resolve(number), "erase_personal_data", CASEWORKER, persons=["worker"], reason="x")
    assert cw.get(number).worker["name"] == NAME  # type: ignore[attr-defined]


def test_a_key_removed_outside_an_erasure_is_named_as_tampering(cw: Casework) -> None:
    number = _closed_hardship(cw)
    with cw.write_transaction() as session:
        session.execute(delete(person_data_keys))
    reader = Casework(cw.settings, cw.clock)  # another process: nothing of the case in its memory
    try:
        with pytest.raises(CaseIntegrityError) as broken:
            reader.get(number)
    finally:
        reader.close()
    assert number in str(broken.value) and "no erasure destroyed" in str(broken.value)


def test_with_the_store_cipher_on_an_erasure_reads_the_same(tmp_path: Path, database_url: str, clock: Any) -> None:
    from engine.migrate import upgrade

    cw = Casework(make_settings(tmp_path, database_url, cipher_key="q" * 43 + "="), clock)
    try:
        upgrade(cw.sql_engine)
        number = _closed_hardship(cw)
        erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
        assert cw.get(number).worker["erased"] is True  # type: ignore[attr-defined]
        assert verify_store(cw).ok
    finally:
        cw.close()


def test_after_the_person_key_changes_and_is_rekeyed_the_data_reads_and_the_person_is_still_found(
    cw: Casework, tmp_path: Path, database_url: str, clock: Any
) -> None:
    from engine.persons import rekey

    number = _closed_hardship(cw)
    other = Casework(make_settings(tmp_path, database_url, person_key="k" * 40), clock)
    try:
        assert other.get(number).worker["name"] == NAME  # type: ignore[attr-defined]  # the data key did not change
        report = rekey(other)
        assert report is not None and report.person_keys == 1
        assert erase_person(other, TOP, id_number=ID, reason="本人申请删除").cases == [number]
        assert other.get(number).worker["erased"] is True  # type: ignore[attr-defined]
    finally:
        other.close()


def test_verify_names_a_key_destroyed_or_removed_outside_an_erasure(cw: Casework) -> None:
    number = _closed_hardship(cw)
    other = _closed_hardship(cw, worker={"name": "张伟", "id_number": "110101199003070011"})
    erase_person(cw, TOP, id_number=ID, reason="本人申请删除")
    assert verify_store(cw).ok and verify_case(cw, number).ok
    with cw.write_transaction() as session:  # an insider "erases" a person no supervisor erased
        session.execute(update(person_data_keys).where(person_data_keys.c.erased_at.is_(None)).values(wrapped=None))
    for found in (verify_store(cw).first_break, verify_case(cw, other).first_break):
        assert found is not None and found.number == other and found.version == 1
        assert "no erasure is recorded" in found.problem
    with cw.write_transaction() as session:
        session.execute(delete(person_data_keys))
    found = verify_store(cw).first_break
    assert found is not None and "was removed" in found.problem


def test_a_persons_sealed_data_moved_into_another_case_does_not_open_there(cw: Casework) -> None:
    first = _closed_hardship(cw)
    second = _closed_hardship(cw, worker={"name": "张伟", "id_number": "110101199003070011"})
    states = {number: _first_event(cw, number) for number in (first, second)}
    moved = {**states[second]["data"], "worker": states[first]["data"]["worker"]}
    rewrite_event(cw, cw.resolve(second), 1, data=moved)  # every later hash and the index's head recomputed
    with pytest.raises(CaseIntegrityError) as broken:
        cw.get(second)
    assert second in str(broken.value) and "does not open with its key" in str(broken.value)
    assert cw.get(first).worker["name"] == NAME  # type: ignore[attr-defined]
