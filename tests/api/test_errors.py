"""Errors over HTTP share one JSON shape and the right status; a refused request never leaves data behind
and hostile input (huge, malformed, odd Unicode, control characters, absurd dates) is never a 5xx."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask

from aggregates.errors import DomainError
from api.errors import MAX_FIELD_ERRORS, from_domain_error
from engine.accounts import AccountNotFound
from engine.campaigns import CampaignNotFound
from engine.errors import CaseNotFound, NoSuchVersion, NotFound
from engine.registry import CASE_TYPES
from tests.api.conftest import ApiWorld
from tests.api.support import (
    Caller,
    check_error,
    collection,
    command_path,
    count_rows,
    dispute,
    hardship,
    rectification,
)


@pytest.fixture
def case(api: ApiWorld) -> dict[str, Any]:
    """A filed labor dispute in gusu."""
    response = api["mediator"].post(collection("labor_dispute"), dispute())
    assert response.status_code == 201
    return response.get_json()


def _refused(api: ApiWorld, response: Any, status: int, before: dict[str, int], code: str | None = None) -> dict:
    """The error, and nothing written: not an event, an index row, a clock, a statistic or a command record."""
    body = check_error(response, status, code)
    assert count_rows(api.cw) == before
    return body


def test_401_without_a_valid_bearer_token(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    accept = command_path("labor_dispute", case["case_id"], "accept")
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic bWVkaWF0b3I6cHc="},
        {"Authorization": api["mediator"].token},
        {"Authorization": f"Bearer {api['mediator'].token}x"},
        {"Authorization": "Bearer cw_" + "a" * 5000},
    ):
        for method, path in (
            ("get", "/me"),
            ("get", "/cases"),
            ("get", f"/cases/{case['number']}"),
            ("post", collection("labor_dispute")),
            ("post", accept),
            ("get", "/reports/statistics"),
            ("get", "/verification"),
            ("get", "/orgs"),
        ):
            response = getattr(api.client, method)(path, headers=headers, json={} if method == "post" else None)
            _refused(api, response, 401, before, "unauthorized")
            assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_403_names_the_roles_that_may_run_the_action(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    body = _refused(
        api,
        api["negotiator"].post(command_path("labor_dispute", case["case_id"], "accept"), {}),
        403,
        before,
        "forbidden",
    )
    assert body["action"] == "accept"
    assert body["roles"] == sorted(CASE_TYPES["labor_dispute"].TABLE.actions["accept"].roles)
    assert "negotiator" in body["message"]
    for bad_body in ({}, {"employer": 5, "surprise": True}):  # the role is settled before the body is read
        refused = api["negotiator"].post(command_path("labor_dispute", case["case_id"], "record_session"), bad_body)
        assert _refused(api, refused, 403, before, "forbidden")["action"] == "record_session"
        _refused(api, api["negotiator"].post(collection("hardship"), bad_body), 403, before, "forbidden")
    opened = _refused(api, api["inspector"].post(collection("labor_dispute"), dispute()), 403, before, "forbidden")
    assert opened["roles"] == sorted(CASE_TYPES["labor_dispute"].TABLE.creating.roles)
    outside = _refused(
        api,
        api["mediator"].post(collection("labor_dispute"), dispute(org_unit="suzhou.wuzhong")),
        403,
        before,
        "forbidden",
    )
    assert "suzhou.wuzhong" in outside["message"]
    missing = _refused(
        api, api["mediator"].post(collection("labor_dispute"), dispute(org_unit="suzhou.gusu.nowhere")), 422, before
    )
    assert list(missing["fields"]) == ["org_unit"]


def test_404_for_unknown_cases_and_for_cases_in_another_unit(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    unknown = str(uuid.uuid4())
    for response in (
        api["mediator"].get(f"/cases/{unknown}"),
        api["mediator"].get("/cases/LD-2026-000999"),
        api["mediator"].get("/cases/not-a-case"),
        api["mediator"].post(command_path("labor_dispute", unknown, "accept"), {}),
        # another unit's case does not exist for the caller, whatever their role: 404, never 403
        api["wuzhong_mediator"].get(f"/cases/{case['case_id']}"),
        api["wuzhong_mediator"].post(command_path("labor_dispute", case["case_id"], "accept"), {}),
        api["wuzhong_admin"].post(command_path("labor_dispute", case["case_id"], "accept"), {}),
        api["shuangta_mediator"].post(command_path("labor_dispute", case["case_id"], "add_note"), {"text": "x"}),
        # a dispute is not a negotiation
        api["supervisor"].post(command_path("wage_negotiation", case["case_id"], "add_note"), {"text": "x"}),
        # by number as by id: a number of another kind, out of scope, unknown, or not a number at all
        api["supervisor"].post(command_path("wage_negotiation", case["number"], "add_note"), {"text": "x"}),
        api["wuzhong_mediator"].post(command_path("labor_dispute", case["number"], "accept"), {}),
        api["mediator"].post(command_path("labor_dispute", "LD-2026-000999", "accept"), {}),
        api["mediator"].post(command_path("labor_dispute", "not-a-case", "accept"), {}),
        api["mediator"].post(command_path("labor_dispute", case["number"].lower(), "accept"), {}),
    ):
        _refused(api, response, 404, before, "not_found")
    check_error(api["mediator"].get("/no-such-route"), 404)
    not_allowed = api["mediator"].get(command_path("labor_dispute", case["case_id"], "accept"))
    check_error(not_allowed, 405)
    allowed = {m.strip() for m in not_allowed.headers.get("Allow", "").split(",")}  # RFC 9110 15.5.6
    assert "POST" in allowed and "GET" not in allowed
    read_only = api["mediator"].post(f"/cases/{case['number']}", {})
    check_error(read_only, 405)
    assert "GET" in {m.strip() for m in read_only.headers.get("Allow", "").split(",")}
    assert read_only.is_json and read_only.headers["Content-Type"].startswith("application/json")


def test_what_the_engine_cannot_find_is_a_404_by_its_type_not_its_code() -> None:
    class NoSuchDocument(NotFound):
        code = "no_such_document"

    class Misnamed(DomainError):
        code = "not_found"  # a code alone does not make a 404

    missing = [
        CaseNotFound("LD-2026-000999"),
        NoSuchVersion("LD-2026-000001", 9, 3),
        AccountNotFound("no user 'x'"),
        CampaignNotFound(uuid.uuid4()),
        NoSuchDocument("no document 7"),
    ]
    with Flask(__name__).test_request_context():
        for error in missing:
            body = from_domain_error(error).get_json()
            assert (body["status"], body["code"], body["message"]) == (404, "not_found", str(error))
        assert from_domain_error(Misnamed("nothing")).status_code == 409


def test_409_for_an_action_not_allowed_in_the_stage_names_the_stage_and_allowed_actions(
    api: ApiWorld, case: dict[str, Any]
) -> None:
    before = count_rows(api.cw)
    for who in ("mediator", "supervisor"):
        body = _refused(
            api,
            api[who].post(command_path("labor_dispute", case["case_id"], "confirm_performance"), {}),
            409,
            before,
            "action_not_allowed",
        )
        assert body["stage"] == "filed" and body["action"] == "confirm_performance"
        assert body["allowed_actions"] == api[who].get(f"/cases/{case['case_id']}").get_json()["allowed_actions"]
        assert "accept" in body["allowed_actions"]
    done = api["mediator"].post(command_path("labor_dispute", case["case_id"], "decline"), {"reason": "不属于受理范围"})
    assert done.status_code == 200
    after = count_rows(api.cw)
    body = _refused(
        api,
        api["mediator"].post(command_path("labor_dispute", case["case_id"], "add_note"), {"text": "x"}),
        409,
        after,
        "action_not_allowed",
    )
    assert (body["stage"], body["allowed_actions"]) == ("declined", [])


def test_409_for_a_second_open_hardship_case_for_one_person_in_any_unit(api: ApiWorld) -> None:
    first = api["caseworker"].post(collection("hardship"), hardship(1))
    assert first.status_code == 201
    before = count_rows(api.cw)
    for who, unit in (("caseworker", "suzhou.gusu"), ("city_supervisor", "suzhou.wuzhong")):
        body = _refused(
            api, api[who].post(collection("hardship"), hardship(1, org_unit=unit)), 409, before, "duplicate_person"
        )
        assert body["existing_case"] == first.get_json()["number"]
    assert api["caseworker"].post(collection("hardship"), hardship(2)).status_code == 201


def test_a_link_to_a_case_out_of_sight_is_refused_without_revealing_it(api: ApiWorld, case: dict[str, Any]) -> None:
    hidden = api["wuzhong_mediator"].post(collection("labor_dispute"), dispute()).get_json()
    before = count_rows(api.cw)
    link = command_path("labor_dispute", case["case_id"], "link_case")
    answers = [
        _refused(api, api["mediator"].post(link, {"case": ref, "relation": "related"}), 422, before)
        for ref in (hidden["number"], hidden["case_id"], "LD-2026-999999")
    ]
    assert all(list(a["fields"]) == ["case"] for a in answers)
    assert answers[0]["fields"] == answers[2]["fields"]  # out of sight reads exactly like no such case


def test_422_names_every_bad_field(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    med = api["mediator"]
    bad = {
        "employer": {"name": 5, "colour": "red"},
        "applicants": [{"name": ""}, {"id_number": "x" * 41}],
        "workers_involved": "twelve",
        "claims": [{"category": "wages", "amount": "-5"}, {"amount": 3.14159}],
        "summary": ["not", "text"],
        "extra": True,
        "occurred_at": "yesterday",
    }
    body = _refused(api, med.post(collection("labor_dispute"), bad), 422, before, "invalid_request")
    assert set(body["fields"]) == {
        "employer.name",
        "employer.colour",
        "applicants[0].name",
        "applicants[1].name",
        "applicants[1].id_number",
        "workers_involved",
        "claims[0].amount",
        "claims[1].category",
        "claims[1].amount",
        "summary",
        "extra",
        "occurred_at",
    }
    for field, problem in body["fields"].items():
        assert field in body["message"] and problem
    missing = _refused(api, med.post(collection("labor_dispute"), {}), 422, before, "invalid_request")
    assert set(missing["fields"]) == {"employer", "applicants", "workers_involved", "claims"}

    # past the schema, the case type's own rules name their fields the same way
    domain = _refused(
        api,
        med.post(
            collection("labor_dispute"), dispute(claims=[{"category": "bonus", "amount": "100"}], workers_involved=0)
        ),
        422,
        before,
        "invalid_command",
    )
    assert set(domain["fields"]) == {"claims[0].category", "workers_involved"}
    reason = _refused(api, med.post(command_path("labor_dispute", case["case_id"], "decline"), {}), 422, before)
    assert list(reason["fields"]) == ["reason"]
    future = _refused(
        api,
        med.post(
            command_path("labor_dispute", case["case_id"], "accept"), {"occurred_at": "2030-01-01T09:00:00+08:00"}
        ),
        422,
        before,
    )
    assert list(future["fields"]) == ["occurred_at"]
    for headers, field in (
        ({"If-Match": "soon"}, "If-Match"),
        ({"Idempotency-Key": "x" * 121}, "Idempotency-Key"),
        ({"Idempotency-Key": " "}, "Idempotency-Key"),
        ({"If-Match": '"1'}, "If-Match"),
        ({"If-Match": '1"'}, "If-Match"),
        ({"If-Match": 'W/"1'}, "If-Match"),
    ):
        body = _refused(
            api,
            med.post(command_path("labor_dispute", case["case_id"], "accept"), {}, headers=headers),
            400,
            before,
            "bad_request",
        )
        assert list(body["fields"]) == [field]


def test_a_422_names_at_most_50_bad_fields_and_counts_the_rest(api: ApiWorld, case: dict[str, Any]) -> None:
    """A body with 100,000 unknown keys got a 5 MB answer naming every one of them."""
    before = count_rows(api.cw)
    unknown = {f"k{n}": n for n in range(100_000)}
    note = command_path("labor_dispute", case["case_id"], "add_note")
    response = api["mediator"].post(note, {"text": "x", **unknown})
    body = _refused(api, response, 422, before, "invalid_request")
    assert len(response.get_data()) < 20_000
    assert len(body["fields"]) == MAX_FIELD_ERRORS and set(body["fields"]) <= set(unknown)
    assert body["fields_omitted"] == 100_000 - MAX_FIELD_ERRORS
    assert f"and {100_000 - MAX_FIELD_ERRORS} more bad fields" in body["message"]
    spec = api.client.get("/openapi.json").get_json()
    assert set(body) <= set(spec["components"]["schemas"]["Error"]["properties"])  # every key is documented
    few = _refused(api, api["mediator"].post(collection("labor_dispute"), {"extra": 1}), 422, before)
    assert "fields_omitted" not in few and "more bad fields" not in few["message"]


def test_400_for_malformed_json_and_a_missing_body_is_an_empty_command(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    med = api["mediator"]
    note = command_path("labor_dispute", case["case_id"], "add_note")
    for raw in ('{"text": "x"', "{'text': 'x'}", '{"text": "x",}', "not json", b"\xff\xfe\x00", '{"text": "x"} []'):
        _refused(api, med.post(note, data=raw, content_type="application/json"), 400, before)
    for raw in ("[]", '"text"', "null", "42"):
        body = _refused(api, med.post(note, data=raw, content_type="application/json"), 422, before)
        assert list(body["fields"]) == ["body"]
    body = _refused(api, med.post(note), 422, before)  # no body at all: the required text is missing
    assert list(body["fields"]) == ["text"]
    accepted = med.post(command_path("labor_dispute", case["case_id"], "accept"))  # accept needs no body
    assert accepted.status_code == 200 and accepted.get_json()["stage"] == "accepted"


HOSTILE_BODIES: list[tuple[str, str | bytes]] = [
    ("huge text", '{"text": "' + "字" * 50_000 + '"}'),
    ("NUL", '{"text": "a\\u0000b"}'),
    ("control characters", '{"text": "a\\u0007\\u001b[31mb"}'),
    ("lone surrogate", '{"text": "\\ud800"}'),
    ("lone low surrogate", '{"text": "x\\udfffy"}'),
    ("surrogate in an unknown key", '{"text": "x", "\\ud800": 1}'),
    ("deep nesting", '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("a 5000-digit number", '{"text": ' + "9" * 5000 + "}"),
    ("NaN", '{"text": NaN}'),
    ("duplicate keys", '{"text": "x", "text": 1}'),
    ("over 2 MB", '{"text": "' + "x" * (2 * 1024 * 1024 + 1) + '"}'),
    ("latin-1 bytes", b'{"text": "caf\xe9"}'),
]


@pytest.mark.parametrize("label", [label for label, _ in HOSTILE_BODIES])
def test_hostile_bodies_are_refused_cleanly_and_leave_nothing_behind(
    api: ApiWorld, case: dict[str, Any], label: str
) -> None:
    raw = dict(HOSTILE_BODIES)[label]
    before = count_rows(api.cw)
    for path in (command_path("labor_dispute", case["case_id"], "add_note"), collection("labor_dispute")):
        response = api["mediator"].post(path, data=raw, content_type="application/json")
        assert 400 <= response.status_code < 500, (label, path, response.status_code, response.get_data()[:300])
        check_error(response, response.status_code)
        assert count_rows(api.cw) == before
    assert api["mediator"].get(f"/cases/{case['case_id']}").get_json()["version"] == 1


def test_unicode_is_kept_exactly_and_odd_paths_are_404(api: ApiWorld, case: dict[str, Any]) -> None:
    text = "调解员记录：双方同意 😀 \U0010fffd ﷽ ｆｕｌｌｗｉｄｔｈ e\u0301"
    response = api["mediator"].post(command_path("labor_dispute", case["case_id"], "add_note"), {"text": text})
    assert response.status_code == 200 and response.get_json()["notes"][0]["text"] == text
    history = api["mediator"].get(f"/cases/{case['number']}/history").get_json()
    assert history["events"][-1]["data"]["text"] == text
    before = count_rows(api.cw)
    for ref in (
        "LD-2026-%00",
        "LD-%00",
        "%00",
        "LD-2026-000001%00",
        "%ED%A0%80",
        "LD-2026-" + "9" * 80,
        "x" * 3000,
        "LD-2026-000001'%20or%20'1'='1",
        "..%2F..%2Fetc",
    ):
        for suffix in ("", "/history", "/as-of?version=1", "/verification", "/dossier.csv"):
            response = api["supervisor"].get(f"/cases/{ref}{suffix}")
            assert response.status_code == 404, (ref, suffix, response.status_code)
            check_error(response, 404)
    assert count_rows(api.cw) == before


def test_absurd_dates_are_refused_up_front_never_a_5xx_later(api: ApiWorld, case: dict[str, Any]) -> None:
    """A day at the calendar's end is refused when given, not when a later command moves the clock past it."""
    sup: Caller = api["supervisor"]
    extend = command_path("labor_dispute", case["case_id"], "extend_clock")
    before = count_rows(api.cw)
    for far in ("9999-12-31", "3000-01-01", "0001-01-01", "1899-12-31"):
        body = _refused(api, sup.post(extend, {"clock": "acceptance", "due_on": far, "reason": "延期"}), 422, before)
        assert list(body["fields"]) == ["due_on"]
    opened = api["inspector"].post(
        collection("rectification_proposal"),
        rectification(
            api.clock.now().date(),
            items=[
                {
                    "category": "wages",
                    "description": "欠薪",
                    "legal_basis": "劳动合同法第三十条",
                    "deadline": "9999-12-31",
                }
            ],
        ),
    )
    assert list(check_error(opened, 422)["fields"]) == ["items[0].deadline"]
    assert count_rows(api.cw) == before

    latest = sup.post(extend, {"clock": "acceptance", "due_on": "2999-12-31", "reason": "延期"})
    assert latest.status_code == 200
    assert sup.post(extend, {"clock": "acceptance", "days": 366, "reason": "再延期"}).status_code == 200
    assert (
        sup.post(
            command_path("labor_dispute", case["case_id"], "pause_clock"),
            {"clock": "acceptance", "reason": "联系不上申请人"},
        ).status_code
        == 200
    )
    api.clock.advance(days=30)
    resumed = sup.post(command_path("labor_dispute", case["case_id"], "resume_clock"), {"clock": "acceptance"})
    assert resumed.status_code == 200
    acceptance = {c["name"]: c for c in resumed.get_json()["clocks"]}["acceptance"]
    # Extended to Thu 3001-01-01 (2999-12-31 + 366 days), then moved by the working days paused: the acceptance
    # clock counts working days, and Tue 3 March to Wed 1 April 2026 hold 22 (no holiday in them). 22 weekdays
    # after Thu 3001-01-01, a year no calendar is published for, is Mon 3001-02-02; the clock says so.
    assert date(2999, 12, 31) + timedelta(days=366) == date(3001, 1, 1)
    assert acceptance["due_on"] == "3001-02-02"
    assert acceptance["calendar"] == "weekends_only"
    check_error(sup.get("/cases?due_before=99999-01-01"), 422)
    assert sup.get("/cases?due_before=9999-12-31").status_code == 200
