"""Passwords for signing in to the web workspace; bearer tokens stay for machines.

A password is kept only as an argon2id hash (memory-hard, so a copy of the database is slow to
attack). After `MAX_FAILURES` wrong passwords in a row the account is locked for `LOCKOUT`, during
which even the right password is refused, so guessing is slow. Every password set or reset is written
to the record of account changes (change `password_set`), with who did it and never the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update

from aggregates.stages import SCHEDULER_ROLE
from engine.accounts import AccountError, User, _locked_user, _now, _record, _user
from engine.database import in_unit
from engine.service import Actor, Casework
from engine.tables import users
from engine.views import aware

MIN_LENGTH = 10
MAX_LENGTH = 200
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the user, or why not (`locked_until` when the account is locked)."""

    user: User | None
    locked_until: datetime | None = None


@cache
def _hasher(memory_kib: int) -> PasswordHasher:
    """argon2id at the library's recommended cost (3 passes, 4 lanes) with the installation's memory cost."""
    return PasswordHasher(memory_cost=memory_kib)


def hasher(cw: Casework) -> PasswordHasher:
    """The installation's password hasher (CASEWORK_PASSWORD_MEMORY_KIB)."""
    return _hasher(cw.settings.password_memory_kib)


@cache
def _decoy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when there is no account, so that an unknown user id takes as long as a known one."""
    return hasher.hash(secrets.token_urlsafe(16))


def password_problem(password: str) -> str | None:
    """Why `password` may not be used, or None."""
    if len(password) < MIN_LENGTH:
        return f"must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"must be at most {MAX_LENGTH} characters"
    if not password.strip():
        return "may not be only spaces"
    return None


def generate_password() -> str:
    """A random password of 16 characters (96 bits), to be shown once."""
    return secrets.token_urlsafe(12)


def set_password(cw: Casework, user_id: str, password: str, *, by: Actor) -> None:
    """Give a user a new password (replacing any old one) and lift a lockout; recorded as `password_set`."""
    if problem := password_problem(password):
        raise AccountError({"password": problem})
    hashed = hasher(cw).hash(password)
    now = _now(cw)
    with cw.write_transaction() as session:
        _locked_user(session, user_id)
        session.execute(
            update(users)
            .where(users.c.user_id == user_id)
            .values(password_hash=hashed, failed_logins=0, locked_until=None)
        )
        _record(session, user_id, "password_set", {}, by, now)


def password_stamp(cw: Casework, user_id: str) -> str | None:
    """A short digest of the user's current password hash (None without a password): a session keeps the stamp it
    was signed in under, so setting a new password ends every session signed in with the old one."""
    with cw.read_transaction() as session:
        hashed = session.execute(select(users.c.password_hash).where(users.c.user_id == user_id)).scalar_one_or_none()
    return None if hashed is None else hashlib.sha256(hashed.encode()).hexdigest()[:16]


def locked_accounts(cw: Casework, scope: str) -> dict[str, datetime]:
    """The users of `scope` and below locked out now by wrong passwords, with the time each lock ends: an admin
    sees who cannot sign in and why (setting a new password lifts the lock)."""
    now = _now(cw)
    with cw.read_transaction() as session:
        rows = session.execute(
            select(users.c.user_id, users.c.locked_until).where(
                in_unit(users.c.org_unit, scope), users.c.locked_until.is_not(None)
            )
        ).all()
    locks = {r.user_id: aware(r.locked_until, UTC) for r in rows}
    return {user_id: until for user_id, until in locks.items() if until > now}


def _matches(hasher: PasswordHasher, hashed: str | None, password: str) -> bool:
    try:
        return hasher.verify(hashed or _decoy_hash(hasher), password) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def sign_in(cw: Casework, user_id: str, password: str) -> SignIn:
    """Check a user id and password. A wrong one counts towards the lockout; a right one resets the count. An
    unknown, deactivated or password-less account is refused like a wrong password (and as slowly)."""
    now = _now(cw)
    passwords = hasher(cw)
    if not user_id or len(user_id) > 120 or len(password) > MAX_LENGTH:
        _matches(passwords, None, password[:MAX_LENGTH])
        return SignIn(None)
    with cw.write_transaction() as session:
        row = session.execute(select(users).where(users.c.user_id == user_id).with_for_update()).one_or_none()
        if row is None or not row.active or row.role == SCHEDULER_ROLE or row.password_hash is None:
            _matches(passwords, None, password)
            return SignIn(None)
        locked_until = aware(row.locked_until, UTC) if row.locked_until is not None else None
        if locked_until is not None and locked_until > now:
            return SignIn(None, locked_until)
        if _matches(passwords, row.password_hash, password):
            values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
            if passwords.check_needs_rehash(row.password_hash):
                values["password_hash"] = passwords.hash(password)
            session.execute(update(users).where(users.c.user_id == user_id).values(**values))
            return SignIn(_user(row))
        failures = row.failed_logins + 1
        if failures >= MAX_FAILURES:
            locked_until = now + LOCKOUT
            session.execute(
                update(users).where(users.c.user_id == user_id).values(failed_logins=0, locked_until=locked_until)
            )
            return SignIn(None, locked_until)
        session.execute(update(users).where(users.c.user_id == user_id).values(failed_logins=failures))
        return SignIn(None)
