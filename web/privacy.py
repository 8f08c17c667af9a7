"""The erasure of one person's data (PIPL art. 47), for a supervisor at the top of the org tree.

The form names the person by ID number, or by a case and their place in it; the reason is required and kept
in the history of every case the erasure touches. Refusals (a case of theirs still open, nothing kept for
the number) are shown on the form; an erasure done leads to the first case it was recorded on.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext

from aggregates.errors import DomainError
from engine.accounts import User
from engine.erasure import erase_person, may_erase
from web.views import blueprint, casework, page

FIELDS = ("id_number", "case", "person", "reason")


def _eraser() -> User:
    user: User = g.web_user
    if not may_erase(user):
        abort(403)
    return user


def _form(status: int = 200, **context: Any) -> tuple[str, int]:
    defaults: dict[str, Any] = {"values": {}, "problems": {}}
    return page("privacy_erasure.html", status, **{**defaults, **context})


@blueprint.route("privacy/erasure", methods=["GET", "POST"])
def erasure() -> Any:
    user = _eraser()
    if request.method == "GET":
        return _form()
    values = {name: (request.form.get(name) or "").strip() for name in FIELDS}
    problems: dict[str, str] = {}
    if bool(values["id_number"]) == bool(values["case"]):
        problems["id_number"] = gettext("Give either the ID number, or the case number and the person's place in it.")
    elif values["case"] and not values["person"]:
        problems["person"] = gettext("Give the person's place in the case, e.g. applicants.1.")
    if not values["reason"]:
        problems["reason"] = gettext("A reason is required: it is kept in the history of every case.")
    if request.form.get("confirm") != "yes":
        problems["confirm"] = gettext("Confirm that the data is to be erased: it cannot be undone.")
    if problems:
        return _form(422, values=values, problems=problems)
    try:
        done = erase_person(
            casework(),
            user,
            reason=values["reason"],
            id_number=values["id_number"] or None,
            case=values["case"] or None,
            person=values["person"] or None,
        )
    except DomainError as refused:
        return _form(409, values=values, problems={"erasure": str(refused)})
    flash(gettext("Erased. The erasure is recorded on %(cases)s.", cases=", ".join(done.cases)))
    return redirect(url_for("web.erasure"), 303)
