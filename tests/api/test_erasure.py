"""Erasing a person's data over HTTP: who may, what is refused, and what every reader then sees."""

from __future__ import annotations

from tests.api.conftest import ApiWorld
from tests.api.support import check_error, hardship, id_number


def _closed_hardship(api: ApiWorld) -> dict:
    w = api.walk()
    return w(w.open("hardship", "caseworker", hardship(1)), "withdraw", "caseworker", reason="放弃申请")


def test_a_top_supervisor_erases_a_person_and_every_reader_sees_them_erased(api: ApiWorld) -> None:
    case = _closed_hardship(api)
    body = {"id_number": id_number(1), "reason": "本人申请删除"}
    check_error(api["supervisor"].post("/persons/erasures", body), 403, "forbidden")  # a district's supervisor
    check_error(api["caseworker"].post("/persons/erasures", body), 403, "forbidden")
    check_error(api["city_supervisor"].post("/persons/erasures", {"reason": "x"}), 422, "invalid_request")
    done = api["city_supervisor"].post("/persons/erasures", body, headers={"Idempotency-Key": "erase-1"})
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["cases"] == [case["number"]] and done.get_json()["replayed"] is False
    again = api["city_supervisor"].post("/persons/erasures", body, headers={"Idempotency-Key": "erase-1"})
    assert again.status_code == 201 and again.get_json()["replayed"] is True
    read = api["caseworker"].get(f"/cases/{case['number']}").get_json()
    assert read["details"]["worker"] == {
        "name": None,
        "id_number": None,
        "phone": None,
        "address": None,
        "erased": True,
    }
    events = api["auditor"].get(f"/cases/{case['number']}/history").get_json()["events"]
    assert events[-1]["action"] == "erase_personal_data" and events[-1]["reason"] == "本人申请删除"
    assert "李秀英" not in str(events)
    assert api["auditor"].get(f"/cases/{case['number']}/verification").get_json()["ok"]
    check_error(api["city_supervisor"].post("/persons/erasures", body), 404, "not_found")


def test_an_erasure_is_refused_while_the_persons_case_is_open(api: ApiWorld) -> None:
    w = api.walk()
    w.open("hardship", "caseworker", hardship(1))
    refused = api["city_supervisor"].post("/persons/erasures", {"id_number": id_number(1), "reason": "本人申请删除"})
    check_error(refused, 409, "erasure_refused")
    assert "close them" in refused.get_json()["message"]
