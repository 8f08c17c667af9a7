"""The federation's statistics for an org unit and every unit below it, over a period."""

from __future__ import annotations

from datetime import date
from typing import Any

import marshmallow as ma
from flask import Response
from flask.views import MethodView
from marshmallow import fields, validate

from api.auth import casework, require, require_scope
from api.errors import ApiError
from api.fields import Strict, Text
from api.parsing import Blueprint
from engine.reports import as_json, report_csv, statistics, statistics_xlsx
from engine.spreadsheet import XLSX_TYPE

blp = Blueprint("reports", __name__, description="Statistics as the unions report them (JSON or CSV).")


class ReportQuerySchema(Strict):
    org_unit = Text(max_length=200, metadata={"description": "default: your own unit"})
    from_ = fields.Date(data_key="from", metadata={"description": "first day, YYYY-MM-DD"})
    to = fields.Date(metadata={"description": "last day, YYYY-MM-DD"})
    by_org = fields.Integer(
        validate=validate.Range(min=1, max=10),
        metadata={"description": "also break the figures down by org unit at this depth"},
    )
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ReportXlsxQuerySchema(ReportQuerySchema):
    """The query of GET /reports/statistics; the workbook is one format."""

    class Meta:
        exclude = ("format",)


class ReportSchema(ma.Schema):
    org_unit = fields.String(allow_none=True)
    from_ = fields.String(data_key="from", required=True)
    to = fields.String(required=True)
    figures = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "metric -> count or amount (decimal string)"},
    )
    rates = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), required=True)
    by_org = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


def _scope_and_period(args: dict[str, Any]) -> tuple[str, date | None, date | None]:
    """The unit asked for (the caller's own by default; within their unit and below) and the period."""
    user = require("read_reports")
    org_unit = require_scope(user, args.get("org_unit") or user.org_unit, must_exist=False)
    start, end = args.get("from_"), args.get("to")
    if start and end and start > end:
        raise ApiError(422, "invalid_request", "'from' is after 'to'", fields={"from": "is after 'to'"})
    return org_unit, start, end


@blp.route("/reports/statistics")
class Statistics(MethodView):
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200, ReportSchema)
    @blp.alt_response(
        200, schema={"type": "string"}, content_type="text/csv", description="with format=csv", success=True
    )
    @blp.doc(summary="Written offers, answers, acting offers, rectifications, disputes, hardship figures")
    def get(self, args: dict[str, Any]) -> Any:
        org_unit, start, end = _scope_and_period(args)
        rep = statistics(casework(), org_unit=org_unit, start=start, end=end, by_org_depth=args.get("by_org"))
        if args["format"] == "csv":
            return Response(
                report_csv(rep),
                mimetype="text/csv",
                headers={"Content-Disposition": 'attachment; filename="statistics.csv"'},
            )
        data = as_json(rep)
        data["from_"] = data.pop("from")
        return data


@blp.route("/reports/statistics.xlsx")
class StatisticsWorkbook(MethodView):
    @blp.arguments(ReportXlsxQuerySchema, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_TYPE)
    @blp.doc(
        summary="The statistics as an Excel table, laid out as the unions publish theirs",
        description="A title row with the unit and the period, the sections' and figures' headings in Chinese, one "
        "row per unit directly below `org_unit` (or at depth `by_org`), then the totals row (合计). Counts and "
        "amounts are numbers, the answer and mediation success rates percentages.",
    )
    def get(self, args: dict[str, Any]) -> Any:
        org_unit, start, end = _scope_and_period(args)
        content = statistics_xlsx(casework(), org_unit=org_unit, start=start, end=end, by_org_depth=args.get("by_org"))
        return Response(
            content,
            mimetype=XLSX_TYPE,
            headers={"Content-Disposition": 'attachment; filename="statistics.xlsx"'},
        )
