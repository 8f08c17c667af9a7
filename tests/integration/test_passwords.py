"""Passwords for the web workspace: the policy, an argon2id hash and nothing else stored, the lockout after five
wrong passwords in a row, and every set or reset recorded without the secret."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from engine.accounts import AccountError, add_org, add_user, list_account_changes, set_active
from engine.clock import FixedClock
from engine.config import ConfigurationError, Settings
from engine.passwords import LOCKOUT, MAX_FAILURES, generate_password, set_password, sign_in
from engine.service import Actor, Casework
from engine.tables import users

ADMIN = Actor("city-admin", "admin")
PASSWORD = "correct horse battery"


@pytest.fixture
def member(cw: Casework) -> Casework:
    add_org(cw, "suzhou", "苏州市总工会")
    add_user(cw, "zhang.min", "张敏", "mediator", "suzhou", by=ADMIN)
    set_password(cw, "zhang.min", PASSWORD, by=ADMIN)
    return cw


def _stored_hash(cw: Casework) -> str:
    with cw.read_transaction() as session:
        return session.execute(select(users.c.password_hash).where(users.c.user_id == "zhang.min")).scalar_one()


def test_the_right_password_signs_in_and_only_an_argon2id_hash_is_stored(member: Casework) -> None:
    result = sign_in(member, "zhang.min", PASSWORD)
    assert result.user is not None and result.user.user_id == "zhang.min" and result.user.role == "mediator"
    stored = _stored_hash(member)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert sign_in(member, "zhang.min", PASSWORD + "x").user is None
    assert sign_in(member, "nobody", PASSWORD).user is None


def test_a_password_shorter_than_ten_characters_is_refused_naming_the_field(member: Casework) -> None:
    with pytest.raises(AccountError) as refused:
        set_password(member, "zhang.min", "short", by=ADMIN)
    assert "at least 10 characters" in refused.value.fields["password"]
    assert sign_in(member, "zhang.min", PASSWORD).user is not None  # the old one still works


def test_a_user_without_a_password_or_deactivated_cannot_sign_in(member: Casework) -> None:
    add_user(member, "li.qiang", "李强", "negotiator", "suzhou", by=ADMIN)
    assert sign_in(member, "li.qiang", "").user is None
    set_active(member, "zhang.min", False, by=ADMIN)
    assert sign_in(member, "zhang.min", PASSWORD).user is None


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes_even_against_the_right_one(
    member: Casework, clock: FixedClock
) -> None:
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(member, "zhang.min", "wrong password").locked_until is None
    assert LOCKOUT == timedelta(minutes=15)
    locked = sign_in(member, "zhang.min", "wrong password")
    assert locked.user is None and locked.locked_until == clock.now() + LOCKOUT
    assert sign_in(member, "zhang.min", PASSWORD).locked_until is not None
    clock.advance(seconds=LOCKOUT.total_seconds() - 1)
    assert sign_in(member, "zhang.min", PASSWORD).user is None
    clock.advance(seconds=1)
    assert sign_in(member, "zhang.min", PASSWORD).user is not None


def test_a_right_password_resets_the_count_of_failures(member: Casework) -> None:
    for _ in range(MAX_FAILURES - 1):
        sign_in(member, "zhang.min", "wrong password")
    assert sign_in(member, "zhang.min", PASSWORD).user is not None
    for _ in range(MAX_FAILURES - 1):
        assert sign_in(member, "zhang.min", "wrong password").locked_until is None


def test_a_reset_lifts_the_lockout_and_every_set_is_recorded_without_the_secret(
    member: Casework, clock: FixedClock
) -> None:
    for _ in range(MAX_FAILURES):
        sign_in(member, "zhang.min", "wrong password")
    clock.advance(seconds=60)
    new = generate_password()
    assert len(new) >= 10
    set_password(member, "zhang.min", new, by=Actor("gusu-admin", "admin"))
    assert sign_in(member, "zhang.min", new).user is not None
    record = [c for c in list_account_changes(member, user_id="zhang.min") if c.change == "password_set"]
    assert [(c.actor_id, c.detail) for c in record] == [("gusu-admin", {}), ("city-admin", {})]
    assert record[0].recorded_at == clock.now().astimezone(member.settings.tz)


def test_cli_sets_a_password_asked_twice_or_generates_one(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CASEWORK_DATABASE_URL", raising=False)
    monkeypatch.delenv("CASEWORK_CIPHER_KEY", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> str:
        result = runner.invoke(main, list(args), input=input, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    run("db", "upgrade")
    run("orgs", "add", "suzhou", "苏州市总工会")
    run("users", "add", "zhang.min", "--name", "张敏", "--role", "mediator", "--org", "suzhou")
    refused = runner.invoke(main, ["users", "password", "zhang.min"], input="too short\ntoo short\n")
    assert refused.exit_code != 0 and "at least 10 characters" in refused.output
    run("users", "password", "zhang.min", input=f"{PASSWORD}\n{PASSWORD}\n")
    generated = run("users", "password", "zhang.min", "--generate").strip().splitlines()[-1]
    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}))
    try:
        assert sign_in(cw, "zhang.min", generated).user is not None
        assert sign_in(cw, "zhang.min", PASSWORD).user is None
        assert "password_set" in run("users", "changes", "zhang.min")
    finally:
        cw.close()


def test_a_hash_made_at_another_memory_cost_is_remade_at_the_next_sign_in(member: Casework) -> None:
    made_cheaply = _stored_hash(member)
    assert f"m={member.settings.password_memory_kib}," in made_cheaply
    costlier = Casework(replace(member.settings, password_memory_kib=1024), member.clock)
    try:
        assert sign_in(costlier, "zhang.min", PASSWORD + "x").user is None
        assert _stored_hash(costlier) == made_cheaply  # a wrong password changes nothing
        assert sign_in(costlier, "zhang.min", PASSWORD).user is not None
        remade = _stored_hash(costlier)
        assert "m=1024," in remade and remade != made_cheaply
        assert sign_in(costlier, "zhang.min", PASSWORD).user is not None
    finally:
        costlier.close()


def test_a_memory_cost_below_argon2ids_floor_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CASEWORK_PASSWORD_MEMORY_KIB: must be at least 32, got 16"):
        Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_PASSWORD_MEMORY_KIB": "16"})
    assert Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}).password_memory_kib == 65536
