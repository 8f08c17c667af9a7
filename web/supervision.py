"""The supervisor's screens: escalations and referrals the scheduler proposed, alerts it raised, a case's dossier,
and the unit dashboard (the statistics report as a table and bar charts, and overdue cases by sub-unit).

Who may open which is engine/access.py's (`oversee_cases`, `export_dossier`, `read_reports`), within the reader's
unit and below. Nothing here changes a case: a confirm or dismiss button is a link to the case's own action form
(`web.action_form`), which sends the command with the case version and an idempotency key as every form does.
Lists are read from the case index a page at a time; only the cases of the page shown are loaded, for what the
index does not keep (what is proposed and why, which clock an alert is about).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, g, request, url_for
from flask_babel import get_locale, gettext

from aggregates.base import Case, Now
from engine.access import may
from engine.accounts import User, list_orgs
from engine.dossier import dossier_csv
from engine.dossier_pdf import dossier_pdf
from engine.erasure import may_erase
from engine.queries import CaseFilter, overdue_by_unit, search_cases, work_queue, working_days_left
from engine.registry import CASE_TYPES
from engine.reports import RATES, SECTIONS, Report, plain, statistics, statistics_xlsx
from engine.spreadsheet import XLSX_TYPE
from web.views import (
    ALERT_FLAG,
    PER_PAGE,
    blueprint,
    casework,
    clock_rows,
    page,
    page_count,
    requested_page,
    require,
    today,
    visible,
)

ESCALATION_FLAG = "escalation_pending"
REFERRAL_FLAG = "referral_pending"
"""The flags of a negotiation whose escalation, and of a rectification proposal whose referral, awaits a
supervisor (aggregates/wage_negotiation.py, aggregates/rectification.py)."""
ALERT_ACTIONS = ("extend_clock", "pause_clock", "add_note")
"""What a reader may do about an alert: no case type has an action that acknowledges one; an alert ends when its
clock is extended, paused, closed or moved on by the case's next step."""


@dataclass(frozen=True)
class FigureLink:
    """The cases behind a figure, as the case index can name them: a case type and optionally a stage or a flag;
    `in_period`: the figure counts the cases' opening, so the cases opened in the period are exactly those
    counted. Without it the list is every such case of the unit, whenever the counted step happened."""

    kind: str
    stage: str | None = None
    flag: str | None = None
    in_period: bool = False


FIGURE_LINKS: dict[str, FigureLink] = {
    "enterprises_covered": FigureLink("wage_negotiation", in_period=True),
    "acting_offers": FigureLink("wage_negotiation", flag="acting_offer"),
    "rectification_proposals": FigureLink("wage_negotiation", flag="rectification"),
    "negotiations_referred": FigureLink("wage_negotiation", stage="referred_to_inspectorate"),
    "disputes_filed": FigureLink("labor_dispute", in_period=True),
    "disputes_resolved": FigureLink("labor_dispute", stage="resolved"),
    "disputes_referred": FigureLink("labor_dispute", stage="referred_to_arbitration"),
    "rectifications_issued": FigureLink("rectification_proposal", in_period=True),
    "rectifications_completed": FigureLink("rectification_proposal", stage="rectified"),
    "hardship_applications": FigureLink("hardship", in_period=True),
}
"""Figures whose cases the case index can list. The others count a step the index keeps no trace of (an answer,
an acceptance, an agreement) or count documents, workers or money rather than cases."""

CHARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("offers", ("offers_written", "offers_answered", "acting_offers", "rectification_proposals")),
    ("disputes", ("disputes_accepted", "disputes_mediated")),
    ("hardship", ("hardship_registered_deep", "hardship_registered_relative", "hardship_registered_sudden")),
)
BAR_HEIGHT, BAR_GAP, LABEL_WIDTH, BAR_WIDTH, CHART_WIDTH = 22, 8, 200, 170, 420
"""A chart's geometry in its SVG's own units: a row per figure, its label in the first LABEL_WIDTH, then the bar
(the largest figure BAR_WIDTH long) and its value; the SVG scales to the width it is given."""


def supervision_sections(user: User | None) -> list[tuple[str, str]]:
    """The supervision screens `user` may open, as (endpoint, name), for the header's navigation."""
    if user is None:
        return []
    sections = []
    if may(user.role, "oversee_cases"):
        sections += [("web.escalations", gettext("Pending escalations")), ("web.alerts", gettext("Alerts"))]
    if may(user.role, "read_reports"):
        sections.append(("web.dashboard", gettext("Unit dashboard")))
    if may_erase(user):
        sections.append(("web.erasure", gettext("Erase personal data")))
    return sections


@blueprint.app_context_processor
def _supervision_context() -> dict[str, Any]:
    return {"supervision_sections": supervision_sections, "user_may": _user_may}


