"""Offer campaigns over HTTP without a scheduler: every bad field named, who may start one and where, and the
503 that names the stored campaign (resumable later), on a real SQLite file and a real PostgreSQL schema.

No Prefect server here: PREFECT_API_URL is removed from the process for every test, so POST /campaigns
stores the campaign and answers 503 scheduler_unavailable. tests/workflows/test_campaign_api.py runs the
same routes against a Prefect test server.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import func, select

from api.app import create_app
from engine.campaigns import create_campaign, run_campaign
from engine.scheduler import RunState
from engine.service import Actor, Casework
from engine.tables import campaign_targets, campaigns
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, count_rows, offer
from tests.integration.scenarios import credit_code

DOCUMENT = "姑工要〔2026〕30号"


@pytest.fixture(autouse=True)
def _no_scheduler(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the shell has, these tests run as a deployment without a Prefect server."""
    monkeypatch.delenv("PREFECT_API_URL", raising=False)


def enterprises(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"苏州示例{i:02d}有限公司", "credit_code": credit_code(i, "91320500MA1X"), "employees": 50 + i}
        for i in range(1, n + 1)
    ]


def campaign(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "document_number": DOCUMENT,
        "issuing_union": "姑苏区总工会",
        "org_unit": "suzhou.gusu",
        "terms": {"wage_increase_pct": "5", "minimum_wage": "2490.00"},
        "enterprises": enterprises(3),
    }
    body.update(overrides)
    return body


def from_csv(text: str, **overrides: Any) -> dict[str, Any]:
    body = campaign(csv=text, **overrides)
    del body["enterprises"]
    return body


def stored(cw: Casework) -> dict[str, int]:
    """Rows of the campaign tables and of every table a command writes."""
    with cw.read_transaction() as session:
        found = {
            t.name: session.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (campaigns, campaign_targets)
        }
    return found | count_rows(cw)


def refused(api: ApiWorld, body: dict[str, Any], *, who: str = "negotiator", code: str | None = None) -> dict[str, Any]:
    """POST /campaigns is a 422 naming fields, and nothing at all was stored."""
    before = stored(api.cw)
    error = check_error(api[who].post("/campaigns", body), 422, code)
    assert isinstance(error.get("fields"), dict) and error["fields"], error
    assert stored(api.cw) == before
    return error


def unavailable(api: ApiWorld, body: dict[str, Any], who: str = "negotiator") -> str:
    """POST /campaigns without a scheduler: 503 naming the stored campaign; returns its id."""
    error = check_error(api[who].post("/campaigns", body), 503, "scheduler_unavailable")
    campaign_id = error["campaign_id"]
    uuid.UUID(campaign_id)
    assert campaign_id in error["message"] and "PREFECT_API_URL" in error["message"]
    assert f"POST /campaigns/{campaign_id}/start" in error["message"]
    documented = api.client.get("/openapi.json").get_json()["components"]["schemas"]["Error"]["properties"]
    assert set(error) <= set(documented)  # campaign_id included: the 503 is in the one documented error shape
    return campaign_id


# -- 422: every bad field named, nothing stored ------------------------------------------------------------


def test_a_missing_enterprise_name_is_named_by_its_place_in_the_list(api: ApiWorld) -> None:
    listed = enterprises(3)
    del listed[1]["name"]
    error = refused(api, campaign(enterprises=listed), code="invalid_request")
    assert list(error["fields"]) == ["enterprises[1].name"]

    listed = enterprises(3)
    listed[1]["name"] = "   "  # blank once stripped
    error = refused(api, campaign(enterprises=listed), code="invalid_request")
    assert list(error["fields"]) == ["enterprises[1].name"]


