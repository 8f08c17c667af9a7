"""Org units and users: who may call the API, from which union, with which role.

Org units are dotted paths from the city federation down (`suzhou.gusu.shuangta`); a user
sees their own unit and every unit below it. Tokens are random, shown once when made and
stored only as a SHA-256 digest, so a copy of the database does not hand out access.

Every change to a user (created, renamed, role or unit changed, token issued, deactivated,
reactivated) is written to `account_changes` in the same transaction as the change, with who made
it and when: whoever issues a token could act as its holder, so doing so is never unseen.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from aggregates.errors import DomainError
from aggregates.stages import SCHEDULER_ROLE, USER_ROLES
from engine.database import in_unit
from engine.errors import NotFound
from engine.service import Actor, Casework
from engine.tables import account_changes, org_units, users
from engine.views import aware

ORG_LEVELS = ("city", "district", "street", "enterprise")
"""City federation (市总工会) -> district (区总工会) -> town or street (镇/街道) -> enterprise union (企业工会)."""

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$")
TOKEN_PREFIX = "cw_"
CHANGES = (
    "created",
    "name_changed",
    "role_changed",
    "unit_changed",
    "token_issued",
    "password_set",
    "deactivated",
    "reactivated",
)
"""What `account_changes.change` may say."""


class AccountError(DomainError):
    """An org unit or user command with bad data; `fields` names each problem."""

    code = "invalid_account"

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": self.fields}


class AccountNotFound(NotFound):
    """No such user (or org unit) for the caller."""


@dataclass(frozen=True)
class OrgUnit:
    path: str
    name: str
    level: str
    created_at: datetime

    @property
    def parent(self) -> str | None:
        return self.path.rpartition(".")[0] or None


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    role: str
    org_unit: str
    active: bool
    created_at: datetime
    created_by: str

    def sees(self, org_unit: str) -> bool:
        """True for the user's own unit and every unit below it."""
        return within(org_unit, self.org_unit)


@dataclass(frozen=True)
class AccountChange:
    """One entry of the record of account changes; `detail` is {field: {"old", "new"}}, never a token."""

    seq: int
    user_id: str
    change: str
    detail: dict[str, Any]
    actor_id: str
    actor_role: str
    recorded_at: datetime


def within(org_unit: str, scope: str) -> bool:
    return org_unit == scope or org_unit.startswith(scope + ".")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _org(row: Row[Any]) -> OrgUnit:
    return OrgUnit(path=row.path, name=row.name, level=row.level, created_at=aware(row.created_at, UTC))


def _user(row: Row[Any]) -> User:
    return User(
        user_id=row.user_id,
        name=row.name,
        role=row.role,
        org_unit=row.org_unit,
        active=row.active,
        created_at=aware(row.created_at, UTC),
        created_by=row.created_by,
    )


def _change(row: Row[Any], tz: tzinfo) -> AccountChange:
    return AccountChange(
        seq=row.seq,
        user_id=row.user_id,
        change=row.change,
        detail=json.loads(row.detail),
        actor_id=row.actor_id,
        actor_role=row.actor_role,
        recorded_at=aware(row.recorded_at, tz),
    )


def _now(cw: Casework) -> datetime:
    """The time to store, in UTC: SQLite keeps a time without its offset and gives it back as UTC."""
    return cw.clock.now().astimezone(UTC)


def _exists(session: Session, column: Any, value: str) -> bool:
    return session.execute(select(column).where(column == value)).first() is not None


def _record(session: Session, user_id: str, change: str, detail: dict[str, Any], by: Actor, at: datetime) -> None:
    """Append to the record of account changes, inside the transaction that makes the change. Its newest `seq` is
    what cached token look-ups are checked against (engine.tokens), so on PostgreSQL appends are made one at a
    time (the lock is held to the end of the transaction): each takes its number after the one before has
    committed, and the newest committed `seq` grows with every change."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {account_changes.name} IN SHARE ROW EXCLUSIVE MODE"))
    session.execute(
        insert(account_changes).values(
            user_id=user_id,
            change=change,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
            actor_id=by.id,
            actor_role=by.role,
            recorded_at=at,
        )
    )


def _diff(old: Any, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{field: {"old": ..., "new": ...}} for each field of `new` (old is None for a new account)."""
    return {k: {"old": old.get(k), "new": v} for k, v in new.items()}


def _name_problem(name: str) -> str | None:
    return None if name and len(name) <= 200 else "is required, at most 200 characters"


