"""Statistics over HTTP: the figures for an org unit and every unit below it over a period, as JSON and
CSV, match what was done through the command routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.reports import SECTIONS
from engine.service import Actor
from engine.sweeps import LEGAL, run_sweep
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, csv_rows, dispute, hardship, offer

SYSTEM = Actor("system", "system")


class Done:
    """Runs commands and remembers what the report should count."""

    def __init__(self, api: ApiWorld) -> None:
        self.api = api
        self.accepted: list[tuple[str, str, int]] = []  # (org unit, month, workers)

    def open(self, who: str, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api[who].post(collection(kind), body)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def run(self, who: str, case: dict[str, Any], action: str, /, **body: Any) -> dict[str, Any]:
        response = self.api[who].post(command_path(case["kind"], case["case_id"], action), body)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def accept(self, who: str, workers: int) -> dict[str, Any]:
        case = self.open(who, "labor_dispute", dispute(workers_involved=workers))
        self.run(who, case, "accept")
        self.accepted.append((case["org_unit"], self.api.clock.now().strftime("%Y-%m"), workers))
        return case

    def disputes(self, under: str, month: str | None = None) -> list[int]:
        return [
            w for unit, m, w in self.accepted if (unit == under or unit.startswith(under + ".")) and month in (None, m)
        ]


def _year(api: ApiWorld) -> Done:
    """Disputes in gusu, shuangta and wuzhong in March and April; an offer to two enterprises; aid paid."""
    done = Done(api)
    mediated = done.accept("mediator", 12)
    done.accept("mediator", 2)
    done.accept("shuangta_mediator", 3)
    done.accept("wuzhong_mediator", 5)
    done.open("mediator", "labor_dispute", dispute())  # filed, never accepted
    mediated = done.run("mediator", mediated, "start_mediation", mediator="mediator")
    done.run(
        "mediator",
        mediated,
        "reach_agreement",
        terms="分期支付",
        performance_due=(api.clock.now().date() + timedelta(days=10)).isoformat(),
    )
    first = done.open("negotiator", "wage_negotiation", offer())
    done.open("negotiator", "wage_negotiation", offer(enterprise={"name": "第二家企业", "employees": 80}))
    done.run("negotiator", first, "accept_offer")
    h = done.open("caseworker", "hardship", hardship(1))
    h = done.run("caseworker", h, "verify", visited_on=api.clock.now().date().isoformat(), findings="属实")
    h = done.run("supervisor", h, "approve")
    done.run("caseworker", h, "disburse", aid_type="living", amount="1000.50", fund="帮扶资金", period="2026")
    done.run("caseworker", h, "disburse", aid_type="living", amount="200", fund="帮扶资金", period="2026-03")
    api.clock.advance(days=31)  # into April
    done.accept("mediator", 1)
    done.accept("wuzhong_mediator", 40)
    return done


def test_statistics_for_a_unit_and_its_descendants_over_a_period_match_what_was_done(api: ApiWorld) -> None:
    done = _year(api)
    march = "from=2026-03-01&to=2026-03-31"
    response = api["supervisor"].get(f"/reports/statistics?{march}")
    assert response.status_code == 200
    report = response.get_json()
    gusu_march = done.disputes("suzhou.gusu", "2026-03")
    assert (report["org_unit"], report["from"], report["to"]) == ("suzhou.gusu", "2026-03-01", "2026-03-31")
    f = report["figures"]
    assert int(f["disputes_accepted"]) == len(gusu_march) == 3
    assert int(f["dispute_workers_involved"]) == sum(gusu_march)
    assert int(f["collective_disputes_accepted"]) == sum(1 for w in gusu_march if w >= 10)
    assert int(f["disputes_filed"]) == len(gusu_march) + 1 and f["disputes_mediated"] == "1"
    assert (f["offers_written"], f["enterprises_covered"], f["offers_answered"]) == ("1", "2", "1")
    assert (f["hardship_applications"], f["hardship_registered"], f["hardship_registered_deep"]) == ("1", "1", "1")
    assert f["disbursements"] == "2" and f["disbursed_amount_living"] == "1200.50"
    assert report["rates"] == {"answer_rate": "50.0", "mediation_success_rate": "33.3"}
    assert list(f) == [metric for metrics in SECTIONS.values() for metric, _, _ in metrics]

    april = api["supervisor"].get("/reports/statistics?from=2026-04-01&to=2026-04-30").get_json()["figures"]
    assert int(april["disputes_accepted"]) == len(done.disputes("suzhou.gusu", "2026-04")) == 1
    assert april["offers_written"] == "0"
    whole = api["supervisor"].get("/reports/statistics").get_json()["figures"]
    assert int(whole["disputes_accepted"]) == len(done.disputes("suzhou.gusu")) == 4

    shuangta = api["supervisor"].get(f"/reports/statistics?org_unit=suzhou.gusu.shuangta&{march}").get_json()
    assert int(shuangta["figures"]["disputes_accepted"]) == len(done.disputes("suzhou.gusu.shuangta")) == 1
    city = api["city_supervisor"].get(f"/reports/statistics?org_unit=suzhou&{march}&by_org=2").get_json()
    assert int(city["figures"]["disputes_accepted"]) == len(done.disputes("suzhou", "2026-03")) == 4
    assert int(city["by_org"]["suzhou.wuzhong"]["disputes_accepted"]) == len(done.disputes("suzhou.wuzhong", "2026-03"))
    assert int(city["by_org"]["suzhou.gusu"]["disputes_accepted"]) == len(gusu_march)
    by_street = api["supervisor"].get(f"/reports/statistics?{march}&by_org=3").get_json()["by_org"]
    assert set(by_street) == {"suzhou.gusu", "suzhou.gusu.shuangta"}
    assert by_street["suzhou.gusu.shuangta"]["disputes_accepted"] == "1"


def test_an_enterprise_that_agreed_to_rectify_and_was_then_referred_counts_in_both_figures(api: ApiWorld) -> None:
    """Three enterprises refuse the offer and the acting offer, are sent rectification proposals and agree to
    rectify; two rectify, one misses its item's deadline and the legal sweep refers it. As the unions count:
    3 proposals, 3 agreed to rectify, 1 referred, in the negotiation's figures and the proposals' alike."""
    done = Done(api)
    proposals = []
    for name in ("甲电子有限公司", "乙纺织有限公司", "丙食品有限公司"):
        n = done.open("negotiator", "wage_negotiation", offer(enterprise={"name": name, "employees": 50}))
        done.run("negotiator", n, "refuse_offer", reason="拒绝协商")
        done.run("supervisor", n, "escalate_to_acting_offer", acting_union="苏州市总工会", reason="拒绝应约")
        done.run("negotiator", n, "refuse_offer", reason="仍拒绝协商")
        due = (api.clock.now().date() + timedelta(days=30)).isoformat()
        n = done.run(
            "supervisor",
            n,
            "issue_rectification",
            reason="拒不应约",
            items=[
                {
                    "category": "collective_contract",
                    "description": "拒不应约",
                    "legal_basis": "集体合同规定第三十二条",
                    "deadline": due,
                }
            ],
        )
        [link] = [x for x in n["links"] if x["relation"] == "rectification"]
        proposal = api["inspector"].get(f"/cases/{link['case_id']}").get_json()
        proposals.append((n, done.run("inspector", proposal, "accept_plan", plan="三十日内应约协商")))
    for _, proposal in proposals[:2]:
        done.run("inspector", proposal, "verify_item", item_no=1, result="passed")
    api.clock.advance(days=31)  # the third enterprise's item is overdue
    assert [(o.status, o.linked) for o in run_sweep(api.cw, LEGAL, SYSTEM).outcomes] == [
        ("applied", [proposals[2][0]["number"]])
    ]
    referred = api["supervisor"].get(f"/cases/{proposals[2][0]['case_id']}").get_json()
    assert referred["stage"] == "referred_to_inspectorate"

    f = api["supervisor"].get("/reports/statistics").get_json()["figures"]
    assert (f["rectification_proposals"], f["agreed_to_rectify"], f["negotiations_referred"]) == ("3", "3", "1")
    assert (
        f["rectifications_issued"],
        f["rectifications_accepted"],
        f["rectifications_completed"],
        f["rectifications_referred"],
    ) == ("3", "3", "2", "1")


def test_the_csv_report_has_the_same_figures_as_the_json(api: ApiWorld) -> None:
    _year(api)
    query = "org_unit=suzhou&from=2026-03-01&to=2026-04-30&by_org=2"
    data = api["city_supervisor"].get(f"/reports/statistics?{query}").get_json()
    response = api["city_supervisor"].get(f"/reports/statistics?{query}&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = csv_rows(response)
    assert rows[0] == ["section", "metric", "label_zh", "label_en", "total", "suzhou.gusu", "suzhou.wuzhong"]
    by_metric = {r[1]: r for r in rows[1:]}
    assert list(by_metric) == list(data["figures"])
    for metric, total in data["figures"].items():
        row = by_metric[metric]
        assert row[4] == total, metric
        assert row[5:] == [data["by_org"][u].get(metric, "0") for u in ("suzhou.gusu", "suzhou.wuzhong")], metric
    assert by_metric["disputes_accepted"][4] == "6"


def test_reports_stay_within_the_callers_unit_and_refuse_bad_periods(api: ApiWorld) -> None:
    for who, org in (
        ("mediator", "suzhou"),
        ("mediator", "suzhou.wuzhong"),
        ("shuangta_mediator", "suzhou.gusu"),
        ("wuzhong_admin", "suzhou.gusu"),
    ):
        check_error(api[who].get(f"/reports/statistics?org_unit={org}"), 403, "forbidden")
    body = check_error(api["auditor"].get("/reports/statistics?from=2026-04-01&to=2026-03-01"), 422)
    assert list(body["fields"]) == ["from"]
    for query in ("format=xml", "by_org=0", "from=2026-13-01", "org_unit=" + "a" * 201):
        body = check_error(api["auditor"].get(f"/reports/statistics?{query}"), 422, "invalid_request")
        assert body["fields"], query
    check_error(api.client.get("/reports/statistics"), 401, "unauthorized")
