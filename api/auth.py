"""Bearer-token authentication, the permission table and org-unit scope for each request; the service and the
scheduler the app was built over."""

from __future__ import annotations

from flask import current_app, g, request

from api.errors import ApiError
from engine.access import may, roles_with
from engine.accounts import User, get_org
from engine.scheduler import Scheduler
from engine.service import Casework
from engine.tokens import token_cache


def casework() -> Casework:
    """The Casework service this app was built over (`create_app`)."""
    return current_app.extensions["casework"]


def scheduler() -> Scheduler:
    """The scheduler this app starts runs with (`create_app`)."""
    return current_app.extensions["casework.scheduler"]


def current_user() -> User:
    """The caller, from `Authorization: Bearer <token>`; 401 without a valid token."""
    user = g.get("user")
    if user is not None:
        return user
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "send 'Authorization: Bearer <token>'; ask an admin for a token")
    cw = casework()
    user = token_cache(cw).authenticate(cw, token.strip())
    if user is None:
        raise ApiError(401, "unauthorized", "the token is unknown, revoked or belongs to a deactivated user")
    g.user = user
    return user


def require(capability: str) -> User:
    """The caller, if their role has `capability`; 403 naming the roles that do."""
    user = current_user()
    if not may(user.role, capability):
        raise ApiError(
            403, "forbidden", f"role '{user.role}' may not {capability.replace('_', ' ')}", roles=roles_with(capability)
        )
    return user


def require_scope(user: User, org_unit: str, *, must_exist: bool = True) -> str:
    """`org_unit` if the caller may act there (their unit or below) and it exists; 403/422 otherwise."""
    if not user.sees(org_unit):
        raise ApiError(403, "forbidden", f"org unit {org_unit!r} is outside your unit {user.org_unit!r}")
    if must_exist and get_org(casework(), org_unit) is None:
        raise ApiError(422, "invalid_request", f"no org unit {org_unit!r}", fields={"org_unit": "no such org unit"})
    return org_unit
