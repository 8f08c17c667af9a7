"""Administration in the workspace: org units and users for admins, the record of account changes for admins and
auditors, offer campaigns for the roles that may start them (engine/access.py: `manage_accounts`,
`read_account_changes`, `start_campaigns`), each within the reader's unit and below.

Every change goes through the engine's own functions (`engine.accounts`, `engine.passwords`, `engine.campaigns`),
which check it and record who made it; the rules the HTTP API adds around them (an admin changes no role, unit or
state of their own, acts only below their own unit) are kept the same here. As in the API, a campaign is opened by
a run the app's scheduler starts, never inside a request: when the scheduler cannot start one, the campaign stays
stored, waiting, and its page offers to start it again.
"""

from __future__ import annotations

import os
import re
from typing import Any
from uuid import uuid4

from flask import abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext
from werkzeug.wrappers import Response as BaseResponse

from aggregates.stages import USER_ROLES
from engine import campaigns
from engine.access import may
from engine.accounts import (
    ORG_LEVELS,
    AccountError,
    OrgUnit,
    User,
    add_org,
    add_user,
    get_user,
    list_account_changes,
    list_orgs,
    list_users,
    set_active,
    update_user,
)
from engine.passwords import generate_password, locked_accounts, set_password
from engine.scheduler import RunState, Scheduler, SchedulerUnavailable, start_campaign
from engine.service import Actor
from web.views import PER_PAGE, blueprint, casework, page, page_count, requested_page, require

MAX_CSV_BYTES = 2_000_000
"""The largest campaign file taken: the API's limit on a campaign's CSV text."""
CAMPAIGN_FORM_BYTES = 8_000_000
"""Room for a campaign form: the file's text comes back with the start button, as UTF-8 up to 1.5 times a GB18030
file's bytes (Flask's default keeps a form field to 500 kB and the API's app a request to 2 MiB)."""
PREVIEW_ROWS = 20
REFRESH_SECONDS = 5
RUNNING = frozenset({"scheduled", "pending", "running"})
"""Run states after which more progress may still come: the campaign page refreshes itself while in one."""
TERMS = ("wage_increase_pct", "minimum_wage", "other")
OFFER_FIELDS = ("document_number", "issuing_union", "org_unit", "assignee", *TERMS)


# -- shared -----------------------------------------------------------------------------------------------------


def admin_sections(user: User | None) -> list[tuple[str, str]]:
    """The administration screens `user` may open, as (endpoint, name): empty for most roles."""
    if user is None:
        return []
    sections = []
    if may(user.role, "manage_accounts"):
        sections += [("web.admin_units", gettext("Org units")), ("web.admin_users", gettext("Users"))]
    if may(user.role, "read_account_changes"):
        sections.append(("web.admin_account_changes", gettext("Account changes")))
    if may(user.role, "start_campaigns"):
        sections.append(("web.admin_campaigns", gettext("Offer campaigns")))
    return sections


@blueprint.app_context_processor
def _admin_context() -> dict[str, Any]:
    return {"admin_sections": admin_sections}


def _reader() -> User:
    user: User = g.web_user
    return user


def _admin() -> User:
    """The signed-in admin; 403 for any other role."""
    user = _reader()
    require(user, "manage_accounts")
    return user


def _actor(user: User) -> Actor:
    return Actor(user.user_id, user.role)


def _paged(items: list[Any], number: int) -> tuple[list[Any], int]:
    """The items of page `number` and how many pages there are."""
    pages = page_count(len(items))
    return items[(number - 1) * PER_PAGE : number * PER_PAGE], pages


def _units_of(user: User) -> list[OrgUnit]:
    return list_orgs(casework(), user.org_unit)


def _outside(user: User) -> str:
    return gettext("is outside your unit (%(unit)s and the units below it)", unit=user.org_unit)


@blueprint.get("admin")
def admin() -> Any:
    sections = admin_sections(_reader())
    if not sections:
        abort(403)
    return page("admin_index.html", sections=sections)


# -- org units --------------------------------------------------------------------------------------------------


def _tree(units: list[OrgUnit]) -> list[dict[str, Any]]:
    """The units as nested nodes ({"unit", "children"}), each under its parent when the parent is listed."""
    nodes: dict[str, dict[str, Any]] = {u.path: {"unit": u, "children": []} for u in units}
    roots: list[dict[str, Any]] = []
    for unit in units:
        parent = nodes.get(unit.parent or "")
        (parent["children"] if parent is not None else roots).append(nodes[unit.path])
    return roots