def _user_may(capability: str) -> bool:
    user: User | None = g.get("web_user")
    return user is not None and may(user.role, capability)


def _reader() -> User:
    user: User = g.web_user
    return user


def _allowed(case: Case, user: User, on: date, among: tuple[str, ...]) -> list[str]:
    """Which of `among` the reader may run on the case now, as the engine judges it (none for an auditor)."""
    now = Now(on, user.user_id, casework().settings.policy)
    allowed = set(case.allowed_actions(user.role, now))
    return [name for name in among if name in allowed]


# -- pending escalations and referrals --------------------------------------------------------------------------


def _pending(user: User, flag: str, page_number: int) -> tuple[list[dict[str, Any]], int]:
    """One page of the open cases in the reader's unit and below whose step `flag` says awaits a supervisor,
    least recently changed first (a proposal is, but for a note or an assignment, the case's last event), each
    with what is proposed, why and since when, and the decisions the reader may take."""
    cw, on = casework(), today()
    found, total = search_cases(
        cw,
        CaseFilter(scope=user.org_unit, flags=(flag,), is_open=True),
        sort="updated_at",
        page=page_number,
        per_page=PER_PAGE,
    )
    rows = []
    for row in found:  # at most PER_PAGE cases: what the index does not keep is in the case itself
        case = cw.get(row["case_id"])
        if flag == ESCALATION_FLAG:
            pending = getattr(case, "pending_escalation", None)
            decisions = ("confirm_escalation", "dismiss_escalation")
            proposed = pending["action"] if pending else None
        else:
            pending = getattr(case, "pending_referral", None)
            decisions = ("confirm_referral", "dismiss_referral")
            proposed = "refer_to_inspectorate"
        if pending is None:  # the index is behind the case (it moved on meanwhile): nothing to decide
            continue
        due_on = pending.get("due_on")
        rows.append(
            {
                **row,
                "proposed": proposed,
                "trigger": pending.get("trigger"),
                "due_on": date.fromisoformat(due_on) if isinstance(due_on, str) else due_on,
                "why": pending.get("why") or "",
                "since": pending["proposed_at"].astimezone(cw.settings.tz),
                "by": pending.get("proposed_by"),
                "decisions": _allowed(case, user, on, decisions),
            }
        )
    rows.sort(key=lambda r: r["since"])
    return rows, total


@blueprint.get("supervision/escalations")
def escalations() -> Any:
    """Escalations and referrals the scheduler proposed, awaiting a supervisor, oldest first."""
    user = _reader()
    require(user, "oversee_cases")
    page_number = requested_page()
    raw_referrals = request.args.get("rpage", "1")
    referral_page = int(raw_referrals) if raw_referrals.isdigit() and int(raw_referrals) >= 1 else 1
    negotiations, negotiation_total = _pending(user, ESCALATION_FLAG, page_number)
    referrals, referral_total = _pending(user, REFERRAL_FLAG, referral_page)
    return page(
        "supervision_escalations.html",
        negotiations=negotiations,
        negotiation_total=negotiation_total,
        negotiation_pages=page_count(negotiation_total),
        page=page_number,
        referrals=referrals,
        referral_total=referral_total,
        referral_pages=page_count(referral_total),
        rpage=referral_page,
    )


# -- alerts -----------------------------------------------------------------------------------------------------


@blueprint.get("supervision/alerts")
def alerts() -> Any:
    """Open cases with an alert the scheduler raised and nobody has acted on, most overdue first: for each alert
    the clock that ran out, its due date, how long ago, when the alert was raised and to whom."""
    user = _reader()
    require(user, "oversee_cases")
    cw, on, page_number = casework(), today(), requested_page()
    policy = cw.settings.policy
    found = work_queue(
        cw, CaseFilter(scope=user.org_unit, flags=(ALERT_FLAG,)), on, page=page_number, per_page=PER_PAGE
    )
    rows = []
    for row in found.rows:  # at most PER_PAGE cases: which clock an alert is about is in the case itself
        case = cw.get(row["case_id"])
        items = [
            {
                "clock": a["clock"],
                "due_on": a["due_on"],
                "days": (on - a["due_on"]).days,
                "working_days": -working_days_left(policy, on, a["due_on"]),
                "raised_at": a["raised_at"].astimezone(cw.settings.tz),
                "notify": a.get("notify") or [],
            }
            for a in case.active_alerts
        ]
        if not items:
            continue
        rows.append({**row, "alerts": items, "actions": _allowed(case, user, on, ALERT_ACTIONS)})
    return page(
        "supervision_alerts.html",
        rows=rows,
        total=found.total,
        page=page_number,
        pages=page_count(found.total),
    )


