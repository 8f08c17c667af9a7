"""The workspace's blueprint and its first screens: sign-in and sign-out, the language switch, the work queue and
the case page. Other screens are modules of their own that add routes to `blueprint` and use the helpers here
(`require`, `visible`, `view_for`, `page`); `web.app.SCREENS` lists them."""

from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import format_time, gettext
from flask_wtf.csrf import CSRFError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response as BaseResponse

from aggregates.base import Case
from aggregates.errors import DomainError, InvalidCommand
from aggregates.policy import CALENDAR_WEEKENDS_ONLY
from engine.access import may
from engine.accounts import User, get_user
from engine.audit import as_of, history, verify_case
from engine.errors import NoSuchVersion, NotFound, VersionConflict
from engine.lookup import IndexedCase
from engine.passwords import password_stamp, sign_in
from engine.queries import CaseFilter, work_queue, working_days_left
from engine.registry import CASE_TYPES
from engine.service import Actor, Casework
from engine.views import case_view, event_data_for, notes_page
from web.app import csrf, secure_headers
from web.forms import action_form as action_form_for
from web.forms import input_path, input_paths, read, row_count
from web.i18n import LANGUAGES

blueprint = Blueprint(
    "web", __name__, static_folder="static", static_url_path="/assets", template_folder="templates", url_prefix="/"
)
PUBLIC = frozenset({"web.sign_in", "web.static", "web.language"})
"""Endpoints that need no signed-in user."""
PER_PAGE = 25
ALERT_FLAG = "deadline_alert"
"""The flag of a case with an alert the scheduler raised that nobody has acted on yet."""


def casework() -> Casework:
    cw: Casework = current_app.extensions["casework"]
    return cw


def today() -> date:
    cw = casework()
    return cw.clock.now().astimezone(cw.settings.tz).date()


def _now_seconds() -> float:
    """Now, by the service's clock (so tests can move it), in seconds."""
    return casework().clock.now().timestamp()


def signed_in_user() -> User | None:
    """The session's user, if the session has not been idle too long and the user is still active. Each request
    renews the session's idle time."""
    user_id, seen = session.get("user"), session.get("seen")
    if not user_id:
        return None
    idle = current_app.config["CASEWORK_SESSION_IDLE_MINUTES"] * 60
    now = _now_seconds()
    if not isinstance(seen, int | float) or now - seen > idle:
        session.clear()
        session["expired"] = True
        return None
    user = get_user(casework(), user_id)
    if user is None or not user.active or session.get("stamp") != password_stamp(casework(), user_id):
        session.clear()  # deactivated, or a new password was set since this session signed in
        return None
    session["seen"] = now
    return user


