"""Who am I, the org tree, and (for admins) users and their tokens."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask.views import MethodView

from api.auth import current_user, engine, require, require_scope
from api.errors import ApiError
from api.parsing import Blueprint
from api.schemas import NewOrgSchema, NewUserSchema, OrgSchema, UserSchema, UserWithTokenSchema
from engine.accounts import OrgUnit, User, add_org, add_user, list_orgs, list_users, rotate_token, set_active

blp = Blueprint("accounts", __name__, description="The caller, org units and users.")


def _org(org: OrgUnit) -> dict[str, Any]:
    return {**asdict(org), "parent": org.parent}


def _user_in(scope: str, user_id: str) -> User:
    """A user of `scope` or a unit below it; 404 for anyone else."""
    found = next((u for u in list_users(engine(), scope) if u.user_id == user_id), None)
    if found is None:
        raise ApiError(404, "not_found", f"no user {user_id!r} in your unit")
    return found


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
        return [_org(o) for o in list_orgs(engine(), user.org_unit)]

    @blp.arguments(NewOrgSchema)
    @blp.response(201, OrgSchema)
    @blp.doc(summary="Add an org unit below an existing one (admin)")
    def post(self, data: dict[str, Any]) -> Any:
        user = require("manage_accounts")
        parent = data["path"].rpartition(".")[0]
        if not parent or not user.sees(parent):
            raise ApiError(403, "forbidden", f"you may add units only below your own unit {user.org_unit!r}")
        return _org(add_org(engine(), data["path"], data["name"], data.get("level")))


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, UserSchema(many=True))
    @blp.doc(summary="Users in your unit and below (admin)")
    def get(self) -> Any:
        user = require("manage_accounts")
        return [asdict(u) for u in list_users(engine(), user.org_unit)]

    @blp.arguments(NewUserSchema)
    @blp.response(201, UserWithTokenSchema)
    @blp.doc(summary="Create a user; the response holds their bearer token, shown only this once (admin)")
    def post(self, data: dict[str, Any]) -> Any:
        admin = require("manage_accounts")
        require_scope(admin, data["org_unit"])
        created, token = add_user(engine(), data["user_id"], data["name"], data["role"], data["org_unit"],
                                  created_by=admin.user_id)
        return {**asdict(created), "token": token}


@blp.route("/users/<string:user_id>/token")
class UserToken(MethodView):
    @blp.response(200, UserWithTokenSchema)
    @blp.doc(summary="Issue a new token for a user; the old one stops working (admin)")
    def post(self, user_id: str) -> Any:
        found = _user_in(require("manage_accounts").org_unit, user_id)
        return {**asdict(found), "token": rotate_token(engine(), user_id)}


@blp.route("/users/<string:user_id>/deactivate")
class UserDeactivate(MethodView):
    @blp.response(200, UserSchema)
    @blp.doc(summary="Deactivate a user: their token stops working at once (admin)")
    def post(self, user_id: str) -> Any:
        admin = require("manage_accounts")
        found = _user_in(admin.org_unit, user_id)
        if user_id == admin.user_id:
            raise ApiError(409, "conflict", "you may not deactivate yourself")
        set_active(engine(), user_id, False)
        return {**asdict(found), "active": False}