# -- dossier ----------------------------------------------------------------------------------------------------


@blueprint.get("case/<number>/dossier.csv")
def dossier(number: str) -> Response:
    """The case's state and full history as CSV, masked for the reader: the same file as the API's."""
    user = _reader()
    require(user, "export_dossier")
    found = visible(user, number)
    result = dossier_csv(casework(), found.case_id, role=user.role, actor_id=user.user_id, today=today())
    return Response(
        result.content,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
    )


@blueprint.get("case/<number>/dossier.pdf")
def dossier_pdf_file(number: str) -> Response:
    """The case's dossier as a PDF to print, masked for the reader and naming them: the same as the API's."""
    user = _reader()
    require(user, "export_dossier")
    found = visible(user, number)
    cw = casework()
    result = dossier_pdf(cw, found.case_id, role=user.role, generated_by=user.user_id, generated_at=cw.clock.now())
    return Response(
        result.content,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{result.filename}"'},
    )


# -- the unit dashboard -----------------------------------------------------------------------------------------


def _date_arg(name: str, default: date) -> tuple[date, str | None]:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return default, None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not 1900 <= day.year <= 9000:  # a day the period's bounds can be computed from
        return default, gettext("must be a date (YYYY-MM-DD)")
    return day, None


def _period(on: date) -> tuple[date, date, dict[str, str]]:
    """The period asked for (default: this year), and what is wrong with each bad date."""
    start, start_problem = _date_arg("from", date(on.year, 1, 1))
    end, end_problem = _date_arg("to", date(on.year, 12, 31))
    problems = {k: v for k, v in (("from", start_problem), ("to", end_problem)) if v}
    if not problems and start > end:
        problems["from"] = gettext("is after the last day")
    return start, end, problems


def _unit_arg(user: User) -> str:
    """The unit asked for: the reader's own by default; one outside their unit does not exist for them."""
    unit = (request.args.get("unit") or "").strip() or user.org_unit
    if not user.sees(unit):
        abort(404)
    return unit


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=casework().settings.tz)


def figure_url(metric: str, unit: str, start: date, end: date) -> str | None:
    """The case list of the cases behind figure `metric` of `unit`, where the case index can name them."""
    link = FIGURE_LINKS.get(metric)
    if link is None:
        return None
    args: dict[str, Any] = {"kind": link.kind, "stage": link.stage, "flag": link.flag, "unit": unit}
    if link.in_period:
        args.update({"from": start.isoformat(), "to": end.isoformat()})
    return url_for("web.case_list", **{k: v for k, v in args.items() if v})


def _label(zh: str, en: str) -> str:
    locale = get_locale()
    return zh if locale is not None and locale.language == "zh" else en


def _report_rows(rep: Report, unit: str, start: date, end: date) -> list[dict[str, Any]]:
    """The report's figures in the unions' order, named in the reader's language, each with its cases' link."""
    return [
        {
            "section": section,
            "metric": metric,
            "label": _label(zh, en),
            "value": plain(rep.figure(metric)),
            "url": figure_url(metric, unit, start, end),
            "exact": metric in FIGURE_LINKS and FIGURE_LINKS[metric].in_period,
        }
        for section, metrics in SECTIONS.items()
        for metric, zh, en in metrics
    ]


def _charts(rep: Report, unit: str, start: date, end: date) -> list[dict[str, Any]]:
    """Each chart's bars: a bar's length is its figure's share of the chart's largest, its place a row of
    BAR_HEIGHT + BAR_GAP in the SVG's own units."""
    labels = {metric: _label(zh, en) for metrics in SECTIONS.values() for metric, zh, en in metrics}
    titles = {
        "offers": gettext("Wage negotiation"),
        "disputes": gettext("Labour disputes"),
        "hardship": gettext("Hardship by category"),
    }
    charts = []
    for name, metrics in CHARTS:
        values = [rep.figure(m) for m in metrics]
        largest = max(values) or Decimal(1)
        bars = [
            {
                "metric": metric,
                "label": labels[metric],
                "value": plain(value),
                "width": round(float(value / largest * BAR_WIDTH), 1) if value else 0.0,
                "y": n * (BAR_HEIGHT + BAR_GAP),
                "url": figure_url(metric, unit, start, end),
            }
            for n, (metric, value) in enumerate(zip(metrics, values, strict=True))
        ]
        charts.append(
            {
                "name": name,
                "title": titles[name],
                "bars": bars,
                "height": len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP,
                "bar_height": BAR_HEIGHT,
                "label_width": LABEL_WIDTH,
                "width": CHART_WIDTH,
            }
        )
    return charts