def _safe_next(target: str | None) -> str:
    """A path on this site to go back to, never another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("web.queue")


@blueprint.before_request
def _check_session_and_csrf() -> BaseResponse | None:
    if request.method == "POST":
        csrf.protect()
    if request.endpoint in PUBLIC:
        return None
    user = signed_in_user()
    if user is None:
        return redirect(url_for("web.sign_in", next=request.full_path.rstrip("?")))
    g.web_user = user
    return None


blueprint.after_request(secure_headers)


@blueprint.app_context_processor
def _page_context() -> dict[str, Any]:
    return {"languages": LANGUAGES, "web_user": g.get("web_user")}


def page_count(total: int, per_page: int = PER_PAGE) -> int:
    """How many pages `total` items fill, `per_page` to a page; an empty list is one (empty) page."""
    return max(1, math.ceil(total / per_page))


def requested_page() -> int:
    """The page the query asks for (`?page=N`), 1 for anything that is not a page number."""
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) <= 9 and int(raw) >= 1 else 1


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    return render_template(template, **context), status


@blueprint.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    message = gettext("The form has expired or did not come from this site. Go back, reload the page and try again.")
    return page("error.html", 400, message=message)


@blueprint.errorhandler(404)
def _not_found(error: Exception) -> tuple[str, int]:
    return page("error.html", 404, message=gettext("There is no such page or case, or it is outside your unit."))


@blueprint.errorhandler(403)
def _forbidden(error: HTTPException) -> tuple[str, int]:
    return page("error.html", 403, message=gettext("Your role may not do this."))


@blueprint.errorhandler(DomainError)
def _refused(error: DomainError) -> tuple[str, int]:
    if isinstance(error, NotFound):
        return _not_found(error)
    return page("error.html", 409, message=str(error))


@blueprint.route("sign-in", methods=["GET", "POST"], endpoint="sign_in")
def sign_in_page() -> Any:
    next_page = _safe_next(request.values.get("next"))
    if request.method == "GET":
        expired = session.pop("expired", False)
        message = gettext("You were signed out after a time without activity.") if expired else None
        return page("sign_in.html", next=next_page, message=message, user_id="")
    user_id = request.form.get("user_id", "").strip()
    result = sign_in(casework(), user_id, request.form.get("password", ""))
    if result.user is None:
        if result.locked_until is not None:
            until = format_time(result.locked_until.astimezone(casework().settings.tz), "HH:mm")
            message = gettext(
                "Too many wrong passwords: this account is locked until %(time)s. Ask an admin to reset the "
                "password if you cannot wait.",
                time=until,
            )
        else:
            message = gettext("The user id or password is wrong, or the account is not active.")
        return page("sign_in.html", 401, next=next_page, message=message, user_id=user_id)
    language = session.get("lang")
    session.clear()  # a new session at sign-in: nothing carried over from before (session fixation)
    if language:
        session["lang"] = language
    session["user"], session["seen"] = result.user.user_id, _now_seconds()
    session["stamp"] = password_stamp(casework(), result.user.user_id)
    return redirect(next_page)


@blueprint.post("sign-out")
def sign_out() -> BaseResponse:
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language
    return redirect(url_for("web.sign_in"))


@blueprint.post("language")
def language() -> BaseResponse:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(_safe_next(request.form.get("next")))


def clock_rows(clocks: list[dict[str, Any]], on: date) -> list[dict[str, Any]]:
    """Each clock with its due date as a date, the working days left (negative: overdue by) and, when its due date
    was counted past the official calendar's years, a note saying so (`weekends_only`)."""
    policy = casework().settings.policy
    rows = []
    for clock in clocks:
        due = clock["due_on"] if isinstance(clock["due_on"], date) else date.fromisoformat(clock["due_on"])
        paused = bool(clock.get("paused") or clock.get("paused_on"))
        left = working_days_left(policy, on, due)
        weekends_only = clock.get("calendar") == CALENDAR_WEEKENDS_ONLY
        rows.append(
            {
                "name": clock["name"],
                "due_on": due,
                "paused": paused,
                "left": left,
                "overdue": left < 0,
                "weekends_only": weekends_only,
            }
        )
    return rows


def queue_search(user: User) -> tuple[CaseFilter, str, bool, bool]:
    """The work queue's search as the query string gives it (text, only mine, only with an alert), within the
    reader's unit and below: the filter, and the text and choices to show again. The queue adds open cases only."""
    text = (request.args.get("q") or "").strip()[:120]
    mine = request.args.get("mine") == "1"
    alerts = request.args.get("alerts") == "1"
    f = CaseFilter(
        scope=user.org_unit,
        text=text or None,
        assignee=user.user_id if mine else None,
        flags=(ALERT_FLAG,) if alerts else (),
    )
    return f, text, mine, alerts


@blueprint.get("")
def queue() -> str:
    user: User = g.web_user
    f, text, mine, alerts = queue_search(user)
    page_number = requested_page()
    on = today()
    found = work_queue(casework(), f, on, page=page_number, per_page=PER_PAGE)
    rows = [{**row, "clocks": clock_rows([c for c in row["clocks"] if not c["paused"]], on)} for row in found.rows]
    pages = page_count(found.total)
    return render_template(
        "queue.html", queue=found, rows=rows, q=text, mine=mine, alerts=alerts, page=page_number, pages=pages
    )


