"""A tampered case over HTTP: every read and command on it is a 409 `broken_chain` in the one error shape, naming
the case's number and the version where its chain breaks; the other cases answer as before."""

from __future__ import annotations

from uuid import UUID

import pytest

from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, count_rows, dispute
from tests.integration.tamper import TAMPERINGS, delete_events


def _case_of_three_events(api: ApiWorld) -> dict:
    med = api["mediator"]
    case = med.post(collection("labor_dispute"), dispute()).get_json()
    assert med.post(command_path("labor_dispute", case["case_id"], "accept"), {}).status_code == 200
    noted = med.post(command_path("labor_dispute", case["case_id"], "add-note"), {"text": "电话回访申请人"})
    assert noted.status_code == 200 and noted.get_json()["version"] == 3
    return case


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_reads_and_commands_on_a_tampered_case_answer_409_broken_chain(api: ApiWorld, tampering: str) -> None:
    case = _case_of_three_events(api)
    other = api["mediator"].post(collection("labor_dispute"), dispute()).get_json()
    TAMPERINGS[tampering](api.cw, UUID(case["case_id"]))

    for who, path in (
        ("mediator", f"/cases/{case['number']}"),
        ("mediator", f"/cases/{case['case_id']}"),
        ("mediator", f"/cases/{case['number']}/history"),
        ("supervisor", f"/cases/{case['number']}/as-of?version=3"),
        ("supervisor", f"/cases/{case['number']}/dossier.csv"),
    ):
        body = check_error(api[who].get(path), 409, "broken_chain")
        assert (body["case"], body["version"]) == (case["number"], 2), path
        assert case["number"] in body["message"] and "version 2" in body["message"], path
    before = count_rows(api.cw)
    refused = api["mediator"].post(command_path("labor_dispute", case["case_id"], "add-note"), {"text": "再次回访"})
    assert check_error(refused, 409, "broken_chain")["case"] == case["number"]
    assert count_rows(api.cw) == before

    assert api["mediator"].get(f"/cases/{other['number']}").status_code == 200
    verification = api["auditor"].get(f"/cases/{case['number']}/verification").get_json()
    assert verification["ok"] is False
    assert (verification["first_break"]["number"], verification["first_break"]["version"]) == (case["number"], 2)


def test_a_case_whose_events_were_all_removed_is_broken_not_missing(api: ApiWorld) -> None:
    case = _case_of_three_events(api)
    delete_events(api.cw, UUID(case["case_id"]))
    body = check_error(api["mediator"].get(f"/cases/{case['number']}"), 409, "broken_chain")
    assert (body["case"], body["version"]) == (case["number"], 1) and "no events" in body["message"]
    verification = api["auditor"].get(f"/cases/{case['number']}/verification").get_json()
    assert verification["ok"] is False and verification["first_break"]["number"] == case["number"]


def test_a_case_outside_the_caller_s_unit_is_not_there_for_them_broken_or_not(api: ApiWorld) -> None:
    broken, intact = _case_of_three_events(api), _case_of_three_events(api)
    delete_events(api.cw, UUID(broken["case_id"]))
    outsider = api["wuzhong_mediator"]
    missing = check_error(outsider.get("/cases/6f1c2d1e-8f0a-4c59-9a53-3c1f0f4f2a10"), 404, "not_found")
    for case in (broken, intact):
        for ref in (case["case_id"], case["number"]):
            body = check_error(outsider.get(f"/cases/{ref}"), 404, "not_found")
            assert body == {**missing, "message": f"no case {ref}"}
    check_error(api["mediator"].get(f"/cases/{broken['case_id']}"), 409, "broken_chain")
