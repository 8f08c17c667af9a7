"""Reading cases over HTTP: one case with its clocks, links, version and allowed actions; the search with
every filter, sort and pages; and the org-unit scope that hides other units' cases."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from engine.registry import CASE_TYPES
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, dispute, etag, hardship, offer


def _open(api: ApiWorld, who: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    response = api[who].post(collection(kind), body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _run(api: ApiWorld, who: str, case: dict[str, Any], action: str, /, **body: Any) -> dict[str, Any]:
    response = api[who].post(command_path(case["kind"], case["case_id"], action), body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _seed(api: ApiWorld) -> dict[str, dict[str, Any]]:
    """Cases in gusu, shuangta (below gusu) and wuzhong (beside it), of several kinds, stages and clocks."""
    cases = {
        "collective": _open(api, "mediator", "labor_dispute", dispute(employer={"name": "甲精密机械有限公司"})),
        "single": _open(
            api, "mediator", "labor_dispute", dispute(employer={"name": "乙纺织有限公司"}, workers_involved=1)
        ),
        "offer": _open(api, "negotiator", "wage_negotiation", offer(enterprise={"name": "丁电子有限公司"})),
        "hardship": _open(api, "caseworker", "hardship", hardship(1)),
        "shuangta": _open(
            api, "shuangta_mediator", "labor_dispute", dispute(employer={"name": "丙服装有限公司"}, workers_involved=2)
        ),
        "wuzhong": _open(
            api, "wuzhong_mediator", "labor_dispute", dispute(employer={"name": "戊食品有限公司"}, workers_involved=3)
        ),
    }
    api.clock.advance(hours=1)
    cases["single"] = _run(api, "mediator", cases["single"], "accept")
    api.clock.advance(hours=1)
    cases["shuangta"] = _run(api, "supervisor", cases["shuangta"], "assign", assignee="shuangta-mediator")
    return cases


def _numbers(response: Any) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {row["number"] for row in response.get_json()["items"]}


def test_a_case_by_id_or_number_shows_state_clocks_links_version_and_the_callers_actions(api: ApiWorld) -> None:
    cases = _seed(api)
    single, collective = cases["single"], cases["collective"]
    linked = _run(api, "mediator", single, "link_case", case=collective["number"], relation="same_employer")

    by_id = api["mediator"].get(f"/cases/{single['case_id']}")
    by_number = api["mediator"].get(f"/cases/{single['number']}")
    assert by_id.status_code == by_number.status_code == 200
    body = by_id.get_json()
    assert body == by_number.get_json()
    assert body["version"] == linked["version"] == 3 and by_id.headers["ETag"] == etag(3)
    assert (body["kind"], body["stage"], body["org_unit"]) == ("labor_dispute", "accepted", "suzhou.gusu")
    assert body["links"] == [
        {
            "case_id": collective["case_id"],
            "number": collective["number"],
            "kind": "labor_dispute",
            "relation": "same_employer",
        }
    ]
    mediation = {c["name"]: c for c in body["clocks"]}["mediation"]
    assert mediation["started_on"] == "2026-03-02" and mediation["due_on"] == "2026-03-17"
    assert mediation["overdue"] is False and mediation["paused_on"] is None

    table = CASE_TYPES["labor_dispute"].TABLE
    # Exactly what the engine would accept now: the mediation clock is running (not yet run out, nothing
    # paused, and extended only with extend_mediation), so deem_failed, resume_clock and extend_clock are not.
    refused_now = {"deem_failed", "resume_clock", "extend_clock"}
    for who in ("mediator", "supervisor", "caseworker", "auditor", "city_supervisor"):
        seen = api[who].get(f"/cases/{single['number']}").get_json()
        expected = [a for a in table.allowed("accepted", api[who].role) if a not in refused_now]
        assert seen["allowed_actions"] == expected, who
    assert api["auditor"].get(f"/cases/{single['number']}").get_json()["allowed_actions"] == []
    assert "assign" in api["supervisor"].get(f"/cases/{single['number']}").get_json()["allowed_actions"]
    assert "assign" not in body["allowed_actions"]

    api.clock.advance(days=16)
    later = api["mediator"].get(f"/cases/{single['number']}").get_json()
    assert {c["name"]: c for c in later["clocks"]}["mediation"]["overdue"] is True
    assert "deem_failed" in api["supervisor"].get(f"/cases/{single['number']}").get_json()["allowed_actions"]


def test_the_case_list_filters_by_kind_stage_unit_assignee_flag_and_text(api: ApiWorld) -> None:
    cases = _seed(api)
    n = {label: case["number"] for label, case in cases.items()}
    sup = api["city_supervisor"]

    def search(query: str) -> set[str]:
        return _numbers(sup.get(f"/cases?{query}"))

    assert search("") == set(n.values())
    assert search("kind=labor_dispute") == {n["collective"], n["single"], n["shuangta"], n["wuzhong"]}
    assert search("kind=hardship") == {n["hardship"]}
    assert search("stage=accepted") == {n["single"]}
    assert search("kind=labor_dispute&stage=filed") == {n["collective"], n["shuangta"], n["wuzhong"]}
    assert search("org_unit=suzhou.gusu") == set(n.values()) - {n["wuzhong"]}
    assert search("org_unit=suzhou.gusu.shuangta") == {n["shuangta"]}
    assert search("org_unit=suzhou.wuzhong") == {n["wuzhong"]}
    assert search("assignee=shuangta-mediator") == {n["shuangta"]}
    assert search("flag=collective") == {n["collective"]}
    assert search("flag=deep") == {n["hardship"]}
    assert search("is_open=true") == set(n.values())
    assert search("is_open=false") == set()
    assert search("q=丙服装") == {n["shuangta"]}
    assert search("q=有限公司&kind=wage_negotiation") == {n["offer"]}
    assert search(f"q={n['wuzhong']}") == {n["wuzhong"]}
    assert search("q=LD-2026") == {n["collective"], n["single"], n["shuangta"], n["wuzhong"]}
    assert search("q=王建国") == set()  # applicants' names are personal data: never in the case index
    assert search("q=%25") == set()  # a LIKE wildcard is matched literally


def test_the_case_list_finds_overdue_cases_and_cases_due_before_a_day(api: ApiWorld) -> None:
    cases = _seed(api)
    n = {label: case["number"] for label, case in cases.items()}
    sup = api["city_supervisor"]
    filed = {n["collective"], n["shuangta"], n["wuzhong"]}  # their 3-working-day acceptance clocks run first
    assert _numbers(sup.get("/cases?overdue=true")) == set()
    acceptance_due = {c["name"]: c["due_on"] for c in cases["collective"]["clocks"]}["acceptance"]
    assert _numbers(sup.get(f"/cases?due_before={acceptance_due}")) == filed
    day_before = (date.fromisoformat(acceptance_due) - timedelta(days=1)).isoformat()
    assert _numbers(sup.get(f"/cases?due_before={day_before}")) == set()

    api.clock.advance(days=4)
    overdue = _numbers(sup.get("/cases?overdue=true"))
    assert overdue == filed
    for number in n.values():  # the list agrees with each case's own clocks
        clocks = sup.get(f"/cases/{number}").get_json()["clocks"]
        assert any(c["overdue"] for c in clocks) == (number in overdue), number
    assert _numbers(sup.get("/cases?overdue=true&org_unit=suzhou.gusu")) == filed - {n["wuzhong"]}
    assert _numbers(sup.get("/cases?overdue=false")) == set(n.values())  # false means "no filter"


def test_the_case_list_sorts_and_pages(api: ApiWorld) -> None:
    cases = _seed(api)
    sup = api["city_supervisor"]
    everything = sorted(case["number"] for case in cases.values())

    ascending = sup.get("/cases?sort=number&per_page=200").get_json()
    assert [row["number"] for row in ascending["items"]] == everything
    descending = sup.get("/cases?sort=-number").get_json()
    assert [row["number"] for row in descending["items"]] == everything[::-1]
    by_update = [row["number"] for row in sup.get("/cases?sort=-updated_at").get_json()["items"]]
    assert by_update[:2] == [cases["shuangta"]["number"], cases["single"]["number"]]  # the two changed last

    seen: list[str] = []
    for page in (1, 2, 3):
        body = sup.get(f"/cases?sort=number&per_page=4&page={page}").get_json()
        assert (body["page"], body["per_page"], body["total"], body["pages"]) == (page, 4, len(everything), 2)
        seen += [row["number"] for row in body["items"]]
    assert seen == everything  # page 3 is empty; nothing repeated or skipped

    row = next(r for r in ascending["items"] if r["number"] == cases["single"]["number"])
    assert row["version"] == 2 and row["stage"] == "accepted" and row["org_unit"] == "suzhou.gusu"
    assert [c["name"] for c in row["clocks"]] == ["mediation"] and row["parties"] == "乙纺织有限公司"


def test_bad_list_queries_are_422_naming_the_parameter(api: ApiWorld) -> None:
    for query in (
        "page=0",
        "per_page=0",
        "per_page=201",
        "sort=colour",
        "kind=parking",
        "overdue=maybe",
        "due_before=tomorrow",
        "q=" + "x" * 201,
        "flag=a%00b",
        "stge=filed",
    ):
        body = check_error(api["mediator"].get(f"/cases?{query}"), 422, "invalid_request")
        name = query.split("=")[0]
        assert body["fields"] and all(k.startswith(f"query.{name}") for k in body["fields"]), (query, body)


def test_a_user_never_sees_cases_outside_their_unit(api: ApiWorld) -> None:
    cases = _seed(api)
    n = {label: case["number"] for label, case in cases.items()}
    visible = {
        "mediator": set(n.values()) - {n["wuzhong"]},
        "auditor": set(n.values()) - {n["wuzhong"]},
        "shuangta_mediator": {n["shuangta"]},
        "wuzhong_mediator": {n["wuzhong"]},
        "city_supervisor": set(n.values()),
    }
    for who, expected in visible.items():
        assert _numbers(api[who].get("/cases?per_page=200")) == expected, who
        for case in cases.values():
            response = api[who].get(f"/cases/{case['number']}")
            by_id = api[who].get(f"/cases/{case['case_id']}")
            if case["number"] in expected:
                assert response.status_code == by_id.status_code == 200
            else:  # another unit's case does not exist for this caller: 404, not 403
                check_error(response, 404, "not_found")
                check_error(by_id, 404, "not_found")
    check_error(api["shuangta_mediator"].get("/cases?org_unit=suzhou.gusu"), 403, "forbidden")
    check_error(api["mediator"].get("/cases?org_unit=suzhou.wuzhong"), 403, "forbidden")
    check_error(api["mediator"].get("/cases?org_unit=suzhou.gusuX"), 403, "forbidden")  # not a descendant
