"""Opening a case: a form per case type, drawn from its creating action's parameters like every action form, plus
the union that owns the case (the reader's own unit or one below it) and who is assigned."""

from __future__ import annotations

import re
from typing import Any
from uuid import uuid4

from flask import abort, g, redirect, request, url_for
from flask_babel import gettext
from werkzeug.datastructures import MultiDict

from aggregates.errors import DomainError, InvalidCommand
from engine.accounts import User, list_orgs
from engine.registry import CASE_TYPES
from engine.service import Actor
from web.forms import form_of, input_paths, read, row_count
from web.views import blueprint, casework, fingerprint, page, refusal_problems

ASKED_BY_THE_PAGE = frozenset({"org_unit", "assignee"})


def openable(user: User) -> list[str]:
    """The case types the reader's role may open."""
    return [kind for kind, cls in CASE_TYPES.items() if user.role in cls.TABLE.creating.roles]


@blueprint.app_context_processor
def _opening_context() -> dict[str, Any]:
    return {"opens_cases": lambda user: bool(openable(user))}


@blueprint.get("new")
def new_case() -> Any:
    """The case types the reader may open, each a link to its form."""
    return page("open_kinds.html", kinds=openable(g.web_user))


@blueprint.route("new/<kind>", methods=["GET", "POST"])
def open_form(kind: str) -> Any:
    user: User = g.web_user
    if kind not in CASE_TYPES:
        abort(404)
    if kind not in openable(user):
        abort(403)
    creating = CASE_TYPES[kind].TABLE.creating
    form = form_of(kind, creating.name, leave_out=ASKED_BY_THE_PAGE)
    values = request.form if request.method == "POST" else MultiDict()
    units = list_orgs(casework(), under=user.org_unit)
    context: dict[str, Any] = {
        "kind": kind,
        "action": creating.name,
        "form": form,
        "units": units,
        "values": values,
        "rows": lambda f: row_count(f, values, request.form.get("add_row")),
        "problems": {},
        "message": None,
        "key": request.form.get("key") or uuid4().hex,
    }
    if request.method == "GET":
        return page("open.html", **context)
    key = context["key"]
    if not re.fullmatch(r"[0-9a-f]{32}", key):
        abort(400)
    if request.form.get("add_row"):
        return page("open.html", **context)
    submitted = read(form, request.form)
    org_unit = request.form.get("org_unit") or user.org_unit
    if org_unit not in {unit.path for unit in units}:
        submitted.problems["org_unit"] = gettext("must be your unit or one below it")
    assignee = (request.form.get("assignee") or "").strip() or None
    reason = (request.form.get("reason") or "").strip() or None
    if submitted.problems or form.blocked:
        return page("open.html", 422, **{**context, "problems": submitted.problems})
    data = {**submitted.data, "org_unit": org_unit, "assignee": assignee}
    sent = fingerprint(None, creating.name, data, reason)
    try:
        result = casework().open_case(
            kind,
            Actor(user.user_id, user.role),
            command_id=f"{user.user_id}:web-{key}",
            org_unit=org_unit,
            assignee=assignee,
            reason=reason,
            fingerprint=sent,
            **submitted.data,
        )
    except InvalidCommand as refused:
        problems = refusal_problems(refused, input_paths(form, values) | ASKED_BY_THE_PAGE)
        return page("open.html", 422, **{**context, "problems": problems, "message": str(refused)})
    except DomainError as refused:
        return page("open.html", 409, **{**context, "message": str(refused)})
    if result.replayed and result.fingerprint != sent:
        message = gettext("This form was already sent with other values; open a new form to send new ones.")
        return page("open.html", 422, **{**context, "message": message})
    return redirect(url_for("web.case_page", number=result.number), 303)
