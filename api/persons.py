"""Erasing one person's data over HTTP (PIPL art. 47): a supervisor at the top of the org tree, with a reason."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields, validate

from api.auth import casework, require
from api.cases import command_id
from api.errors import ApiError
from api.parsing import Blueprint
from engine.erasure import erase_person, may_erase

blp = Blueprint(
    "persons",
    __name__,
    description="A person's data, erased on their request once its purpose is fulfilled: their key is destroyed, "
    "every stored event stays as it was, and every chain and checkpoint still verifies.",
)


class ErasureRequestSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    id_number = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "the person's ID number: every case they are in"},
    )
    case = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "for a person recorded without an ID number: the case number (with `person`)"},
    )
    person = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "their place in that case, e.g. `applicants.1` (counted from 0)"},
    )
    reason = fields.String(
        required=True,
        validate=validate.Length(min=1, max=2000),
        metadata={"description": "why: recorded in the history of every case the erasure touches"},
    )

    @ma.validates_schema
    def one_person(self, data: dict[str, Any], **_: Any) -> None:
        if ("id_number" in data) == ("case" in data):
            raise ma.ValidationError("give either id_number, or case and person", "id_number")
        if "case" in data and "person" not in data:
            raise ma.ValidationError("give the person's place in the case", "person")


class ErasureSchema(ma.Schema):
    command_id = fields.String(required=True)
    cases = fields.List(
        fields.String(), required=True, metadata={"description": "the cases whose history now records the erasure"}
    )
    replayed = fields.Boolean(required=True, metadata={"description": "true: the answer to an earlier request"})


@blp.route("/persons/erasures")
class Erasures(MethodView):
    @blp.arguments(ErasureRequestSchema)
    @blp.response(201, ErasureSchema)
    @blp.doc(
        summary="Erase one person's data in every case they are in (a supervisor at the top of the org tree); "
        "refused while a case of theirs is open"
    )
    def post(self, body: dict[str, Any]) -> Any:
        user = require("erase_personal_data")
        if not may_erase(user):
            raise ApiError(403, "forbidden", "only a supervisor at the top of the org tree may erase a person's data")
        done = erase_person(casework(), user, command_id=command_id(user), **body)
        return {"command_id": done.command_id, "cases": done.cases, "replayed": done.replayed}, 201
