"""Org units and users: who may call the API, from which union, with which role.

Org units are dotted paths from the city federation down (`suzhou.gusu.shuangta`); a user
sees their own unit and every unit below it. Tokens are random, shown once when made and
stored only as a SHA-256 digest, so a copy of the database does not hand out access.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from aggregates.errors import DomainError
from aggregates.stages import ROLES
from engine.database import in_unit
from engine.service import Casework
from engine.tables import org_units, users
from engine.views import aware

ORG_LEVELS = ("city", "district", "street", "enterprise")
"""City federation (市总工会) -> district (区总工会) -> town or street (镇/街道) -> enterprise union (企业工会)."""

_SEGMENT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_USER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,119}$")
TOKEN_PREFIX = "cw_"


class AccountError(DomainError):
    """An org unit or user command with bad data; `fields` names each problem."""

    code = "invalid_account"

    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields
        super().__init__("; ".join(f"{k}: {v}" for k, v in fields.items()))

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "fields": self.fields}


class AccountNotFound(DomainError):
    code = "not_found"


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


def within(org_unit: str, scope: str) -> bool:
    return org_unit == scope or org_unit.startswith(scope + ".")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def _org(row: Row[Any]) -> OrgUnit:
    return OrgUnit(path=row.path, name=row.name, level=row.level, created_at=aware(row.created_at, UTC))


def _user(row: Row[Any]) -> User:
    return User(user_id=row.user_id, name=row.name, role=row.role, org_unit=row.org_unit, active=row.active,
                created_at=aware(row.created_at, UTC), created_by=row.created_by)


def _exists(session: Session, column: Any, value: str) -> bool:
    return session.execute(select(column).where(column == value)).first() is not None


# -- org units ---------------------------------------------------------------------------------


def add_org(cw: Casework, path: str, name: str, level: str | None = None) -> OrgUnit:
    """Add an org unit under its parent (which must exist); the level defaults from the depth."""
    bad: dict[str, str] = {}
    path = (path or "").strip()
    segments = path.split(".")
    if not path or not all(_SEGMENT.match(s) for s in segments):
        bad["path"] = ("must be dot-separated lower-case segments of letters, digits, '-' or '_' "
                       "(e.g. suzhou.gusu.shuangta)")
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
    now = cw.clock.now()
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


def add_user(cw: Casework, user_id: str, name: str, role: str, org_unit: str,
             created_by: str = "admin") -> tuple[User, str]:
    """Create a user and return it with its bearer token; the token is not stored and cannot be shown again."""
    bad: dict[str, str] = {}
    user_id = (user_id or "").strip()
    if not _USER_ID.match(user_id):
        bad["user_id"] = "must be 1-120 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
    name = (name or "").strip()
    if not name or len(name) > 200:
        bad["name"] = "is required, at most 200 characters"
    if role not in ROLES:
        bad["role"] = f"must be one of {', '.join(ROLES)}"
    if bad:
        raise AccountError(bad)
    token = new_token()
    now = cw.clock.now()
    with cw.write_transaction() as session:
        if not _exists(session, org_units.c.path, org_unit):
            raise AccountError({"org_unit": f"no org unit {org_unit!r}; add it first"})
        if _exists(session, users.c.user_id, user_id):
            raise AccountError({"user_id": f"{user_id!r} already exists"})
        session.execute(insert(users).values(
            user_id=user_id, name=name, role=role, org_unit=org_unit, token_hash=hash_token(token), active=True,
            created_at=now, created_by=created_by,
        ))
    return User(user_id, name, role, org_unit, True, now, created_by), token


def list_users(cw: Casework, org_unit: str | None = None) -> list[User]:
    query = select(users).order_by(users.c.org_unit, users.c.user_id)
    if org_unit:
        query = query.where(in_unit(users.c.org_unit, org_unit))
    with cw.read_transaction() as session:
        return [_user(r) for r in session.execute(query)]


def authenticate(cw: Casework, token: str) -> User | None:
    """The active user holding `token`, or None."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with cw.read_transaction() as session:
        row = session.execute(select(users).where(users.c.token_hash == hash_token(token))).one_or_none()
    if row is None or not row.active:
        return None
    return _user(row)


def rotate_token(cw: Casework, user_id: str) -> str:
    """Replace a user's token (the old one stops working at once) and return the new one."""
    token = new_token()
    with cw.write_transaction() as session:
        done = session.execute(update(users).where(users.c.user_id == user_id).values(token_hash=hash_token(token)))
        if done.rowcount == 0:
            raise AccountNotFound(f"no user {user_id!r}")
    return token


def set_active(cw: Casework, user_id: str, active: bool) -> None:
    with cw.write_transaction() as session:
        done = session.execute(update(users).where(users.c.user_id == user_id).values(active=active))
        if done.rowcount == 0:
            raise AccountNotFound(f"no user {user_id!r}")