@blueprint.get("case/<number>")
def case_page(number: str) -> str:
    """The case now, with the actions the reader may take; or, with `?version=N`, as it stood then (no actions)."""
    user: User = g.web_user
    wanted = request.args.get("version")
    as_it_stood = None
    if wanted is None:
        view = view_for(visible_case(user, number), user)
    else:
        require(user, "read_history")
        found = visible(user, number)
        if not wanted.isdigit() or int(wanted) < 1:
            abort(404)
        try:
            then = as_of(casework(), found.case_id, version=int(wanted))
        except NoSuchVersion:
            abort(404)
        as_it_stood = then.version
        view = {**view_for(then, user), "allowed_actions": []}
    clocks = clock_rows(view["clocks"], today())
    return render_template(
        "case.html",
        case=view,
        clocks=clocks,
        notes=_dated(view["notes"]),
        details=view["details"],
        as_it_stood=as_it_stood,
        notes_pages=page_count(view["notes_total"]),
        reads_history=may(user.role, "read_history"),
        verifies=may(user.role, "verify_chains"),
    )


def _dated(notes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notes with their time as a datetime, for the date filter."""
    return [{**n, "at": datetime.fromisoformat(n["at"]) if isinstance(n["at"], str) else n["at"]} for n in notes]


@blueprint.get("case/<number>/notes")
def notes_page_view(number: str) -> tuple[str, int]:
    """Every note of the case, oldest first, a page at a time: the case page shows only the latest."""
    user: User = g.web_user
    case = visible_case(user, number)
    wanted = requested_page()
    notes, total = notes_page(case, wanted, PER_PAGE, casework().settings.tz)
    return page(
        "case_notes.html",
        number=case.number,
        notes=_dated(notes),
        total=total,
        page=wanted,
        pages=page_count(total),
    )


@blueprint.get("case/<number>/history")
def history_page(number: str) -> str:
    """Every event of the case: what, who in which role, business and recorded time, why, the stage it led to."""
    user: User = g.web_user
    require(user, "read_history")
    found = visible(user, number)
    cls = CASE_TYPES[found.kind]
    tz = casework().settings.tz
    entries = [
        {
            **vars(e),
            "occurred_at": e.occurred_at.astimezone(tz),
            "recorded_at": e.recorded_at.astimezone(tz),
            "data": event_data_for(user.role, cls, e.data, tz),
        }
        for e in history(casework(), found.case_id)
    ]
    return render_template("history.html", number=found.number, kind=found.kind, entries=entries)


@blueprint.get("case/<number>/verification")
def verification_page(number: str) -> str:
    """The case's hash chain checked now, the result in plain words."""
    user: User = g.web_user
    require(user, "verify_chains")
    found = visible(user, number)
    result = verify_case(casework(), found.case_id)
    problem = broken_link_text(result.first_break.problem) if result.first_break else None
    return render_template("verification.html", number=found.number, result=result, problem=problem)


BROKEN_LINKS = (
    (re.compile(r"expected version (\d+), found (\d+): events are missing or out of order"), "missing"),
    (re.compile(r"stored content cannot be read \((\w+)\): altered or corrupted"), "unreadable"),
    (re.compile(r"stored content is not a case event"), "foreign"),
    (re.compile(r"does not commit to the previous event's hash: .*"), "unlinked"),
    (re.compile(r"content does not match its hash: .*"), "altered"),
)
"""What engine/integrity.py says is wrong with a stored event, by its words, to say it in the reader's language."""


def broken_link_text(problem: str) -> str:
    """The integrity check's finding in the reader's language (as the engine said it, if it is not one it knows)."""
    for pattern, kind in BROKEN_LINKS:
        if found := pattern.fullmatch(problem):
            if kind == "missing":
                return gettext(
                    "version %(expected)s was expected and %(found)s found: events are missing or out of order",
                    expected=found.group(1),
                    found=found.group(2),
                )
            if kind == "unreadable":
                return gettext(
                    "its stored content cannot be read (%(error)s): altered or corrupted", error=found.group(1)
                )
            if kind == "foreign":
                return gettext("its stored content is not a case event")
            if kind == "unlinked":
                return gettext(
                    "it does not commit to the hash of the event before it: that event was altered or removed"
                )
            return gettext("its content does not match its hash: it was altered after it was recorded")
    return problem


def require(user: User, capability: str) -> None:
    """403 unless the reader's role has `capability` (engine/access.py)."""
    if not may(user.role, capability):
        abort(403)


def visible(user: User, number: str) -> IndexedCase:
    """The case `number` names, if the reader may see it; 404 otherwise (a case elsewhere does not exist)."""
    found = casework().find(number)
    if found is None or not user.sees(found.org_unit):
        abort(404)
    return found


def visible_case(user: User, number: str) -> Case:
    return casework().get(visible(user, number).case_id)


def view_for(case: Case, user: User) -> dict[str, Any]:
    """The case as `user` sees it today, with exactly the actions the engine would accept from them now."""
    cw = casework()
    return case_view(case, user.role, today(), cw.settings.tz, actor_id=user.user_id, policy=cw.settings.policy)


def fingerprint(case_id: UUID | None, action: str, data: dict[str, Any], reason: str | None) -> str:
    """A digest of the command as sent: the same key with other values is another request, not a retry."""
    canonical = json.dumps(
        {"case": str(case_id), "action": action, "data": data, "reason": reason}, sort_keys=True, default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def refusal_problems(refused: InvalidCommand, shown: set[str]) -> dict[str, str]:
    """The engine's refusal by the input it names (`claims[0].amount`: the row's amount), or by the field the input
    belongs to when the form shows no such input."""
    problems: dict[str, str] = {}
    for name, problem in refused.fields.items():
        path = input_path(name)
        problems.setdefault(path if path in shown else re.split(r"[.\[]", name, maxsplit=1)[0], problem)
    return problems


@blueprint.route("case/<number>/<action>", methods=["GET", "POST"])
def action_form(number: str, action: str) -> Any:
    user: User = g.web_user
    case = visible_case(user, number)
    if action not in case.TABLE.commands or case.TABLE.commands[action].creates:
        abort(404)
    form = action_form_for(case.KIND, action)
    view = view_for(case, user)
    values = request.form if request.method == "POST" else MultiDict()
    context: dict[str, Any] = {
        "case": view,
        "form": form,
        "action": action,
        "reason_required": case.TABLE.actions[action].reason_required,
        "values": values,
        "rows": lambda f: row_count(f, values, request.form.get("add_row")),
        "problems": {},
        "message": None,
        "stale": None,
        "key": uuid4().hex,
        "version": case.version,
    }
    if request.method == "GET":
        if action not in view["allowed_actions"]:
            context["message"] = gettext("This action is not possible on this case now.")
        return page("action.html", **context)
    sent_version = request.form.get("version", "")
    key = request.form.get("key", "")
    if not sent_version.isdigit() or not re.fullmatch(r"[0-9a-f]{32}", key):
        abort(400)
    context.update(key=key, version=int(sent_version))  # the same form, drawn from the same version, until sent
    if request.form.get("add_row"):
        return page("action.html", **context)
    submitted = read(form, request.form)
    reason = (request.form.get("reason") or "").strip() or None
    if context["reason_required"] and reason is None:
        submitted.problems["reason"] = gettext("is required for this action")
    if submitted.problems or form.blocked:
        return page("action.html", 422, **{**context, "problems": submitted.problems})
    cw = casework()
    try:
        result = cw.execute(
            case.id,
            action,
            Actor(user.user_id, user.role),
            command_id=f"{user.user_id}:web-{key}",
            expected_version=int(sent_version),
            reason=reason,
            fingerprint=fingerprint(case.id, action, submitted.data, reason),
            **submitted.data,
        )
    except VersionConflict as conflict:
        stale = {"sent": int(sent_version), "current": conflict.current}
        return page("action.html", 409, **{**context, "stale": stale, "version": case.version})
    except InvalidCommand as refused:
        problems = refusal_problems(refused, input_paths(form, values))
        return page("action.html", 422, **{**context, "problems": problems, "message": str(refused)})
    except DomainError as refused:
        return page("action.html", 409, **{**context, "message": str(refused)})
    if result.replayed and result.fingerprint != fingerprint(case.id, action, submitted.data, reason):
        message = gettext("This form was already sent with other values; open the action again to send new ones.")
        return page("action.html", 422, **{**context, "message": message})
    return redirect(url_for("web.case_page", number=case.number), 303)
