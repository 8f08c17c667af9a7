"""Audit: a case's full history, its state as of a version or a moment, chain verification, dossier."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from api import reads
from api.auth import casework, require
from api.case_views import AnyCaseSchema
from api.cases import case_view_for, etag, today, visible_case
from api.errors import ApiError
from api.fields import Strict
from api.parsing import Blueprint
from engine.accounts import User
from engine.audit import HistoryEntry, Verification, as_of, history, verify_case, verify_unit
from engine.dossier import dossier_csv
from engine.dossier_pdf import dossier_pdf
from engine.read_model_check import SHOWN, check_read_models
from engine.registry import case_type
from engine.views import event_data_for, jsonable

blp = Blueprint("audit", __name__, description="History, past states, tamper evidence and dossier export.")


class HistoryEntrySchema(ma.Schema):
    version = fields.Integer(required=True)
    event = fields.String(required=True, metadata={"example": "DisputeAccepted"})
    action = fields.String(required=True)
    occurred_at = fields.String(required=True, metadata={"format": "date-time", "description": "business time"})
    recorded_at = fields.String(required=True, metadata={"format": "date-time", "description": "when it was stored"})
    actor_id = fields.String(required=True)
    actor_role = fields.String(required=True)
    reason = fields.String(allow_none=True)
    command_id = fields.String(required=True)
    flow_run_id = fields.String(allow_none=True)
    stage = fields.String(required=True, metadata={"description": "the stage after the event"})
    data = fields.Dict(required=True)
    clocks_opened = fields.Dict(required=True)
    clocks_closed = fields.List(fields.String(), required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class HistorySchema(ma.Schema):
    case_id = fields.String(required=True)
    number = fields.String(required=True)
    events = fields.List(fields.Nested(HistoryEntrySchema), required=True)


class AsOfQuerySchema(Strict):
    version = fields.Integer(validate=validate.Range(min=1, max=10**9))
    at = fields.AwareDateTime(metadata={"description": "a recorded time, ISO-8601 with offset"})


class BreakSchema(ma.Schema):
    case_id = fields.String(required=True)
    number = fields.String(allow_none=True, metadata={"description": "its number, where the case index knows it"})
    version = fields.Integer(required=True)
    notification_id = fields.Integer(allow_none=True)
    problem = fields.String(required=True)


class VerificationSchema(ma.Schema):
    ok = fields.Boolean(required=True)
    cases = fields.Integer(required=True)
    events = fields.Integer(required=True)
    first_break = fields.Nested(BreakSchema, allow_none=True, required=True)


class DifferenceSchema(ma.Schema):
    table = fields.String(required=True, metadata={"example": "case_index"})
    row = fields.String(
        required=True, metadata={"description": "the case's number (and clock), or the statistic's unit, day, metric"}
    )
    problem = fields.String(required=True, metadata={"example": "stage is closed, the events give mediating"})


class ReadModelVerificationSchema(ma.Schema):
    ok = fields.Boolean(required=True)
    events = fields.Integer(required=True)
    cases = fields.Integer(required=True)
    rows = fields.Integer(required=True, metadata={"description": "read-model rows compared, stored or derived"})
    count = fields.Integer(required=True, metadata={"description": "rows that differ from what the events give"})
    differences = fields.List(
        fields.Nested(DifferenceSchema),
        required=True,
        metadata={"description": f"the first {SHOWN} of them"},
    )


def _audited(ref: str, capability: str) -> tuple[User, UUID, str]:
    """(caller, case id, kind) for a case the caller may see, if their role has `capability`."""
    user = require(capability)
    found = visible_case(user, ref)
    return user, found.case_id, found.kind


def _entries(kind: str, entries: list[HistoryEntry], role: str) -> list[dict[str, Any]]:
    cls = case_type(kind)
    tz = casework().settings.tz
    return [{**jsonable(vars(e), tz), "data": event_data_for(role, cls, e.data, tz)} for e in entries]


def _verification(result: Verification) -> dict[str, Any]:
    b = result.first_break
    return {
        "ok": result.ok,
        "cases": result.cases,
        "events": result.events,
        "first_break": None
        if b is None
        else {
            "case_id": str(b.case_id),
            "number": b.number,
            "version": b.version,
            "notification_id": b.notification_id,
            "problem": b.problem,
        },
    }


@blp.route("/cases/<string:ref>/history")
class CaseHistory(MethodView):
    @blp.response(200, HistorySchema)
    @blp.doc(summary="Every event of a case: who, in which role, when, why, and its hash")
    def get(self, ref: str) -> Any:
        user, case_id, kind = _audited(ref, "read_history")
        entries = history(casework(), case_id)
        number = entries[0].data.get("number", "")
        return {"case_id": str(case_id), "number": number, "events": _entries(kind, entries, user.role)}


@blp.route("/cases/<string:ref>/as-of")
class CaseAsOf(MethodView):
    @blp.arguments(AsOfQuerySchema, location="query")
    @blp.response(200, AnyCaseSchema, headers={"ETag": {"schema": {"type": "string"}}})
    @blp.doc(summary="The case as it stood at a version or at a past recorded time")
    def get(self, args: dict[str, Any], ref: str) -> Any:
        user, case_id, _ = _audited(ref, "read_history")
        if ("version" in args) == ("at" in args):
            raise ApiError(
                422, "invalid_request", "give either version or at", fields={"version": "give either version or at"}
            )
        case = as_of(casework(), case_id, version=args.get("version"), at=args.get("at"))
        return case_view_for(case, user), 200, {"ETag": etag(case.version)}


@blp.route("/cases/<string:ref>/verification")
class CaseVerification(MethodView):
    @blp.response(200, VerificationSchema)
    @blp.doc(summary="Verify a case's hash chain; names the first broken event (supervisor, auditor)")
    def get(self, ref: str) -> Any:
        _, case_id, _ = _audited(ref, "verify_chains")
        return _verification(verify_case(casework(), case_id))


@blp.route("/verification")
class StoreVerification(MethodView):
    @blp.response(200, VerificationSchema)
    @blp.doc(
        summary="Verify the hash chain of every case in your unit and below; names the first broken event "
        "(supervisor, auditor). At the top of the org tree: the whole store, in recording order."
    )
    def get(self) -> Any:
        user = require("verify_chains")
        top = "." not in user.org_unit
        return _verification(verify_unit(casework(), None if top else user.org_unit))


@blp.route("/read-models/verification")
class ReadModelVerification(MethodView):
    @blp.response(200, ReadModelVerificationSchema)
    @blp.doc(
        summary="Replay every case and check the case index, open clocks, statistics and person reservations against "
        "the events; names the rows that differ (a supervisor or auditor at the top of the org tree: it covers the "
        "whole store). Costs about what a rebuild costs. A broken hash chain is 409 `broken_chain` naming the case: "
        "the chains (`GET /verification`) come first."
    )
    def get(self) -> Any:
        user = require("verify_chains")
        if "." in user.org_unit:
            raise ApiError(
                403,
                "forbidden",
                "only a supervisor or auditor at the top of the org tree may check the read models: the check covers "
                "the whole store",
            )
        reads.end()  # the check reads in a snapshot of its own, not in the request's read transaction
        checked = check_read_models(casework())
        return {
            "ok": checked.ok,
            "events": checked.events,
            "cases": checked.cases,
            "rows": checked.rows,
            "count": checked.count,
            "differences": [vars(d) for d in checked.differences],
        }


@blp.route("/cases/<string:ref>/dossier.csv")
class CaseDossier(MethodView):
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    @blp.doc(summary="Export a case: its current state and full history as CSV (supervisor, auditor)")
    def get(self, ref: str) -> Any:
        user, case_id, _ = _audited(ref, "export_dossier")
        dossier = dossier_csv(casework(), case_id, role=user.role, actor_id=user.user_id, today=today())
        return Response(
            dossier.content,
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{dossier.filename}"'},
        )


@blp.route("/cases/<string:ref>/dossier.pdf")
class CaseDossierPdf(MethodView):
    @blp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf")
    @blp.doc(
        summary="Export a case as a printable PDF dossier (案件卷宗): its summary, open clocks, every event, the "
        "verification result and the SHA-256 of its content, which `casework dossier check` recomputes from the "
        "store (supervisor, auditor)"
    )
    def get(self, ref: str) -> Any:
        user, case_id, _ = _audited(ref, "export_dossier")
        cw = casework()
        dossier = dossier_pdf(cw, case_id, role=user.role, generated_by=user.user_id, generated_at=cw.clock.now())
        return Response(
            dossier.content,
            mimetype="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{dossier.filename}"'},
        )