def test_the_same_enterprise_twice_is_named_with_the_row_it_repeats(api: ApiWorld) -> None:
    listed = enterprises(3)
    listed.append({"name": "另一个名字（分厂）", "credit_code": listed[0]["credit_code"].lower()})
    listed.append({"name": listed[1]["name"]})  # the same name under no code: another enterprise than a coded one
    listed.append({"name": "苏州无码公司"})
    listed.append({"name": "苏州无码公司"})
    error = refused(api, campaign(enterprises=listed), code="invalid_campaign")
    assert error["fields"] == {
        "enterprises[3]": "lists the same enterprise as enterprises[0]",
        "enterprises[6]": "lists the same enterprise as enterprises[5]",
    }


@pytest.mark.parametrize("which", ["both", "neither"])
def test_exactly_one_of_enterprises_and_csv(api: ApiWorld, which: str) -> None:
    body = campaign(csv="name\n苏州甲公司\n") if which == "both" else campaign()
    if which == "neither":
        del body["enterprises"]
    error = refused(api, body, code="invalid_request")
    assert error["fields"] == {"enterprises": "give either enterprises or csv"}


def test_an_empty_list_is_named(api: ApiWorld) -> None:
    assert refused(api, campaign(enterprises=[]))["fields"] == {"enterprises": "at least one enterprise is required"}


@pytest.mark.parametrize(
    ("terms", "named"),
    [
        ({"wage_increase_pct": "150"}, {"terms.wage_increase_pct"}),
        ({"wage_increase_pct": "-101", "minimum_wage": "0"}, {"terms.wage_increase_pct", "terms.minimum_wage"}),
        ({"wage_increase_pct": "five"}, {"terms.wage_increase_pct"}),
        ({"minimum_wage": "-2490"}, {"terms.minimum_wage"}),
        ({"wage_increase_pct": True}, {"terms.wage_increase_pct"}),
        ({"bonus": "1"}, {"terms.bonus"}),
    ],
)
def test_bad_terms_are_named(api: ApiWorld, terms: dict[str, Any], named: set[str]) -> None:
    error = refused(api, campaign(terms=terms))
    assert set(error["fields"]) == named, error


def test_the_range_of_the_terms_is_the_aggregates_own(api: ApiWorld) -> None:
    error = refused(api, campaign(terms={"wage_increase_pct": "150", "minimum_wage": "0"}), code="invalid_campaign")
    assert error["fields"] == {
        "terms.wage_increase_pct": "must be a percentage from -100 to 100",
        "terms.minimum_wage": "must be a positive amount in CNY",
    }


def test_an_unknown_field_is_named(api: ApiWorld) -> None:
    error = refused(api, campaign(deadline="2026-04-01"), code="invalid_request")
    assert list(error["fields"]) == ["deadline"]
    listed = enterprises(2)
    listed[1]["address"] = "姑苏区"
    error = refused(api, campaign(enterprises=listed), code="invalid_request")
    assert list(error["fields"]) == ["enterprises[1].address"]


def test_missing_required_fields_are_each_named(api: ApiWorld) -> None:
    error = refused(api, {"enterprises": enterprises(1)}, code="invalid_request")
    assert set(error["fields"]) == {"document_number", "issuing_union", "org_unit"}


def test_an_org_unit_that_does_not_exist_is_named(api: ApiWorld) -> None:
    error = refused(api, campaign(org_unit="suzhou.gusu.nowhere"))
    assert error["fields"] == {"org_unit": "no such org unit"}


def test_a_csv_without_a_name_column_or_with_a_bad_number_is_named(api: ApiWorld) -> None:
    error = refused(api, from_csv("公司,人数\n苏州甲公司,12\n"), code="invalid_campaign")
    assert list(error["fields"]) == ["csv"] and "企业名称" in error["fields"]["csv"]
    error = refused(api, from_csv("企业名称,职工人数\n苏州甲公司,12\n苏州乙公司,十二\n"), code="invalid_campaign")
    assert error["fields"] == {"line 3.employees": "'十二' is not a whole number"}


