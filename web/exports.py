"""Downloads of the workspace for Excel and WPS: the work queue's current search as XLSX or CSV.

The files are the engine's (`engine.case_exports`), the same as the API's case-list exports: every open case the
queue's search matches within the reader's unit and below, not one page of it, up to the engine's maximum (a search
beyond it is refused, naming how many cases match). The statistics workbook of the unit dashboard is in
web/supervision.py, beside the dashboard.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Response, abort, g
from flask_babel import gettext

from engine.accounts import User
from engine.case_exports import case_rows, cases_csv, cases_xlsx
from engine.errors import TooManyCases
from engine.spreadsheet import XLSX_TYPE
from web.views import blueprint, casework, page, queue_search, today

FORMATS = {"xlsx": XLSX_TYPE, "csv": "text/csv"}


@blueprint.get("queue/export.<fmt>")
def queue_export(fmt: str) -> Any:
    """Every open case of the queue's current search (text, only mine, only with an alert), by case number."""
    if fmt not in FORMATS:
        abort(404)
    user: User = g.web_user
    f, _, _, _ = queue_search(user)
    try:
        rows = case_rows(casework(), replace(f, is_open=True), sort="number")
    except TooManyCases as too_many:
        message = gettext(
            "%(total)s cases match; one export holds at most %(limit)s. Narrow the search and export again.",
            total=too_many.total,
            limit=too_many.limit,
        )
        return page("error.html", 422, message=message)
    content = cases_xlsx(rows) if fmt == "xlsx" else cases_csv(rows)
    filename = f"cases-{today().isoformat()}.{fmt}"
    return Response(
        content, mimetype=FORMATS[fmt], headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )
