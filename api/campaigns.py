"""Offer campaigns (百分百要约行动) over HTTP: start one (202 with the flow run id), follow it, resume it.

The campaign and its targets are stored first, in one transaction; the opening itself is a run the app's
scheduler starts (in production a run of the offer-campaign deployment, on the worker), so the request
returns at once.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from marshmallow import fields, validate

from api import reads
from api.auth import casework, require, require_scope, scheduler
from api.command_schemas import shape_schema
from api.errors import ApiError
from api.fields import Strict, Text
from api.parsing import Blueprint
from engine import campaigns
from engine.accounts import User
from engine.scheduler import SchedulerUnavailable, start_campaign
from engine.service import Actor

blp = Blueprint("campaigns", __name__, description="Offer campaigns: one written offer to many enterprises.")


class CampaignRequestSchema(Strict):
    """One offer to many enterprises: its terms and each enterprise take the schemas of the offer itself
    (POST /negotiations), so a campaign accepts exactly what the offers it opens accept."""

    document_number = Text(
        required=True,
        min_length=1,
        max_length=120,
        metadata={"description": "the written offer's document number (文号), one per campaign"},
    )
    issuing_union = Text(required=True, min_length=1, max_length=200)
    org_unit = Text(required=True, min_length=1, max_length=200)
    terms = fields.Nested(shape_schema("terms"), load_default=dict)
    assignee = Text(max_length=120, allow_none=True)
    enterprises = fields.List(
        fields.Nested(shape_schema("enterprise")),
        validate=validate.Length(max=campaigns.MAX_TARGETS),
        metadata={"description": "the enterprises; or give `csv` instead"},
    )
    csv = Text(
        max_length=2_000_000,
        metadata={
            "description": "CSV text with a header row: name, credit_code, "
            "employees (or 企业名称, 统一社会信用代码, 职工人数)"
        },
    )

    @ma.validates_schema
    def _one_list(self, data: dict[str, Any], **_: Any) -> None:
        if ("enterprises" in data) == ("csv" in data):
            raise ma.ValidationError("give either enterprises or csv", field_name="enterprises")


class CampaignCountsSchema(ma.Schema):
    total = fields.Integer(required=True)
    opened = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    pending = fields.Integer(required=True)


class FlowRunStateSchema(ma.Schema):
    state = fields.String(
        required=True,
        metadata={"description": "scheduled, pending, running, completed, failed, crashed, cancelled, or unknown"},
    )
    state_name = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class CampaignSchema(ma.Schema):
    campaign_id = fields.String(required=True)
    document_number = fields.String(required=True)
    issuing_union = fields.String(required=True)
    org_unit = fields.String(required=True)
    terms = fields.Dict(required=True)
    assignee = fields.String(allow_none=True)
    created_by = fields.String(required=True)
    created_at = fields.String(required=True)
    flow_run_id = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    counts = fields.Nested(CampaignCountsSchema, required=True)
    run = fields.Nested(FlowRunStateSchema, allow_none=True)
    failures = fields.List(fields.Dict(), metadata={"description": "targets not opened, with the reason (first 100)"})


class CampaignListSchema(ma.Schema):
    items = fields.List(fields.Nested(CampaignSchema), required=True)


def _visible(user: User, campaign_id: str) -> campaigns.Campaign:
    found = campaigns.get_campaign(casework(), campaign_id)
    if not user.sees(found.org_unit):
        raise campaigns.CampaignNotFound(campaign_id)  # another unit's campaign is not there for this caller
    return found


def _start(found: campaigns.Campaign) -> dict[str, Any]:
    """Start a run of the campaign; 503 (the campaign stays stored, resumable) when the scheduler cannot."""
    try:
        start_campaign(casework(), scheduler(), found.campaign_id)
    except SchedulerUnavailable as e:
        raise ApiError(
            503,
            "scheduler_unavailable",
            f"campaign {found.campaign_id} is stored but {e}; POST /campaigns/{found.campaign_id}/start to try again",
            campaign_id=str(found.campaign_id),
        ) from None
    return _view(campaigns.get_campaign(casework(), found.campaign_id), with_run=False) | {
        "run": {"state": "scheduled", "state_name": "Scheduled", "message": None}
    }


def _accepted(data: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return data, 202, {"Location": url_for("campaigns.Campaign", campaign_id=data["campaign_id"])}


def _view(found: campaigns.Campaign, *, with_run: bool = True) -> dict[str, Any]:
    data = found.to_dict()
    if with_run and found.flow_run_id:
        reads.end()  # no database transaction is held open over a call to the scheduler's server
        data["run"] = scheduler().run_state(found.flow_run_id)
    else:
        data["run"] = None
    data["failures"] = campaigns.failures(casework(), found.campaign_id)[:100] if found.failed else []
    return data


@blp.route("/campaigns")
class Campaigns(MethodView):
    @blp.arguments(CampaignRequestSchema)
    @blp.response(202, CampaignSchema)
    @blp.doc(
        summary="Start an offer campaign: opens one negotiation per enterprise on the worker",
        description="Stores the campaign, then starts a run of the offer-campaign deployment and answers "
        "202 with its flow_run_id; follow it with GET /campaigns/{campaign_id}.",
    )
    def post(self, data: dict[str, Any]) -> Any:
        user = require("start_campaigns")
        org_unit = require_scope(user, data["org_unit"])
        enterprises = campaigns.read_csv(data["csv"]) if "csv" in data else data["enterprises"]
        terms = {k: (str(v) if v is not None else None) for k, v in data["terms"].items()}
        found = campaigns.create_campaign(
            casework(),
            Actor(user.user_id, user.role),
            document_number=data["document_number"],
            issuing_union=data["issuing_union"],
            org_unit=org_unit,
            enterprises=enterprises,
            terms=terms,
            assignee=data.get("assignee"),
        )
        return _accepted(_start(found))

    @blp.response(200, CampaignListSchema)
    @blp.doc(summary="Campaigns of your unit and below, newest first, with their counts")
    def get(self) -> Any:
        user = require("read_cases")
        return {
            "items": [
                c.to_dict() | {"run": None, "failures": []} for c in campaigns.list_campaigns(casework(), user.org_unit)
            ]
        }


@blp.route("/campaigns/<campaign_id>")
class Campaign(MethodView):
    @blp.response(200, CampaignSchema)
    @blp.doc(summary="A campaign's counts (opened, failed, pending) and its flow run's state")
    def get(self, campaign_id: str) -> Any:
        user = require("read_cases")
        return _view(_visible(user, campaign_id))


@blp.route("/campaigns/<campaign_id>/start")
class CampaignStart(MethodView):
    @blp.response(202, CampaignSchema)
    @blp.doc(summary="Start a new run for a campaign: opens only what is still missing (resume after a failure)")
    def post(self, campaign_id: str) -> Any:
        user = require("start_campaigns")
        found = _visible(user, campaign_id)
        if found.pending == 0:
            raise ApiError(409, "nothing_pending", f"campaign {campaign_id} has nothing left to open")
        return _accepted(_start(found))