def _units_page(admin: User, status: int = 200, **context: Any) -> tuple[str, int]:
    defaults: dict[str, Any] = {"values": {"path": admin.org_unit + "."}, "problems": {}}
    return page("admin_units.html", status, tree=_tree(_units_of(admin)), levels=ORG_LEVELS, **{**defaults, **context})


@blueprint.route("admin/units", methods=["GET", "POST"])
def admin_units() -> Any:
    """The org tree under the admin's unit, and a unit added below it."""
    admin = _admin()
    if request.method == "GET":
        return _units_page(admin)
    values = {k: (request.form.get(k) or "").strip() for k in ("path", "name", "level")}
    parent = values["path"].rpartition(".")[0]
    if not parent or not admin.sees(parent):
        problem = gettext("must be below your own unit, e.g. %(example)s", example=admin.org_unit + ".new-unit")
        return _units_page(admin, 403, values=values, problems={"path": problem})
    try:
        added = add_org(casework(), values["path"], values["name"], values["level"] or None)
    except AccountError as refused:
        return _units_page(admin, 422, values=values, problems=refused.fields)
    flash(gettext("Unit %(path)s added.", path=added.path))
    return redirect(url_for("web.admin_units"), 303)


# -- users ------------------------------------------------------------------------------------------------------


def _user_in(admin: User, user_id: str) -> User:
    """A user of the admin's unit or below; 404 for anyone else (a user elsewhere does not exist here)."""
    found = get_user(casework(), user_id)
    if found is None or not admin.sees(found.org_unit):
        abort(404)
    return found


def _users_page(admin: User, status: int = 200, **context: Any) -> tuple[str, int]:
    number = requested_page()
    shown, pages = _paged(list_users(casework(), admin.org_unit), number)
    defaults: dict[str, Any] = {"values": {"org_unit": admin.org_unit}, "problems": {}, "created": None}
    return page(
        "admin_users.html",
        status,
        users=shown,
        locks=locked_accounts(casework(), admin.org_unit),
        page=number,
        pages=pages,
        roles=USER_ROLES,
        units=_units_of(admin),
        tz=casework().settings.tz,
        **{**defaults, **context},
    )


@blueprint.route("admin/users", methods=["GET", "POST"])
def admin_users() -> Any:
    """The users of the admin's unit and below, and a user added; the new user's token is shown on this one answer
    and nowhere else (only its digest is stored)."""
    admin = _admin()
    if request.method == "GET":
        return _users_page(admin)
    values = {k: (request.form.get(k) or "").strip() for k in ("user_id", "name", "role", "org_unit")}
    if not admin.sees(values["org_unit"]):
        return _users_page(admin, 403, values=values, problems={"org_unit": _outside(admin)})
    try:
        created, token = add_user(
            casework(), values["user_id"], values["name"], values["role"], values["org_unit"], by=_actor(admin)
        )
    except AccountError as refused:
        return _users_page(admin, 422, values=values, problems=refused.fields)
    return _users_page(admin, 201, created={"user": created, "token": token})


def _change_names() -> dict[str, str]:
    return {
        "created": gettext("created"),
        "name_changed": gettext("name changed"),
        "role_changed": gettext("role changed"),
        "unit_changed": gettext("unit changed"),
        "token_issued": gettext("token issued"),
        "password_set": gettext("password set"),
        "deactivated": gettext("deactivated"),
        "reactivated": gettext("reactivated"),
    }


def _user_page(admin: User, found: User, status: int = 200, **context: Any) -> tuple[str, int]:
    before = request.args.get("before", "")
    changes = list_account_changes(
        casework(),
        scope=admin.org_unit,
        user_id=found.user_id,
        limit=PER_PAGE + 1,
        before=int(before) if before.isdigit() else None,
    )
    defaults: dict[str, Any] = {"problems": {}, "message": None, "new_password": None, "key": uuid4().hex}
    return page(
        "admin_user.html",
        status,
        user=found,
        yourself=found.user_id == admin.user_id,
        locked_until=locked_accounts(casework(), found.org_unit).get(found.user_id),
        changes=changes[:PER_PAGE],
        older=changes[PER_PAGE - 1].seq if len(changes) > PER_PAGE else None,
        change_names=_change_names(),
        roles=USER_ROLES,
        units=_units_of(admin),
        tz=casework().settings.tz,
        **{**defaults, **context},
    )


