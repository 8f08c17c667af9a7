"""The person key: a secret of the installation, kept outside the database, and re-keying a store whose
reservations were made under another key (the constant of earlier releases, or a key changed by the operator)."""

from __future__ import annotations

import hashlib
import hmac
import stat
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import delete, select, update

from aggregates.hardship import HardshipCase
from engine.clock import FixedClock
from engine.config import ConfigurationError
from engine.errors import DuplicatePerson
from engine.migrate import upgrade, upgrade_store
from engine.persons import PersonKeyMismatch, rekey
from engine.rebuild import rebuild
from engine.service import Casework
from engine.tables import installation_keys, person_reservations
from tests.conftest import make_settings
from tests.integration.scenarios import CASEWORKER, get_as, hardship_application

ID = "320506197502030026"
OTHER = "320501199001011238"


def _as_an_earlier_release_left_it(cw: Casework) -> None:
    """Reservations keyed with the constant earlier releases used, and no fingerprint of any key."""
    with cw.write_transaction() as session:
        rows = session.execute(select(person_reservations.c.case_id, person_reservations.c.number)).all()
        session.execute(delete(person_reservations))
        for case_id, number in rows:
            identity = get_as(cw, case_id, HardshipCase).person_identity
            old = hmac.new(b"casework-person-key", identity.encode(), hashlib.sha256).hexdigest()
            session.execute(person_reservations.insert().values(person_key=old, case_id=case_id, number=number))
        session.execute(delete(installation_keys))
    cw.persons._checked = False


def _keys(cw: Casework) -> list[str]:
    with cw.read_transaction() as session:
        return list(session.execute(select(person_reservations.c.person_key)).scalars())


@pytest.fixture
def fresh(tmp_path, database_url: str, clock: FixedClock) -> Iterator[Callable[..., Casework]]:
    """A new engine (a new process, as it were) over the same database, with settings overridden."""
    made: list[Casework] = []

    def make(**overrides: object) -> Casework:
        cw = Casework(make_settings(tmp_path, database_url, **overrides), clock)
        made.append(cw)
        return cw

    yield make
    for cw in made:
        cw.close()


def test_a_store_keyed_by_an_earlier_release_is_refused_until_upgraded_and_then_rekeyed(cw: Casework, fresh) -> None:
    first = cw.open_case("hardship", CASEWORKER, **hardship_application())
    _as_an_earlier_release_left_it(cw)
    restarted = fresh()
    with pytest.raises(PersonKeyMismatch) as refused:
        restarted.open_case("hardship", CASEWORKER, **hardship_application(worker={"name": "张伟", "id_number": OTHER}))
    assert "casework db upgrade" in str(refused.value) and "CASEWORK_PERSON_KEY" in str(refused.value)
    report = upgrade_store(restarted)
    assert report is not None and report.reservations == 1 and report.problems == []
    assert _keys(restarted) == [restarted.persons.key_for(ID)]
    with pytest.raises(DuplicatePerson) as duplicate:
        restarted.open_case("hardship", CASEWORKER, **hardship_application(org_unit="suzhou.gusu"))
    assert duplicate.value.existing_number == first.number
    assert upgrade_store(restarted) is None  # already keyed: nothing to do


def test_a_changed_person_key_is_refused_until_rekeyed(cw: Casework, fresh) -> None:
    cw.open_case("hardship", CASEWORKER, **hardship_application())
    other_key = fresh(person_key="k" * 40)
    with pytest.raises(PersonKeyMismatch):
        other_key.open_case("hardship", CASEWORKER, **hardship_application())
    rekeyed = rekey(other_key)
    assert rekeyed is not None and rekeyed.reservations == 1
    with pytest.raises(DuplicatePerson):
        other_key.open_case("hardship", CASEWORKER, **hardship_application())
    assert _keys(other_key) == [hmac.new(b"k" * 40, ID.encode(), hashlib.sha256).hexdigest()]


