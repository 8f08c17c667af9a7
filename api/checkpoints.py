"""Signed checkpoints of the whole event store over HTTP: the list, an export to keep outside the database, a new
checkpoint, and the verification of every checkpoint against the stored events."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask.views import MethodView
from marshmallow import fields

from api.auth import casework, require
from api.errors import ApiError
from api.parsing import Blueprint
from engine.checkpoints import (
    Checkpoint,
    CheckpointError,
    EventRef,
    checkpoint_export,
    checkpoints_of,
    make_checkpoint,
    verify_store_checkpoints,
)

blp = Blueprint(
    "checkpoints",
    __name__,
    description="Signed checkpoints of the whole event store: what an insider with database access cannot rewrite "
    "or cut short unnoticed.",
)


class CheckpointSchema(ma.Schema):
    id = fields.Integer(required=True)
    tree_size = fields.Integer(required=True, metadata={"description": "events covered, in recording order"})
    root_hash = fields.String(required=True, metadata={"description": "the Merkle tree's root (RFC 9162), hex"})
    created_at = fields.String(required=True, metadata={"example": "2026-12-01T02:30:00Z"})
    key_id = fields.String(required=True)
    public_key = fields.String(required=True, metadata={"description": "base64 of the raw Ed25519 public key"})
    signature = fields.String(required=True, metadata={"description": "base64 Ed25519 signature"})


class CheckpointListSchema(ma.Schema):
    items = fields.List(fields.Nested(CheckpointSchema), required=True)


class ExportSchema(CheckpointSchema):
    format = fields.String(required=True, metadata={"example": "casework-checkpoint/1"})


class CreatedSchema(ma.Schema):
    checkpoint = fields.Nested(CheckpointSchema, required=True)
    added = fields.Integer(required=True, metadata={"description": "events read since the previous checkpoint"})
    webhook_sent = fields.Boolean(
        allow_none=True, required=True, metadata={"description": "whether the webhook took it; null: none is set"}
    )


class EventRefSchema(ma.Schema):
    position = fields.Integer(required=True, metadata={"description": "its leaf in the tree, from 0"})
    notification_id = fields.Integer(required=True)
    case_id = fields.String(required=True)
    number = fields.String(allow_none=True)
    version = fields.Integer(required=True)


class CheckpointVerificationSchema(ma.Schema):
    ok = fields.Boolean(required=True)
    checkpoints = fields.Integer(required=True)
    events = fields.Integer(required=True)
    first_bad_checkpoint = fields.Integer(allow_none=True, required=True)
    first_changed = fields.Nested(
        EventRefSchema,
        allow_none=True,
        required=True,
        metadata={"description": "the first event that no longer matches, as the checkpoints recorded it"},
    )
    found_instead = fields.Nested(EventRefSchema, allow_none=True, required=True)
    problems = fields.List(fields.String(), required=True)


def _item(checkpoint: Checkpoint) -> dict[str, Any]:
    data = checkpoint.export()
    del data["format"]
    return data


def _ref(ref: EventRef | None) -> dict[str, Any] | None:
    if ref is None:
        return None
    return {
        "position": ref.position,
        "notification_id": ref.notification_id,
        "case_id": str(ref.case_id),
        "number": ref.number,
        "version": ref.version,
    }


@blp.route("/checkpoints")
class Checkpoints(MethodView):
    @blp.response(200, CheckpointListSchema)
    @blp.doc(summary="Every signed checkpoint of the event store, oldest first (supervisor, auditor)")
    def get(self) -> Any:
        require("read_checkpoints")
        return {"items": [_item(c) for c in checkpoints_of(casework())]}

    @blp.response(201, CreatedSchema)
    @blp.doc(
        summary="Sign the event store as it now is (a supervisor at the top of the org tree, or an admin); only the "
        "events since the last checkpoint are read"
    )
    def post(self) -> Any:
        user = require("make_checkpoints")
        if user.role == "supervisor" and "." in user.org_unit:
            raise ApiError(403, "forbidden", "only a supervisor at the top of the org tree may make a checkpoint")
        made = make_checkpoint(casework())
        return {"checkpoint": _item(made.checkpoint), "added": made.added, "webhook_sent": made.sent}, 201


@blp.route("/checkpoints/<int:checkpoint_id>/export")
class CheckpointExport(MethodView):
    @blp.response(200, ExportSchema)
    @blp.doc(
        summary="A checkpoint as the JSON file to keep outside the database; `casework checkpoint verify --against` "
        "and `check-proof --checkpoint` take it (supervisor, auditor)"
    )
    def get(self, checkpoint_id: int) -> Any:
        require("read_checkpoints")
        try:
            return checkpoint_export(casework(), checkpoint_id)
        except CheckpointError as e:
            raise ApiError(404, "not_found", str(e)) from e


@blp.route("/checkpoints/verification")
class CheckpointVerification(MethodView):
    @blp.response(200, CheckpointVerificationSchema)
    @blp.doc(
        summary="Recompute the tree from every stored event and check each checkpoint's signature (by this "
        "installation's key), root and consistency with the next; names the first event that no longer matches "
        "and the first bad checkpoint (supervisor, auditor)"
    )
    def get(self) -> Any:
        require("read_checkpoints")
        result = verify_store_checkpoints(casework())
        return {
            "ok": result.ok,
            "checkpoints": result.checkpoints,
            "events": result.events,
            "first_bad_checkpoint": result.first_bad_checkpoint,
            "first_changed": _ref(result.first_changed),
            "found_instead": _ref(result.found_instead),
            "problems": result.problems,
        }
