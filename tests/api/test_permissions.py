"""The permission table over HTTP, read from the stage tables and engine.access themselves: every action
of every case type refuses every role it does not name (403 naming the roles that may), auditors read
but run nothing, and personal data is masked for every role without "see_personal_data"."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aggregates.stages import USER_ROLES
from api.command_schemas import command_schema
from engine.access import PERMISSIONS
from engine.registry import CASE_TYPES
from tests.api.conftest import ApiWorld
from tests.api.support import (
    check_error,
    collection,
    command_path,
    count_rows,
    dispute,
    hardship,
    minimal_body,
    offer,
    rectification,
)

PERSONAL = {"name": "王建国", "id_number": "32050219800101123X", "phone": "13812345678", "address": "姑苏区某路1号"}
SEES_PERSONAL_DATA = PERMISSIONS["see_personal_data"]


def _first_case(api: ApiWorld, kind: str) -> dict[str, Any]:
    bodies = {
        "labor_dispute": dispute(),
        "wage_negotiation": offer(),
        "hardship": hardship(1),
        "rectification_proposal": rectification(api.clock.now().date()),
    }
    opener = sorted(CASE_TYPES[kind].TABLE.creating.roles - {"system"})[0]
    response = api[opener].post(collection(kind), bodies[kind])
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("kind", list(CASE_TYPES))
def test_every_action_refuses_every_role_it_does_not_name(api: ApiWorld, kind: str) -> None:
    case = _first_case(api, kind)
    before = count_rows(api.cw)
    checked = 0
    for action, a in CASE_TYPES[kind].TABLE.commands.items():
        body = minimal_body(command_schema(kind, action))  # a body the schema accepts: only the role is wrong
        path = collection(kind) if a.creates else command_path(kind, case["case_id"], action)
        for role in USER_ROLES:  # `system` is the scheduler's: no user holds it
            caller = api[role]
            if role in a.roles:  # admitted: refused later for other reasons (a stale If-Match), never 403
                response = caller.post(path, {} if a.creates else body, headers={"If-Match": '"0"'})
                assert response.status_code not in (401, 403, 404) and response.status_code < 500, (action, role)
                continue
            error = check_error(caller.post(path, body), 403, "forbidden")
            assert (error["action"], error["roles"]) == (action, sorted(a.roles)), (action, role)
            assert role in error["message"]
            checked += 1
    assert checked == sum(len(set(USER_ROLES) - a.roles) for a in CASE_TYPES[kind].TABLE.commands.values())
    assert count_rows(api.cw) == before
    assert api["supervisor"].get(f"/cases/{case['case_id']}").get_json()["version"] == 1


def test_auditors_read_everything_in_their_unit_and_run_no_command(api: ApiWorld) -> None:
    cases = {kind: _first_case(api, kind) for kind in CASE_TYPES}
    auditor = api["auditor"]
    before = count_rows(api.cw)
    for kind, case in cases.items():
        for action in CASE_TYPES[kind].TABLE.commands:
            a = CASE_TYPES[kind].TABLE.commands[action]
            path = collection(kind) if a.creates else command_path(kind, case["case_id"], action)
            check_error(auditor.post(path, minimal_body(command_schema(kind, action))), 403, "forbidden")
        ref = case["number"]
        for path in (
            f"/cases/{ref}",
            f"/cases/{ref}/history",
            f"/cases/{ref}/as-of?version=1",
            f"/cases/{ref}/verification",
            f"/cases/{ref}/dossier.csv",
        ):
            assert auditor.get(path).status_code == 200, path
        assert auditor.get(f"/cases/{ref}").get_json()["allowed_actions"] == []
    assert auditor.get("/cases").get_json()["total"] == len(cases)
    for path in ("/verification", "/reports/statistics", "/me", "/orgs"):
        assert auditor.get(path).status_code == 200, path
    check_error(auditor.get("/users"), 403, "forbidden")
    assert count_rows(api.cw) == before


def _personal_values(details: dict[str, Any], kind: str) -> dict[str, str]:
    person = details["applicants"][0] if kind == "labor_dispute" else details["worker"]
    return {k: person[k] for k in PERSONAL}


@pytest.mark.parametrize("kind", ["labor_dispute", "hardship"])
def test_personal_data_is_masked_for_roles_that_may_not_see_it(api: ApiWorld, kind: str) -> None:
    if kind == "labor_dispute":
        opened = api["mediator"].post(collection(kind), dispute(applicants=[PERSONAL]))
    else:
        opened = api["caseworker"].post(collection(kind), hardship(1, worker=PERSONAL))
    case = opened.get_json()
    assert _personal_values(case["details"], kind) == PERSONAL
    ref = case["number"]
    for role in USER_ROLES:
        caller = api[role]
        clear = role in SEES_PERSONAL_DATA
        views = {"case": caller.get(f"/cases/{ref}")}
        if role in PERMISSIONS["read_history"]:
            views["as-of"] = caller.get(f"/cases/{ref}/as-of?version=1")
            views["history"] = caller.get(f"/cases/{ref}/history")
        if role in PERMISSIONS["export_dossier"]:
            views["dossier"] = caller.get(f"/cases/{ref}/dossier.csv")
        views["list"] = caller.get("/cases")
        for view, response in views.items():
            assert response.status_code == 200, (role, view)
            raw = response.get_data(as_text=True)
            for key, value in PERSONAL.items():
                # json.dumps: the text as it appears inside a JSON or CSV cell, whatever the escaping
                shown = value in raw or json.dumps(value)[1:-1] in raw
                assert shown == (clear and view != "list"), (role, view, key)
        if clear:
            continue
        masked = _personal_values(views["case"].get_json()["details"], kind)
        assert all(masked[k] != PERSONAL[k] and masked[k] for k in PERSONAL), masked
        assert masked["name"].startswith("王") and masked["id_number"][-4:] == "123X"
        if "history" in views:
            first = views["history"].get_json()["events"][0]["data"]
            assert _personal_values(first, kind) == masked


def test_the_roles_that_see_personal_data_are_the_permission_tables(api: ApiWorld) -> None:
    """Guards the expectation above against a table that sees nobody (or everybody) as trusted."""
    assert SEES_PERSONAL_DATA == {"mediator", "caseworker", "supervisor"}
    assert PERMISSIONS["verify_chains"] == PERMISSIONS["export_dossier"] == {"supervisor", "auditor"}
    assert all("auditor" not in a.roles for cls in CASE_TYPES.values() for a in cls.TABLE.actions.values())
