"""Audit over HTTP: a case's history with who, role, why, command id and hash chain; the case as of a
version or a recorded time; chain verification (and tamper detection) for supervisors and auditors only;
the dossier CSV."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text

from aggregates.chain import GENESIS
from aggregates.stages import USER_ROLES
from engine.access import PERMISSIONS
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, count_rows, csv_rows, dispute, etag


def _history_case(api: ApiWorld) -> dict[str, Any]:
    """A dispute filed, accepted a day later and withdrawn with a reason a day after that."""
    med = api["mediator"]
    case = med.post(collection("labor_dispute"), dispute(), headers={"Idempotency-Key": "file-1"}).get_json()
    api.clock.advance(days=1)
    med.post(command_path("labor_dispute", case["case_id"], "accept"), {})
    api.clock.advance(days=1)
    response = api["supervisor"].post(
        command_path("labor_dispute", case["case_id"], "withdraw"),
        {"reason": "申请人与企业自行和解"},
        headers={"Idempotency-Key": "withdraw-1"},
    )
    assert response.status_code == 200
    return response.get_json()


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return UUID(bytes=bytes(value)) if isinstance(value, (bytes, memoryview)) else UUID(str(value))


def test_history_lists_every_event_with_actor_role_reason_command_id_and_hash_chain(api: ApiWorld) -> None:
    case = _history_case(api)
    response = api["auditor"].get(f"/cases/{case['number']}/history")
    assert response.status_code == 200
    history = response.get_json()
    assert (history["case_id"], history["number"]) == (case["case_id"], case["number"])
    events = history["events"]
    assert [(e["version"], e["event"], e["action"], e["actor_id"], e["actor_role"], e["stage"]) for e in events] == [
        (1, "DisputeFiled", "file", "mediator", "mediator", "filed"),
        (2, "DisputeAccepted", "accept", "mediator", "mediator", "accepted"),
        (3, "DisputeWithdrawn", "withdraw", "supervisor", "supervisor", "withdrawn"),
    ]
    assert [e["reason"] for e in events] == [None, None, "申请人与企业自行和解"]
    assert events[0]["command_id"] == "mediator:file-1" and events[2]["command_id"] == "supervisor:withdraw-1"
    assert len({e["command_id"] for e in events}) == 3
    assert events[0]["prev_hash"] == GENESIS
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
    assert len({e["hash"] for e in events}) == 3 and events[-1]["hash"] == case["head_hash"]
    assert [e["recorded_at"][:10] for e in events] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert events[0]["recorded_at"].endswith("+08:00")
    assert events[1]["clocks_opened"]["mediation"]["due_on"] and events[1]["clocks_closed"] == ["acceptance"]
    assert events[0]["data"]["workers_involved"] == 12

    for role in USER_ROLES:  # who may read a history is the permission table's business
        caller = next(c for c in api.callers.values() if c.role == role and c.org_unit == "suzhou.gusu")
        response = caller.get(f"/cases/{case['case_id']}/history")
        if role in PERMISSIONS["read_history"]:
            assert response.status_code == 200, role
        else:
            assert check_error(response, 403, "forbidden")["roles"] == sorted(PERMISSIONS["read_history"])
    check_error(api["wuzhong_mediator"].get(f"/cases/{case['number']}/history"), 404, "not_found")
    check_error(api["auditor"].get("/cases/LD-2026-999999/history"), 404, "not_found")


def test_a_case_as_of_a_version_or_a_recorded_time(api: ApiWorld, start_time: Any) -> None:
    case = _history_case(api)
    sup = api["supervisor"]
    base = f"/cases/{case['number']}/as-of"
    for version, stage in ((1, "filed"), (2, "accepted"), (3, "withdrawn")):
        response = sup.get(f"{base}?version={version}")
        assert response.status_code == 200
        assert (response.get_json()["stage"], response.get_json()["version"]) == (stage, version)
        assert response.headers["ETag"] == etag(version)
    at_v1 = sup.get(f"{base}?version=1").get_json()
    assert at_v1["allowed_actions"] == [
        "accept",
        "decline",
        "withdraw",
        "assign",
        "add_note",
        "link_case",
        "pause_clock",
        "extend_clock",
    ]  # no clock is paused: nothing to resume
    assert [c["name"] for c in at_v1["clocks"]] == ["acceptance"]

    for hours, stage in ((1, "filed"), (30, "accepted"), (24 * 5, "withdrawn")):
        at = (start_time + timedelta(hours=hours)).isoformat()
        response = sup.get(base, query_string={"at": at})
        assert response.status_code == 200 and response.get_json()["stage"] == stage, (at, response.get_json())

    body = check_error(sup.get(f"{base}?version=4"), 404, "not_found")
    assert body["current_version"] == 3
    before = (start_time - timedelta(days=1)).isoformat()
    check_error(sup.get(base, query_string={"at": before}), 404, "not_found")
    for query in ("", "version=1&at=2026-03-02T10:00:00%2B08:00", "version=0", "at=2026-03-02T10:00:00", "version=x"):
        check_error(sup.get(f"{base}?{query}"), 422, "invalid_request")
    check_error(api["admin"].get(f"{base}?version=1"), 403, "forbidden")


def test_verification_is_for_supervisors_and_auditors_only(api: ApiWorld) -> None:
    case = _history_case(api)
    may_verify = PERMISSIONS["verify_chains"]
    for role in USER_ROLES:
        caller = next(c for c in api.callers.values() if c.role == role and c.org_unit == "suzhou.gusu")
        for path in (f"/cases/{case['number']}/verification", "/verification", f"/cases/{case['number']}/dossier.csv"):
            response = caller.get(path)
            allowed = may_verify if "verification" in path else PERMISSIONS["export_dossier"]
            if role in allowed:
                assert response.status_code == 200, (role, path)
            else:
                assert set(check_error(response, 403, "forbidden")["roles"]) == allowed, (role, path)
    one = api["auditor"].get(f"/cases/{case['case_id']}/verification").get_json()
    assert one == {"ok": True, "cases": 1, "events": 3, "first_break": None}
    check_error(api["auditor"].get(f"/cases/{UUID(int=7)}/verification"), 404, "not_found")


def test_changing_one_stored_byte_is_named_by_verification_over_http(api: ApiWorld) -> None:
    case = _history_case(api)
    other = api["mediator"].post(collection("labor_dispute"), dispute()).get_json()
    before = api["auditor"].get("/verification").get_json()
    assert before == {"ok": True, "cases": 2, "events": 4, "first_break": None}

    with api.cw.write_transaction() as session:
        rows = session.execute(text("select id, originator_id, originator_version, state from casework_events"))
        row = next(r for r in rows if _uuid(r.originator_id) == UUID(case["case_id"]) and r.originator_version == 2)
        state = bytes(row.state)
        at = state.index(b'"actor_id":"') + len(b'"actor_id":"')
        tampered = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
        session.execute(text("update casework_events set state = :s where id = :i"), {"s": tampered, "i": row.id})

    for who in ("auditor", "supervisor"):
        for path in (f"/cases/{case['number']}/verification", "/verification"):
            result = api[who].get(path).get_json()
            assert result["ok"] is False, path
            broken = result["first_break"]
            assert (broken["case_id"], broken["version"]) == (case["case_id"], 2), path
            assert "altered" in broken["problem"]
    untouched = api["auditor"].get(f"/cases/{other['number']}/verification").get_json()
    assert untouched["ok"] is True and untouched["events"] == 1


def test_the_dossier_csv_holds_the_state_and_every_event_masked_for_the_reader(api: ApiWorld) -> None:
    case = _history_case(api)
    counts = count_rows(api.cw)
    for who, masked in (("auditor", True), ("supervisor", False)):
        response = api[who].get(f"/cases/{case['number']}/dossier.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{case["number"]}-dossier.csv"'
        rows = csv_rows(response)
        assert rows[0] == [
            "# case",
            case["number"],
            "labor_dispute",
            "withdrawn",
            "version 3",
            f"head {case['head_hash']}",
        ]
        state = json.loads(rows[1][1])
        assert rows[1][0] == "# state" and state["org_unit"] == "suzhou.gusu"
        header, events = rows[2], [dict(zip(rows[2], r, strict=True)) for r in rows[3:]]
        assert header[:3] == ["version", "event", "action"] and len(events) == 3
        assert [e["actor_role"] for e in events] == ["mediator", "mediator", "supervisor"]
        assert events[2]["reason"] == "申请人与企业自行和解"
        assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]
        in_event = json.loads(events[0]["data"])["applicants"][0]["name"]
        in_state = state["details"]["applicants"][0]["name"]
        assert (in_event == "王建国") is not masked and (in_state == "王建国") is not masked
        assert ("32050219800101123X" in response.get_data(as_text=True)) is not masked
    assert count_rows(api.cw) == counts  # reading is not writing


def test_store_verification_covers_the_callers_unit_and_the_whole_store_only_at_the_top(api: ApiWorld) -> None:
    """A district auditor verifies every case of the district; a break elsewhere is not theirs to see."""
    home = _history_case(api)
    away = api["wuzhong_mediator"].post(collection("labor_dispute"), dispute()).get_json()
    with api.cw.write_transaction() as session:
        rows = session.execute(text("select id, originator_id, state from casework_events"))
        row = next(r for r in rows if _uuid(r.originator_id) == UUID(away["case_id"]))
        state = bytes(row.state)
        at = state.index(b'"actor_id":"') + len(b'"actor_id":"')
        session.execute(
            text("update casework_events set state = :s where id = :i"),
            {"s": state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :], "i": row.id},
        )
    district = api["auditor"].get("/verification").get_json()
    assert district == {"ok": True, "cases": 1, "events": home["version"], "first_break": None}
    city = api["city_supervisor"].get("/verification").get_json()
    assert city["ok"] is False and city["first_break"]["case_id"] == away["case_id"]


def test_the_read_model_check_names_an_edited_row_to_a_supervisor_at_the_top(api: ApiWorld) -> None:
    case = _history_case(api)
    city = api["city_supervisor"]
    clean = city.get("/read-models/verification").get_json()
    assert clean["ok"] is True and clean["count"] == 0 and clean["differences"] == []
    assert (clean["cases"], clean["events"]) == (1, 3) and clean["rows"] > 1

    with api.cw.write_transaction() as session:
        session.execute(text("update case_index set assignee = 'someone-else'"))
    edited = city.get("/read-models/verification").get_json()
    assert edited["ok"] is False and edited["count"] == 1
    [difference] = edited["differences"]
    assert difference["table"] == "case_index" and difference["row"] == case["number"]
    assert difference["problem"].startswith("assignee is someone-else, the events give ")

    below = check_error(api["supervisor"].get("/read-models/verification"), 403, "forbidden")
    assert "top of the org tree" in below["message"]
    refused = check_error(api["mediator"].get("/read-models/verification"), 403, "forbidden")
    assert set(refused["roles"]) == PERMISSIONS["verify_chains"]

    with api.cw.write_transaction() as session:  # a broken chain: no read model can be checked against it
        row = session.execute(text("select id, state from casework_events where originator_version = 2")).one()
        state = bytes(row.state)
        at = state.index(b'"actor_id":"') + len(b'"actor_id":"')
        tampered = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
        session.execute(text("update casework_events set state = :s where id = :i"), {"s": tampered, "i": row.id})
    broken = check_error(city.get("/read-models/verification"), 409, "broken_chain")
    assert case["number"] in broken["message"] and "altered" in broken["message"]