@blueprint.get("admin/account-changes")
def admin_account_changes() -> Any:
    """The record of changes to the accounts of the reader's unit and below, newest first, for admins and
    auditors: who created, changed, deactivated or reactivated each account, or set its password or token."""
    reader = _reader()
    require(reader, "read_account_changes")
    before = request.args.get("before", "")
    changes = list_account_changes(
        casework(), scope=reader.org_unit, limit=PER_PAGE + 1, before=int(before) if before.isdigit() else None
    )
    return page(
        "admin_account_changes.html",
        changes=changes[:PER_PAGE],
        older=changes[PER_PAGE - 1].seq if len(changes) > PER_PAGE else None,
        change_names=_change_names(),
        manages=may(reader.role, "manage_accounts"),
    )


def _not_yourself(admin: User, found: User) -> tuple[str, int] | None:
    """The page refusing a change an admin makes to their own account (as the API refuses it), else None."""
    if found.user_id != admin.user_id:
        return None
    message = gettext("You may not change your own role, unit, state or password here; ask another admin.")
    return _user_page(admin, found, 409, message=message)


@blueprint.route("admin/users/<user_id>", methods=["GET", "POST"])
def admin_user(user_id: str) -> Any:
    """One user: their account, a change of role or unit, and the record of every change to the account."""
    admin = _admin()
    found = _user_in(admin, user_id)
    if request.method == "GET":
        return _user_page(admin, found)
    role = request.form.get("role") or found.role
    unit = (request.form.get("org_unit") or found.org_unit).strip()
    if (role, unit) == (found.role, found.org_unit):
        return redirect(url_for("web.admin_user", user_id=found.user_id), 303)
    if refused := _not_yourself(admin, found):
        return refused
    if not admin.sees(unit):
        return _user_page(admin, found, 403, problems={"org_unit": _outside(admin)})
    try:
        update_user(casework(), found.user_id, by=_actor(admin), role=role, org_unit=unit)
    except AccountError as error:
        return _user_page(admin, found, 422, problems=error.fields)
    flash(gettext("Saved."))
    return redirect(url_for("web.admin_user", user_id=found.user_id), 303)


@blueprint.post("admin/users/<user_id>/active")
def admin_user_active(user_id: str) -> Any:
    """Deactivate a user (they can no longer sign in, and their token stops working) or reactivate them."""
    admin = _admin()
    found = _user_in(admin, user_id)
    if refused := _not_yourself(admin, found):
        return refused
    active = request.form.get("active") == "1"
    set_active(casework(), found.user_id, active, by=_actor(admin))
    flash(gettext("The account is active again.") if active else gettext("The account is deactivated."))
    return redirect(url_for("web.admin_user", user_id=found.user_id), 303)


SENT_PASSWORD_FORMS = "sent_password_forms"
"""The keys of the password forms this session has sent (the last 20): a form sent again sets nothing."""


@blueprint.post("admin/users/<user_id>/password")
def admin_user_password(user_id: str) -> Any:
    """A new password for a user, generated (shown on this one answer only) or typed twice; it ends every session
    signed in with the old one and lifts a lockout."""
    admin = _admin()
    found = _user_in(admin, user_id)
    if refused := _not_yourself(admin, found):
        return refused
    key = request.form.get("key", "")
    sent = session.get(SENT_PASSWORD_FORMS, [])
    if key in sent:  # the page reloaded or the button pressed twice: the password was set by the first one
        message = gettext(
            "This form was already sent: the password it set was shown then. To set another, use the form again."
        )
        return _user_page(admin, found, 409, message=message)
    generated = request.form.get("how") != "typed"
    password = generate_password() if generated else request.form.get("password", "")
    if not generated and password != request.form.get("password_again", ""):
        return _user_page(admin, found, 422, problems={"password_again": gettext("The two passwords differ.")})
    try:
        set_password(casework(), found.user_id, password, by=_actor(admin))
    except AccountError as error:
        return _user_page(admin, found, 422, problems=error.fields)
    if re.fullmatch(r"[0-9a-f]{32}", key):
        session[SENT_PASSWORD_FORMS] = [*sent, key][-20:]
    if generated:
        return _user_page(admin, found, new_password=password)
    return _user_page(admin, found, message=gettext("The new password is set."))