def test_every_bad_line_of_a_csv_and_an_unclosed_quote_are_named_by_the_texts_own_lines(api: ApiWorld) -> None:
    text = (
        "企业名称,统一社会信用代码,职工人数\n"
        f"苏州甲公司,{credit_code(1)},12\n"
        f",{credit_code(2)},5\n"
        f"苏州乙公司,{credit_code(3)},十二\n"
        f"苏州丙公司,{credit_code(1)},3\n"
        f'"苏州丁公司,{credit_code(4)},4\n'
        f"苏州戊公司,{credit_code(5)},5\n"
    )
    error = refused(api, from_csv(text), code="invalid_campaign")
    assert error["fields"] == {
        "line 3.name": "is required",
        "line 4.employees": "'十二' is not a whole number",
        "line 5": "lists the same enterprise as line 2",
        "line 6": "unclosed quote: the quoted cell opened on this line runs on to the end of the file "
        "(a cell may not hold a line break)",
    }


def test_a_second_campaign_with_the_same_document_number_is_named(api: ApiWorld) -> None:
    first = unavailable(api, campaign())
    error = refused(api, campaign(enterprises=enterprises(5)[3:]), who="supervisor", code="invalid_campaign")
    assert list(error["fields"]) == ["document_number"]
    assert first in error["fields"]["document_number"] and "resume that campaign" in error["fields"]["document_number"]


def test_a_document_number_a_single_offer_already_carries_is_named(api: ApiWorld) -> None:
    response = api["negotiator"].post("/negotiations", offer(document_number="姑工要〔2026〕31号"))
    assert response.status_code == 201, response.get_json()
    error = refused(api, campaign(document_number="姑工要〔2026〕31号"), code="invalid_campaign")
    assert list(error["fields"]) == ["document_number"] and "1 negotiation(s)" in error["fields"]["document_number"]


# -- who may start one, and where ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["mediator", "auditor", "inspector", "caseworker", "admin"])
def test_a_role_that_may_not_start_campaigns_gets_403_naming_the_roles_that_may(api: ApiWorld, who: str) -> None:
    before = stored(api.cw)
    error = check_error(api[who].post("/campaigns", campaign()), 403, "forbidden")
    assert error["roles"] == ["negotiator", "supervisor"] and f"'{who}'" in error["message"]
    assert stored(api.cw) == before


@pytest.mark.parametrize("org_unit", ["suzhou.wuzhong", "suzhou"])
def test_an_org_unit_outside_the_callers_unit_is_403(api: ApiWorld, org_unit: str) -> None:
    before = stored(api.cw)
    error = check_error(api["negotiator"].post("/campaigns", campaign(org_unit=org_unit)), 403, "forbidden")
    assert repr(org_unit) in error["message"] and "'suzhou.gusu'" in error["message"]
    assert stored(api.cw) == before


def test_without_a_token_it_is_401(api: ApiWorld) -> None:
    check_error(api.client.post("/campaigns", json=campaign()), 401, "unauthorized")
    check_error(api.client.get("/campaigns"), 401, "unauthorized")


# -- 503 without a scheduler: the campaign is stored and can be followed and resumed ---------------------------


def test_without_a_scheduler_the_campaign_is_stored_and_503_names_it(api: ApiWorld) -> None:
    before = stored(api.cw)
    campaign_id = unavailable(api, campaign(enterprises=enterprises(7), assignee="negotiator"))
    after = stored(api.cw)
    assert (after["campaigns"], after["campaign_targets"]) == (before["campaigns"] + 1, before["campaign_targets"] + 7)
    assert {k: after[k] for k in count_rows(api.cw)} == {k: before[k] for k in count_rows(api.cw)}  # nothing opened

    response = api["negotiator"].get(f"/campaigns/{campaign_id}")
    assert response.status_code == 200, response.get_json()
    found = response.get_json()
    assert found["campaign_id"] == campaign_id
    assert found["counts"] == {"total": 7, "opened": 0, "failed": 0, "pending": 7}
    assert (found["document_number"], found["issuing_union"], found["org_unit"]) == (
        DOCUMENT,
        "姑苏区总工会",
        "suzhou.gusu",
    )
    assert found["terms"] == {"wage_increase_pct": "5", "minimum_wage": "2490.00"}
    assert (found["created_by"], found["assignee"]) == ("negotiator", "negotiator")
    assert found["flow_run_id"] is None and found["run"] is None and found["finished_at"] is None
    assert found["failures"] == []

    listed = api["supervisor"].get("/campaigns")
    assert listed.status_code == 200
    [row] = [c for c in listed.get_json()["items"] if c["campaign_id"] == campaign_id]
    assert row["counts"] == found["counts"] and row["run"] is None

    # Starting it again without a scheduler: 503 again, still naming it, still all pending.
    error = check_error(api["supervisor"].post(f"/campaigns/{campaign_id}/start"), 503, "scheduler_unavailable")
    assert error["campaign_id"] == campaign_id and campaign_id in error["message"]
    assert api["auditor"].get(f"/campaigns/{campaign_id}").get_json()["counts"]["pending"] == 7
    check_error(api["mediator"].post(f"/campaigns/{campaign_id}/start"), 403, "forbidden")