def _role_problem(role: str) -> str | None:
    if role == SCHEDULER_ROLE:
        return (
            f"{SCHEDULER_ROLE!r} is the scheduler's own role and cannot be given to a user; "
            f"choose one of {', '.join(USER_ROLES)}"
        )
    return None if role in USER_ROLES else f"must be one of {', '.join(USER_ROLES)}"


# -- org units ---------------------------------------------------------------------------------


def add_org(cw: Casework, path: str, name: str, level: str | None = None) -> OrgUnit:
    """Add an org unit under its parent (which must exist); the level defaults from the depth."""
    bad: dict[str, str] = {}
    path = (path or "").strip()
    segments = path.split(".")
    if not path or not all(_SEGMENT.match(s) for s in segments):
        bad["path"] = (
            "must be dot-separated lower-case segments of letters, digits, '-' or '_' (e.g. suzhou.gusu.shuangta)"
        )
    elif len(path) > 200:
        bad["path"] = "must be at most 200 characters"
    name = (name or "").strip()
    if not name or len(name) > 200:
        bad["name"] = "is required, at most 200 characters"
    depth_level = ORG_LEVELS[min(len(segments), len(ORG_LEVELS)) - 1]
    level = level or depth_level
    if level not in ORG_LEVELS:
        bad["level"] = f"must be one of {', '.join(ORG_LEVELS)}"
    if bad:
        raise AccountError(bad)
    now = _now(cw)
    with cw.write_transaction() as session:
        parent = path.rpartition(".")[0]
        if parent and not _exists(session, org_units.c.path, parent):
            raise AccountError({"path": f"the parent unit {parent!r} does not exist; add it first"})
        if _exists(session, org_units.c.path, path):
            raise AccountError({"path": f"{path!r} already exists"})
        session.execute(insert(org_units).values(path=path, name=name, level=level, created_at=now))
    return OrgUnit(path=path, name=name, level=level, created_at=now)


def list_orgs(cw: Casework, under: str | None = None) -> list[OrgUnit]:
    query = select(org_units).order_by(org_units.c.path)
    if under:
        query = query.where(in_unit(org_units.c.path, under))
    with cw.read_transaction() as session:
        return [_org(r) for r in session.execute(query)]


def get_org(cw: Casework, path: str) -> OrgUnit | None:
    with cw.read_transaction() as session:
        row = session.execute(select(org_units).where(org_units.c.path == path)).one_or_none()
    return _org(row) if row is not None else None


# -- users -------------------------------------------------------------------------------------


def add_user(cw: Casework, user_id: str, name: str, role: str, org_unit: str, *, by: Actor) -> tuple[User, str]:
    """Create a user and return it with its bearer token; the token is not stored and cannot be shown again."""
    bad: dict[str, str] = {}
    user_id = (user_id or "").strip()
    if not _USER_ID.match(user_id):
        bad["user_id"] = "must be 1-120 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
    name = (name or "").strip()
    if problem := _name_problem(name):
        bad["name"] = problem
    if problem := _role_problem(role):
        bad["role"] = problem
    if bad:
        raise AccountError(bad)
    token = new_token()
    now = _now(cw)
    with cw.write_transaction() as session:
        if not _exists(session, org_units.c.path, org_unit):
            raise AccountError({"org_unit": f"no org unit {org_unit!r}; add it first"})
        if _exists(session, users.c.user_id, user_id):
            raise AccountError({"user_id": f"{user_id!r} already exists"})
        session.execute(
            insert(users).values(
                user_id=user_id,
                name=name,
                role=role,
                org_unit=org_unit,
                token_hash=hash_token(token),
                active=True,
                created_at=now,
                created_by=by.id,
            )
        )
        _record(session, user_id, "created", _diff({}, {"name": name, "role": role, "org_unit": org_unit}), by, now)
    return User(user_id, name, role, org_unit, True, now, by.id), token


def get_user(cw: Casework, user_id: str) -> User | None:
    with cw.read_transaction() as session:
        row = session.execute(select(users).where(users.c.user_id == user_id)).one_or_none()
    return _user(row) if row is not None else None


def _locked_user(session: Session, user_id: str) -> Row[Any]:
    """The user's row, locked until the transaction ends (PostgreSQL), so two changes never interleave."""
    row = session.execute(select(users).where(users.c.user_id == user_id).with_for_update()).one_or_none()
    if row is None:
        raise AccountNotFound(f"no user {user_id!r}")
    return row