# -- offer campaigns -------------------------------------------------------------------------------------------


def _scheduler() -> Scheduler:
    scheduler: Scheduler = current_app.extensions["casework.scheduler"]
    return scheduler


def _visible_campaign(user: User, campaign_id: str) -> campaigns.Campaign:
    """The campaign, if the reader's unit holds it; 404 otherwise (as the API answers)."""
    try:
        found = campaigns.get_campaign(casework(), campaign_id)
    except campaigns.CampaignNotFound:
        abort(404)
    if not user.sees(found.org_unit):
        abort(404)
    return found


def prefect_run_url(run_id: str | None) -> str | None:
    """The run's page in Prefect's UI: PREFECT_UI_URL, else the API's address (PREFECT_API_URL) without its
    trailing /api, where Prefect serves its UI."""
    ui = (os.environ.get("PREFECT_UI_URL") or "").strip().rstrip("/")
    if not ui:
        ui = (os.environ.get("PREFECT_API_URL") or "").strip().rstrip("/").removesuffix("/api")
    if not run_id or not ui.startswith(("http://", "https://")):
        return None
    return f"{ui}/runs/flow-run/{run_id}"


@blueprint.before_app_request
def _room_for_campaign_files() -> None:
    """The two campaign forms carry a whole file; set before anything reads the form (the CSRF check does)."""
    if request.endpoint in ("web.admin_campaign_new", "web.admin_campaign_start"):
        request.max_content_length = CAMPAIGN_FORM_BYTES
        request.max_form_memory_size = CAMPAIGN_FORM_BYTES


@blueprint.get("admin/campaigns")
def admin_campaigns() -> Any:
    """The campaigns of the reader's unit and below, newest first, with their counts."""
    user = _reader()
    require(user, "read_cases")
    number = requested_page()
    shown, pages = _paged(campaigns.list_campaigns(casework(), user.org_unit), number)
    return page(
        "admin_campaigns.html",
        campaigns=shown,
        page=number,
        pages=pages,
        starts=may(user.role, "start_campaigns"),
        tz=casework().settings.tz,
    )


def _offer_values() -> dict[str, str]:
    return {k: (request.form.get(k) or "").strip() for k in (*OFFER_FIELDS, "encoding")}


def _campaign_form(user: User, status: int, values: dict[str, str], problems: dict[str, str]) -> tuple[str, int]:
    """The campaign form again, with every problem: the file's by its lines above the file input, the offer's
    beside their fields."""
    by_field = {k: v for k, v in problems.items() if k in OFFER_FIELDS or k.startswith("terms.") or k == "encoding"}
    in_file = campaigns.CampaignError({k: v for k, v in problems.items() if k not in by_field})
    report = [line.removeprefix("csv: ") for line in in_file.problems()]
    return page(
        "admin_campaign_new.html",
        status,
        values=values,
        problems={k.removeprefix("terms."): v for k, v in by_field.items()},
        report=report,
        units=_units_of(user),
        encodings=campaigns.ENCODINGS,
    )


def _checked_offer(user: User, values: dict[str, str], text: str) -> list[dict[str, Any]]:
    """The enterprises of `text` once the file and the offer pass every check the engine makes on a campaign;
    raises CampaignError naming every problem. Nothing is stored."""
    enterprises = campaigns.read_csv(text)
    return campaigns.check_campaign(
        casework(),
        _actor(user),
        document_number=values["document_number"],
        issuing_union=values["issuing_union"],
        org_unit=values["org_unit"],
        enterprises=enterprises,
        terms=_terms(values),
    )


def _terms(values: dict[str, str]) -> dict[str, str]:
    return {k: values[k] for k in TERMS if values[k]}