def test_the_newest_campaign_is_listed_first(api: ApiWorld) -> None:
    first = unavailable(api, campaign())
    api.clock.advance(hours=1)
    second = unavailable(
        api, campaign(document_number="姑工要〔2026〕32号", org_unit="suzhou.gusu.shuangta"), who="supervisor"
    )
    items = api["negotiator"].get("/campaigns").get_json()["items"]
    assert [c["campaign_id"] for c in items] == [second, first]
    shuangta = api["shuangta_mediator"].get("/campaigns").get_json()["items"]
    assert [c["campaign_id"] for c in shuangta] == [second]  # a street sees its own, not its district's


def test_a_csv_with_chinese_headers(api: ApiWorld) -> None:
    text = (
        "\ufeff企业名称,统一社会信用代码,职工人数\n"
        "苏州甲精密机械有限公司,91320500MA1AAAAAAL,120\n"
        "\n"
        " 苏州乙电子有限公司 ,,\n"
        "苏州丙纺织有限公司,91320500MA1CCCCCCB,0\n"
    )
    campaign_id = unavailable(api, from_csv(text))
    assert api["negotiator"].get(f"/campaigns/{campaign_id}").get_json()["counts"] == {
        "total": 3,
        "opened": 0,
        "failed": 0,
        "pending": 3,
    }
    with api.cw.read_transaction() as session:
        rows = session.execute(
            select(campaign_targets.c.seq, campaign_targets.c.enterprise)
            .where(campaign_targets.c.campaign_id == uuid.UUID(campaign_id))
            .order_by(campaign_targets.c.seq)
        ).all()
    assert [(r.seq, json.loads(r.enterprise)) for r in rows] == [
        (1, {"name": "苏州甲精密机械有限公司", "credit_code": "91320500MA1AAAAAAL", "employees": 120}),
        (2, {"name": "苏州乙电子有限公司", "credit_code": "", "employees": None}),
        (3, {"name": "苏州丙纺织有限公司", "credit_code": "91320500MA1CCCCCCB", "employees": 0}),
    ]


# -- 404: another unit's campaign is not there -----------------------------------------------------------------


def test_another_units_campaign_and_an_unknown_id_are_404(api: ApiWorld) -> None:
    other = create_campaign(
        api.cw,
        Actor("wuzhong-negotiator", "negotiator"),
        document_number="吴工要〔2026〕1号",
        issuing_union="吴中区总工会",
        org_unit="suzhou.wuzhong",
        enterprises=enterprises(2),
    )
    other_id = str(other.campaign_id)
    for who in ("negotiator", "supervisor", "shuangta_mediator"):
        check_error(api[who].get(f"/campaigns/{other_id}"), 404, "not_found")
        assert other_id not in [c["campaign_id"] for c in api[who].get("/campaigns").get_json()["items"]]
    check_error(api["supervisor"].post(f"/campaigns/{other_id}/start"), 404, "not_found")
    # Those above see it: the city, and wuzhong itself.
    for who in ("city_supervisor", "wuzhong_mediator"):
        response = api[who].get(f"/campaigns/{other_id}")
        assert response.status_code == 200 and response.get_json()["counts"]["pending"] == 2
        assert other_id in [c["campaign_id"] for c in api[who].get("/campaigns").get_json()["items"]]

    for unknown in (str(uuid.uuid4()), "not-a-campaign"):
        check_error(api["supervisor"].get(f"/campaigns/{unknown}"), 404, "not_found")
        check_error(api["supervisor"].post(f"/campaigns/{unknown}/start"), 404, "not_found")