def test_rekeying_names_a_second_open_case_of_one_person_and_keeps_one_reservation(cw: Casework) -> None:
    first = cw.open_case("hardship", CASEWORKER, **hardship_application())
    with cw.write_transaction() as session:  # what the missing normalisation let through before
        session.execute(delete(person_reservations))
    second = cw.open_case("hardship", CASEWORKER, **hardship_application(org_unit="suzhou.gusu"))
    full_width = ID.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    with cw.write_transaction() as session:  # as an earlier release keyed them: the raw digits, a constant key
        session.execute(delete(person_reservations))
        session.execute(delete(installation_keys))
        for case, typed in ((first, ID), (second, full_width)):
            old = hmac.new(b"casework-person-key", typed.encode(), hashlib.sha256).hexdigest()
            session.execute(
                person_reservations.insert().values(person_key=old, case_id=case.case_id, number=case.number)
            )
    cw.persons._checked = False
    report = rekey(cw)
    assert report is not None and report.reservations == 1
    assert report.problems == [
        f"{second.number}: a second open case for the person of {first.number}; close one of them"
    ]


def test_rebuild_keys_every_reservation_with_the_installation_key(cw: Casework) -> None:
    cw.open_case("hardship", CASEWORKER, **hardship_application())
    _as_an_earlier_release_left_it(cw)
    rebuild(cw)
    assert _keys(cw) == [cw.persons.key_for(ID)]
    with cw.read_transaction() as session:
        assert session.execute(select(installation_keys.c.fingerprint)).scalar_one() == cw.persons.fingerprint
    with pytest.raises(DuplicatePerson):
        cw.open_case("hardship", CASEWORKER, **hardship_application())


def test_the_key_file_is_made_once_private_and_refused_when_others_may_read_it(tmp_path, sqlite_url: str) -> None:
    cw = Casework(make_settings(tmp_path, sqlite_url))
    upgrade(cw.sql_engine)
    try:
        cw.open_case("hardship", CASEWORKER, **hardship_application())
        path = tmp_path / "person.key"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        secret = cw.persons.secret
    finally:
        cw.close()
    again = Casework(make_settings(tmp_path, sqlite_url))
    assert again.persons.secret == secret  # read back, not made anew
    again.close()
    path.chmod(0o644)
    loose = Casework(make_settings(tmp_path, sqlite_url))
    with pytest.raises(ConfigurationError, match="chmod 600"):
        loose.persons.secret  # noqa: B018
    loose.close()


def test_a_configured_key_is_used_as_given_and_no_file_is_made(tmp_path, sqlite_url: str) -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        Casework(make_settings(tmp_path, sqlite_url, person_key="short")).persons.secret  # noqa: B018
    cw = Casework(make_settings(tmp_path, sqlite_url, person_key="s" * 32))
    try:
        assert cw.persons.key_for(ID) == hmac.new(b"s" * 32, ID.encode(), hashlib.sha256).hexdigest()
        assert not (tmp_path / "person.key").exists()
    finally:
        cw.close()


def test_two_installations_key_the_same_number_differently(tmp_path, sqlite_url: str) -> None:
    a = Casework(make_settings(tmp_path / "a", sqlite_url))
    b = Casework(make_settings(tmp_path / "b", sqlite_url))
    try:
        assert a.persons.key_for(ID) != b.persons.key_for(ID)
    finally:
        a.close()
        b.close()


def test_an_unwritable_data_directory_is_named(tmp_path, sqlite_url: str) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    cw = Casework(make_settings(tmp_path, sqlite_url, data_dir=blocker))
    try:
        with pytest.raises(ConfigurationError, match=r"person\.key \(Not a directory\)"):
            cw.persons.secret  # noqa: B018
    finally:
        cw.close()


def test_the_fingerprint_does_not_reveal_the_key(cw: Casework) -> None:
    cw.open_case("hardship", CASEWORKER, **hardship_application())
    with cw.read_transaction() as session:
        stored = session.execute(select(installation_keys.c.fingerprint)).scalar_one()
        session.execute(update(installation_keys).values(fingerprint=stored))  # readable, comparable
    assert stored == cw.persons.fingerprint
    assert cw.persons.secret.decode() not in stored and stored != cw.persons.key_for(ID)