def update_user(
    cw: Casework,
    user_id: str,
    *,
    by: Actor,
    name: str | None = None,
    role: str | None = None,
    org_unit: str | None = None,
) -> User:
    """Rename a user, change their role or move them to another unit; each change that differs is recorded."""
    bad: dict[str, str] = {}
    if name is not None:
        name = name.strip()
        if problem := _name_problem(name):
            bad["name"] = problem
    if role is not None and (problem := _role_problem(role)):
        bad["role"] = problem
    if bad:
        raise AccountError(bad)
    now = _now(cw)
    with cw.write_transaction() as session:
        row = _locked_user(session, user_id)
        if org_unit is not None and not _exists(session, org_units.c.path, org_unit):
            raise AccountError({"org_unit": f"no org unit {org_unit!r}; add it first"})
        wanted = {"name": name, "role": role, "org_unit": org_unit}
        changed = {k: v for k, v in wanted.items() if v is not None and v != getattr(row, k)}
        if changed:
            session.execute(update(users).where(users.c.user_id == user_id).values(**changed))
        for column, change in (("name", "name_changed"), ("role", "role_changed"), ("org_unit", "unit_changed")):
            if column in changed:
                _record(session, user_id, change, _diff(row._mapping, {column: changed[column]}), by, now)
        updated = session.execute(select(users).where(users.c.user_id == user_id)).one()
    return _user(updated)


def list_users(cw: Casework, org_unit: str | None = None) -> list[User]:
    query = select(users).order_by(users.c.org_unit, users.c.user_id)
    if org_unit:
        query = query.where(in_unit(users.c.org_unit, org_unit))
    with cw.read_transaction() as session:
        return [_user(r) for r in session.execute(query)]


def well_formed_token(token: str) -> bool:
    """Whether `token` has the shape of one `new_token` makes (anything else is refused unread)."""
    return bool(token) and token.startswith(TOKEN_PREFIX) and len(token) <= 200


def user_for_digest(session: Session, digest: str) -> User | None:
    """The active user whose token has the SHA-256 `digest`, or None."""
    row = session.execute(select(users).where(users.c.token_hash == digest)).one_or_none()
    if row is None or not row.active or row.role == SCHEDULER_ROLE:  # a `system` user from before it was refused
        return None
    return _user(row)


def authenticate(cw: Casework, token: str) -> User | None:
    """The active user holding `token`, or None (read now; the API reads through `engine.tokens`)."""
    if not well_formed_token(token):
        return None
    with cw.read_transaction() as session:
        return user_for_digest(session, hash_token(token))


def rotate_token(cw: Casework, user_id: str, *, by: Actor) -> str:
    """Replace a user's token (the old one stops working at once) and return the new one."""
    token = new_token()
    with cw.write_transaction() as session:
        _locked_user(session, user_id)
        session.execute(update(users).where(users.c.user_id == user_id).values(token_hash=hash_token(token)))
        _record(session, user_id, "token_issued", {}, by, _now(cw))
    return token


def set_active(cw: Casework, user_id: str, active: bool, *, by: Actor) -> bool:
    """Switch a user on or off (a deactivated user's token stops working at once); False if it already was."""
    with cw.write_transaction() as session:
        if _locked_user(session, user_id).active == active:
            return False
        session.execute(update(users).where(users.c.user_id == user_id).values(active=active))
        _record(
            session,
            user_id,
            "reactivated" if active else "deactivated",
            _diff({"active": not active}, {"active": active}),
            by,
            _now(cw),
        )
    return True


def list_account_changes(
    cw: Casework, *, scope: str | None = None, user_id: str | None = None, limit: int = 50, before: int | None = None
) -> list[AccountChange]:
    """The record of account changes, newest first, times in the installation's zone: of users now in `scope`
    and below, of one user, and only entries older than `before` (the `seq` of the last entry of the previous
    page)."""
    query = select(account_changes).order_by(account_changes.c.seq.desc()).limit(limit)
    if scope:
        query = query.join(users, and_(users.c.user_id == account_changes.c.user_id, in_unit(users.c.org_unit, scope)))
    if user_id is not None:
        query = query.where(account_changes.c.user_id == user_id)
    if before is not None:
        query = query.where(account_changes.c.seq < before)
    with cw.read_transaction() as session:
        return [_change(r, cw.settings.tz) for r in session.execute(query)]