@blueprint.route("admin/campaigns/new", methods=["GET", "POST"])
def admin_campaign_new() -> Any:
    """The offer and its CSV file; sent, a report of every problem, or a preview of what would be stored. Nothing
    is stored here: the preview's start button sends the file's text back, and it is checked again then."""
    user = _reader()
    require(user, "start_campaigns")
    if request.method == "GET":
        return _campaign_form(user, 200, {"org_unit": user.org_unit}, {})
    values = _offer_values()
    if not user.sees(values["org_unit"]):
        return _campaign_form(user, 403, values, {"org_unit": _outside(user)})
    upload = request.files.get("csv_file")
    data = upload.stream.read(MAX_CSV_BYTES + 1) if upload is not None else b""
    if not data:
        return _campaign_form(user, 422, values, {"csv": gettext("choose the CSV file of the enterprises")})
    if len(data) > MAX_CSV_BYTES:
        too_big = gettext("is larger than %(n)s bytes; split the list", n=MAX_CSV_BYTES)
        return _campaign_form(user, 422, values, {"csv": too_big})
    try:
        text = campaigns.decode_csv(data, values["encoding"] or None)
        targets = _checked_offer(user, values, text)
    except campaigns.CampaignError as refused:
        return _campaign_form(user, 422, values, refused.fields)
    return page(
        "admin_campaign_preview.html", values=values, text=text, targets=targets[:PREVIEW_ROWS], total=len(targets)
    )


@blueprint.post("admin/campaigns")
def admin_campaign_start() -> Any:
    """Store the previewed campaign (its file's text checked again: the client holds it, so it is not trusted)
    and start its run with the app's scheduler; when the scheduler cannot start it, it stays stored, waiting."""
    user = _reader()
    require(user, "start_campaigns")
    values = _offer_values()
    if not user.sees(values["org_unit"]):
        return _campaign_form(user, 403, values, {"org_unit": _outside(user)})
    text = request.form.get("csv_text", "")
    if len(text) > MAX_CSV_BYTES:
        abort(413)
    try:
        created = campaigns.create_campaign(
            casework(),
            _actor(user),
            document_number=values["document_number"],
            issuing_union=values["issuing_union"],
            org_unit=values["org_unit"],
            enterprises=campaigns.read_csv(text),
            terms=_terms(values),
            assignee=values["assignee"] or None,
        )
    except campaigns.CampaignError as refused:
        return _campaign_form(user, 422, values, refused.fields)
    _start_run(created)
    return redirect(url_for("web.admin_campaign", campaign_id=str(created.campaign_id)), 303)


def _start_run(found: campaigns.Campaign) -> None:
    """Start a run of the campaign, and say on the next page whether it started."""
    try:
        start_campaign(casework(), _scheduler(), found.campaign_id)
    except SchedulerUnavailable as unavailable:
        flash(
            gettext(
                "The campaign is stored, but its run could not be started: %(why)s. Nothing is opened yet; "
                "start it again once the scheduler is available.",
                why=str(unavailable),
            ),
            "problem",
        )
        return
    flash(gettext("The campaign's run is started."))


@blueprint.get("admin/campaigns/<campaign_id>")
def admin_campaign(campaign_id: str) -> Any:
    """A campaign's progress (refreshing itself while its run goes on), its failures and the cases it opened."""
    user = _reader()
    require(user, "read_cases")
    found = _visible_campaign(user, campaign_id)
    run: RunState | None = _scheduler().run_state(found.flow_run_id) if found.flow_run_id else None
    going = run is not None and run["state"] in RUNNING and found.pending > 0
    cw = casework()
    return page(
        "admin_campaign.html",
        campaign=found,
        run=run,
        refresh=REFRESH_SECONDS if going else None,
        startable=may(user.role, "start_campaigns") and found.pending > 0 and not going,
        failures=campaigns.failures(cw, found.campaign_id)[:100] if found.failed else [],
        opened=campaigns.opened_cases(cw, found.campaign_id),
        run_url=prefect_run_url(found.flow_run_id),
        tz=cw.settings.tz,
    )


@blueprint.post("admin/campaigns/<campaign_id>/start")
def admin_campaign_resume(campaign_id: str) -> BaseResponse:
    """Start a new run for a stored campaign: it opens only what is still pending (after a refusal or a stop)."""
    user = _reader()
    require(user, "start_campaigns")
    found = _visible_campaign(user, campaign_id)
    if found.pending == 0:
        flash(gettext("Nothing is left to open."), "problem")
    else:
        _start_run(found)
    return redirect(url_for("web.admin_campaign", campaign_id=str(found.campaign_id)), 303)
