"""Who am I, the org tree, (for admins) users and their tokens, and (for admins and auditors) the record of
every change to an account."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from api.auth import casework, current_user, require, require_scope
from api.errors import ApiError
from api.parsing import Blueprint
from api.schemas import (
    AccountChangeListQuerySchema,
    AccountChangePageSchema,
    AccountChangeQuerySchema,
    NewOrgSchema,
    NewUserSchema,
    OrgSchema,
    UserSchema,
    UserUpdateSchema,
    UserWithTokenSchema,
)
from engine.accounts import (
    OrgUnit,
    User,
    add_org,
    add_user,
    get_user,
    list_account_changes,
    list_orgs,
    list_users,
    rotate_token,
    set_active,
    update_user,
)
from engine.service import Actor

blp = Blueprint("accounts", __name__, description="The caller, org units and users.")


def _org(org: OrgUnit) -> dict[str, Any]:
    return {**asdict(org), "parent": org.parent}


def _user_in(caller: User, user_id: str) -> User:
    """A user of the caller's unit or a unit below it; 404 for anyone else."""
    found = get_user(casework(), user_id)
    if found is None or not caller.sees(found.org_unit):
        raise ApiError(404, "not_found", f"no user {user_id!r} in your unit")
    return found


def _actor(user: User) -> Actor:
    return Actor(user.user_id, user.role)


def _not_yourself(admin: User, user_id: str, what: str) -> None:
    if user_id == admin.user_id:
        raise ApiError(409, "conflict", f"you may not {what} yourself; ask another admin")


def _changes_page(caller: User, args: dict[str, Any], user_id: str | None) -> dict[str, Any]:
    """One page of the record, newest first, of accounts now in the caller's unit and below."""
    limit = args["limit"]
    found = list_account_changes(
        casework(), scope=caller.org_unit, user_id=user_id, limit=limit + 1, before=args.get("cursor")
    )
    page = found[:limit]
    return {"items": [asdict(c) for c in page], "next_cursor": page[-1].seq if len(found) > limit else None}


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, UserSchema)
    @blp.doc(summary="The caller: user id, role and org unit")
    def get(self) -> Any:
        return asdict(current_user())


@blp.route("/orgs")
class Orgs(MethodView):
    @blp.response(200, OrgSchema(many=True))
    @blp.doc(summary="Your org unit and every unit below it")
    def get(self) -> Any:
        user = current_user()
        return [_org(o) for o in list_orgs(casework(), user.org_unit)]

    @blp.arguments(NewOrgSchema)
    @blp.response(201, OrgSchema)
    @blp.doc(summary="Add an org unit below an existing one (admin)")
    def post(self, data: dict[str, Any]) -> Any:
        user = require("manage_accounts")
        parent = data["path"].rpartition(".")[0]
        if not parent or not user.sees(parent):
            raise ApiError(403, "forbidden", f"you may add units only below your own unit {user.org_unit!r}")
        return _org(add_org(casework(), data["path"], data["name"], data.get("level")))


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    @blp.doc(summary="Users in your unit and below (admin)")
    def get(self) -> Any:
        user = require("manage_accounts")
        return [asdict(u) for u in list_users(casework(), user.org_unit)]

    @blp.arguments(NewUserSchema)
    @blp.response(201, UserWithTokenSchema)
    @blp.doc(summary="Create a user; the response holds their bearer token, shown only this once (admin)")
    def post(self, data: dict[str, Any]) -> Any:
        admin = require("manage_accounts")
        require_scope(admin, data["org_unit"])
        created, token = add_user(
            casework(), data["user_id"], data["name"], data["role"], data["org_unit"], by=_actor(admin)
        )
        return {**asdict(created), "token": token}


@blp.route("/users/<string:user_id>")
class UserUpdate(MethodView):
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.doc(summary="Change a user's name, role or org unit (admin); 'system' is the scheduler's role, not a user's")
    def patch(self, data: dict[str, Any], user_id: str) -> Any:
        admin = require("manage_accounts")
        _user_in(admin, user_id)
        if "role" in data or "org_unit" in data:
            _not_yourself(admin, user_id, "change the role or unit of")
        if "org_unit" in data:
            require_scope(admin, data["org_unit"])
        return asdict(update_user(casework(), user_id, by=_actor(admin), **data))


@blp.route("/users/<string:user_id>/token")
class UserToken(MethodView):
    @blp.response(200, UserWithTokenSchema)
    @blp.doc(summary="Issue a new token for a user; the old one stops working (admin; recorded with your id)")
    def post(self, user_id: str) -> Any:
        admin = require("manage_accounts")
        found = _user_in(admin, user_id)
        return {**asdict(found), "token": rotate_token(casework(), user_id, by=_actor(admin))}


@blp.route("/users/<string:user_id>/deactivate")
class UserDeactivate(MethodView):
    @blp.response(200, UserSchema)
    @blp.doc(summary="Deactivate a user: their token stops working at once (admin)")
    def post(self, user_id: str) -> Any:
        admin = require("manage_accounts")
        found = _user_in(admin, user_id)
        _not_yourself(admin, user_id, "deactivate")
        set_active(casework(), user_id, False, by=_actor(admin))
        return {**asdict(found), "active": False}


@blp.route("/users/<string:user_id>/reactivate")
class UserReactivate(MethodView):
    @blp.response(200, UserSchema)
    @blp.doc(summary="Reactivate a user: their current token works again (admin)")
    def post(self, user_id: str) -> Any:
        admin = require("manage_accounts")
        found = _user_in(admin, user_id)
        set_active(casework(), user_id, True, by=_actor(admin))
        return {**asdict(found), "active": True}


@blp.route("/users/<string:user_id>/changes")
class UserChanges(MethodView):
    @blp.arguments(AccountChangeQuerySchema, location="query")
    @blp.response(200, AccountChangePageSchema)
    @blp.doc(summary="The record of changes to one user's account, newest first (admin, auditor)")
    def get(self, args: dict[str, Any], user_id: str) -> Any:
        caller = require("read_account_changes")
        _user_in(caller, user_id)
        return _changes_page(caller, args, user_id)


@blp.route("/account-changes")
class AccountChanges(MethodView):
    @blp.arguments(AccountChangeListQuerySchema, location="query")
    @blp.response(200, AccountChangePageSchema)
    @blp.doc(
        summary="The record of changes to the accounts of your unit and below, newest first (admin, auditor): "
        "who created, changed, issued a token for, deactivated or reactivated each user, and when"
    )
    def get(self, args: dict[str, Any]) -> Any:
        caller = require("read_account_changes")
        return _changes_page(caller, args, args.get("user_id"))