# -- the scheduler is the app's, given to it -------------------------------------------------------------------


class HereScheduler:
    """A scheduler that runs a campaign at once, in this process, through the engine (as `casework campaign start
    --here` does), and remembers how each of its runs ended."""

    def __init__(self, cw: Casework) -> None:
        self.cw = cw
        self.runs: dict[str, RunState] = {}

    def start_campaign_run(self, campaign_id: uuid.UUID) -> str:
        run_id = f"here-{len(self.runs) + 1}"
        _, totals = run_campaign(self.cw, campaign_id)
        self.runs[run_id] = {"state": "completed", "state_name": "Completed", "message": f"{totals['opened']} opened"}
        return run_id

    def run_state(self, run_id: str) -> RunState:
        return self.runs[run_id]


def test_the_app_starts_campaign_runs_with_the_scheduler_it_is_given(api: ApiWorld) -> None:
    scheduler = HereScheduler(api.cw)
    negotiator = replace(api["negotiator"], client=create_app(api.cw, scheduler).test_client())
    response = negotiator.post("/campaigns", campaign(enterprises=enterprises(4)))
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    assert started["flow_run_id"] == "here-1" and list(scheduler.runs) == ["here-1"]

    found = negotiator.get(f"/campaigns/{started['campaign_id']}").get_json()
    assert found["counts"] == {"total": 4, "opened": 4, "failed": 0, "pending": 0}
    assert found["flow_run_id"] == "here-1"
    assert found["run"] == {"state": "completed", "state_name": "Completed", "message": "4 opened"}


def test_an_app_given_no_scheduler_stores_the_campaign_and_503_says_there_is_none(api: ApiWorld) -> None:
    negotiator = replace(api["negotiator"], client=create_app(api.cw).test_client())
    error = check_error(negotiator.post("/campaigns", campaign()), 503, "scheduler_unavailable")
    assert "no scheduler is configured" in error["message"] and error["campaign_id"] in error["message"]
    found = negotiator.get(f"/campaigns/{error['campaign_id']}").get_json()
    assert found["counts"]["pending"] == 3 and found["flow_run_id"] is None and found["run"] is None


def test_a_campaign_takes_the_enterprises_and_terms_an_offer_takes(api: ApiWorld) -> None:
    """The campaign kept its own copies of the offer's schemas, and they disagreed: its terms' `other` was limited
    to 2000 characters (an offer's to 4000) and it took employees as "120", which an offer refuses."""
    enterprise = {"name": "苏州示例电子有限公司", "credit_code": "9132 0500 MA1X XXXX XC", "employees": None}
    terms = {"wage_increase_pct": "-1.5", "other": "带薪年休假" * 600}
    assert api["negotiator"].post("/negotiations", offer(enterprise=enterprise, terms=terms)).status_code == 201
    check_error(
        api["negotiator"].post("/campaigns", campaign(enterprises=[enterprise], terms=terms)),
        503,
        "scheduler_unavailable",
    )  # stored: the body was accepted
    texts = {**enterprise, "employees": "120"}
    offered = check_error(api["negotiator"].post("/negotiations", offer(enterprise=texts)), 422)
    assert list(offered["fields"]) == ["enterprise.employees"]
    error = refused(api, campaign(document_number="姑工要〔2026〕31号", enterprises=[texts]))
    assert list(error["fields"]) == ["enterprises[0].employees"]