def _overdue_rows(unit: str, on: date) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """For each unit directly below `unit`: how many open cases under it have an overdue clock, with the link to
    them; and the same for the whole of `unit` (its own cases and every unit's below it)."""
    counts = overdue_by_unit(casework(), unit, on)
    depth = unit.count(".") + 1
    children = [o for o in list_orgs(casework(), under=unit) if o.path.count(".") == depth]
    rows = [
        {
            "unit": o.path,
            "name": o.name,
            "count": counts.get(o.path, 0),
            "url": url_for("web.case_list", unit=o.path, overdue="1"),
        }
        for o in children
    ]
    whole = {
        "unit": unit,
        "count": sum(counts.values()),
        "url": url_for("web.case_list", unit=unit, overdue="1"),
    }
    return rows, whole


@blueprint.get("supervision/dashboard")
def dashboard() -> Any:
    """The statistics report for a unit and period as a table and bar charts, each figure linked to its cases
    where the case index can list them; and the open cases with an overdue clock under each sub-unit."""
    user = _reader()
    require(user, "read_reports")
    on = today()
    unit = _unit_arg(user)
    start, end, problems = _period(on)
    units = list_orgs(casework(), under=user.org_unit)
    context: dict[str, Any] = {"unit": unit, "units": units, "start": start, "end": end, "problems": problems}
    if problems:
        return page("supervision_dashboard.html", 422, **context, rows=[], rates=[], charts=[], overdue=None)
    rep = statistics(casework(), org_unit=unit, start=start, end=end)
    rates = [
        {"label": _label(zh, en), "value": rate}
        for _, zh, en, numerator, denominator in RATES
        if (rate := rep.rate(numerator, denominator)) is not None
    ]
    return page(
        "supervision_dashboard.html",
        **context,
        xlsx_url=url_for("web.dashboard_xlsx") + "?" + urlencode({"unit": unit, "from": start, "to": end}),
        rows=_report_rows(rep, unit, start, end),
        rates=rates,
        charts=_charts(rep, unit, start, end),
        overdue=_overdue_rows(unit, on),
    )


@blueprint.get("supervision/dashboard.xlsx")
def dashboard_xlsx() -> Any:
    """The dashboard's statistics as the unions' XLSX table (engine.reports.statistics_xlsx, the same file as the
    API's): a row per unit directly below the unit shown, then the totals, for the period shown."""
    user = _reader()
    require(user, "read_reports")
    unit = _unit_arg(user)
    start, end, problems = _period(today())
    if problems:
        return page("error.html", 400, message="; ".join(f"{k}: {v}" for k, v in problems.items()))
    content = statistics_xlsx(casework(), org_unit=unit, start=start, end=end)
    filename = f"statistics-{unit}-{start.isoformat()}-{end.isoformat()}.xlsx"
    return Response(content, mimetype=XLSX_TYPE, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


# -- the case list the dashboard's figures link to --------------------------------------------------------------


@blueprint.get("supervision/cases")
def case_list() -> Any:
    """Cases of a unit by case type, stage, flag, opening period or an overdue clock, open or closed: the cases
    behind a dashboard figure. Always within the reader's unit and below."""
    user = _reader()
    require(user, "read_reports")
    on, page_number = today(), requested_page()
    unit = _unit_arg(user)
    kind = request.args.get("kind") or None
    if kind is not None and kind not in CASE_TYPES:
        abort(404)
    stage = request.args.get("stage") or None
    if stage is not None and (kind is None or stage not in CASE_TYPES[kind].TABLE.stages):
        abort(404)
    flag = (request.args.get("flag") or "").strip()[:48] or None
    overdue = request.args.get("overdue") == "1"
    start: date | None = None
    end: date | None = None
    if request.args.get("from") or request.args.get("to"):
        start, end, problems = _period(on)
        if problems:
            return page("error.html", 400, message="; ".join(f"{k}: {v}" for k, v in problems.items()))
    found, total = search_cases(
        casework(),
        CaseFilter(
            scope=user.org_unit,
            org_unit=unit,
            kind=kind,
            stage=stage,
            flags=(flag,) if flag else (),
            is_open=True if overdue else None,
            overdue_on=on if overdue else None,
            opened_from=_start_of(start) if start else None,
            opened_before=_start_of(end + timedelta(days=1)) if end else None,
        ),
        sort="number",
        page=page_number,
        per_page=PER_PAGE,
    )
    rows = [{**row, "clocks": clock_rows([c for c in row["clocks"] if not c["paused"]], on)} for row in found]
    asked = {k: v for k, v in request.args.items() if k != "page"}
    return page(
        "supervision_cases.html",
        rows=rows,
        total=total,
        unit=unit,
        kind=kind,
        stage=stage,
        flag=flag,
        overdue=overdue,
        start=start,
        end=end,
        page=page_number,
        pages=page_count(total),
        query=urlencode(asked),
    )
