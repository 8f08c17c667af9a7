"""Signed checkpoints over HTTP: who may list, export, make and verify them, and a rewrite caught and named."""

from __future__ import annotations

from engine.checkpoints import Checkpoint, CheckpointKey
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, dispute
from tests.integration.tamper import rewrite_event


def test_a_top_supervisor_or_an_admin_makes_checkpoints_auditors_read_export_and_verify_them(api: ApiWorld) -> None:
    case = api["mediator"].post(collection("labor_dispute"), dispute()).get_json()
    made = api["city_supervisor"].post("/checkpoints")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert (body["checkpoint"]["id"], body["checkpoint"]["tree_size"], body["added"]) == (1, 1, 1)
    assert body["webhook_sent"] is None
    assert api["admin"].post("/checkpoints").get_json()["added"] == 0
    check_error(api["supervisor"].post("/checkpoints"), 403, "forbidden")  # a district's supervisor
    check_error(api["auditor"].post("/checkpoints"), 403, "forbidden")
    listed = api["auditor"].get("/checkpoints").get_json()["items"]
    assert [c["tree_size"] for c in listed] == [1, 1]
    check_error(api["mediator"].get("/checkpoints"), 403, "forbidden")
    exported = api["supervisor"].get("/checkpoints/1/export").get_json()
    kept = Checkpoint.from_export(exported)
    assert kept.signature_problem(CheckpointKey(api.cw.settings).public) is None
    check_error(api["auditor"].get("/checkpoints/99/export"), 404, "not_found")
    verified = api["auditor"].get("/checkpoints/verification").get_json()
    assert verified["ok"] and verified["problems"] == [] and verified["events"] == 1

    rewrite_event(api.cw, api.cw.resolve(case["number"]), 1, actor_id="someone-else")
    assert api["auditor"].get(f"/cases/{case['number']}/verification").get_json()["ok"]
    broken = api["auditor"].get("/checkpoints/verification").get_json()
    assert not broken["ok"] and broken["first_bad_checkpoint"] == 1
    assert broken["first_changed"]["number"] == case["number"] and broken["first_changed"]["version"] == 1
