"""Every case type is opened over HTTP and driven through its command routes into every terminal stage.

Each step sends If-Match and checks the new stage against the action's targets, the version, the ETag
and the caller's allowed actions (the walk helper does this for every response); at the end every
stage of the stage table, terminal ones included, must have been reached.
"""

from __future__ import annotations

from datetime import timedelta

from engine.registry import CASE_TYPES
from tests.api.conftest import ApiWorld
from tests.api.support import dispute, etag, hardship, items, offer, rectification


def _reached_every_stage(stages: dict[str, set[str]], kind: str) -> None:
    table = CASE_TYPES[kind].TABLE
    assert table.terminal <= stages[kind], f"terminal stages never reached: {table.terminal - stages[kind]}"
    assert stages[kind] == set(table.stages), f"stages never reached: {set(table.stages) - stages[kind]}"


def test_a_labor_dispute_reaches_every_terminal_stage_over_http(api: ApiWorld) -> None:
    w = api.walk()
    d = w.open("labor_dispute", "mediator", dispute())
    assert [c["name"] for c in d["clocks"]] == ["acceptance"]
    d = w(d, "accept", "mediator")
    assert "start_mediation" in d["allowed_actions"] and "accept" not in d["allowed_actions"]
    mediation_due = next(c["due_on"] for c in d["clocks"] if c["name"] == "mediation")
    assert mediation_due == (w.today + timedelta(days=15)).isoformat()
    d = w(d, "start_mediation", "mediator", days=1, mediator=api["mediator"].user_id)
    d = w(d, "record_session", "mediator", held_on=w.today, summary="第一次调解", attendees=["王建国", "企业代表"])
    d = w(d, "extend_mediation", "supervisor", parties_consent=True, reason="双方同意延长")
    d = w(
        d,
        "reach_agreement",
        "mediator",
        terms="分期支付",
        amounts={"wages": "8600.00"},
        performance_due=w.today + timedelta(days=10),
    )
    resolved = w(d, "confirm_performance", "mediator", days=10)
    assert resolved["stage"] == "resolved" and resolved["allowed_actions"] == [] and resolved["clocks"] == []

    w(w.open("labor_dispute", "mediator", dispute()), "decline", "mediator", reason="不属于受理范围")
    w(w.open("labor_dispute", "caseworker", dispute()), "withdraw", "caseworker", reason="申请人撤回")

    d = w(w.open("labor_dispute", "mediator", dispute()), "accept", "mediator")
    failed = w(d, "deem_failed", "supervisor", days=16)
    assert failed["stage"] == "mediation_failed"
    w(failed, "refer_to_arbitration", "mediator")
    d = w(
        w(w.open("labor_dispute", "mediator", dispute()), "accept", "mediator"),
        "fail_mediation",
        "mediator",
        reason="企业拒绝调解",
    )
    w(d, "withdraw", "mediator", reason="申请人另行起诉")

    _reached_every_stage(w.stages, "labor_dispute")


def test_a_wage_negotiation_reaches_every_terminal_stage_over_http(api: ApiWorld) -> None:
    w = api.walk()
    n = w.open("wage_negotiation", "negotiator", offer())
    n = w(n, "refuse_offer", "negotiator", reason="企业拒绝")
    n = w(n, "escalate_to_acting_offer", "supervisor", acting_union="苏州市总工会", reason="拒绝应约")
    assert "acting_offer" in n["flags"]
    n = w(
        n,
        "issue_rectification",
        "supervisor",
        days=21,
        reason="代行要约逾期",
        items=items(w.today + timedelta(days=21)),
    )
    assert n["stage"] == "rectification_pending"
    linked = api["supervisor"].get(f"/cases/{n['case_id']}").get_json()["links"]
    rp_ref = next(link["number"] for link in linked if link["kind"] == "rectification_proposal")
    rp_response = api["inspector"].get(f"/cases/{rp_ref}")
    rp = rp_response.get_json()
    assert rp["stage"] == "issued" and rp_response.headers["ETag"] == etag(rp["version"])
    w.stages["rectification_proposal"].add(rp["stage"])
    w(n, "refer_to_inspectorate", "supervisor", reason="拒绝整改")

    n = w.open("wage_negotiation", "negotiator", offer(document_number="姑工要〔2026〕2号"))
    n = w(n, "accept_offer", "negotiator")
    n = w(n, "submit_proposal", "negotiator", side="union", wage_increase_pct="6.5")
    n = w(n, "declare_impasse", "negotiator", reason="分歧较大")
    n = w(n, "request_coordination", "negotiator", authority="姑苏区人社局")
    w(n, "close", "supervisor", reason="企业关停")

    n = w.open("wage_negotiation", "negotiator", offer(document_number="姑工要〔2026〕3号"))
    n = w(n, "accept_offer", "negotiator")
    n = w(n, "submit_proposal", "negotiator", side="union", wage_increase_pct="6")
    n = w(n, "accept_proposal", "negotiator", side="enterprise")
    n = w(n, "approve_by_congress", "negotiator", votes_for=50, votes_against=2, representatives=60)
    n = w(n, "sign", "negotiator", signed_on=w.today, term_start=w.today, term_end=w.today + timedelta(days=365))
    filing = next(c for c in n["clocks"] if c["name"] == "filing")
    assert filing["due_on"] == (w.today + timedelta(days=10)).isoformat()
    n = w(n, "file_with_bureau", "negotiator", bureau="苏州市人社局")
    n = w(n, "take_effect", "supervisor", days=16)
    n = w(n, "mark_expiring", "negotiator", days=280)
    concluded = w(n, "conclude", "negotiator", reason="期满，已续签")
    assert concluded["is_open"] is False

    w(
        w.open("wage_negotiation", "negotiator", offer(document_number="姑工要〔2026〕4号")),
        "withdraw",
        "supervisor",
        reason="企业注销",
    )
    _reached_every_stage(w.stages, "wage_negotiation")


def test_a_rectification_proposal_reaches_every_terminal_stage_over_http(api: ApiWorld) -> None:
    w = api.walk()
    rp = w.open("rectification_proposal", "inspector", rectification(w.today, items=items(w.today, count=2)))
    assert {c["name"] for c in rp["clocks"]} == {"reply"}
    rp = w(rp, "accept_plan", "inspector", plan="限期整改")
    assert {c["name"] for c in rp["clocks"]} == {"item-1", "item-2"}
    rp = w(rp, "verify_item", "inspector", days=5, item_no=1, result="passed", findings="已整改")
    assert rp["stage"] == "rectifying"
    done = w(rp, "verify_item", "inspector", item_no=2, result="passed", findings="已整改")
    assert done["stage"] == "rectified"

    rp = w(
        w.open("rectification_proposal", "supervisor", rectification(w.today)),
        "refuse",
        "inspector",
        reason="企业拒绝整改",
    )
    rp = w(rp, "refer_to_inspectorate", "inspector", reason="拒绝整改")
    w(rp, "record_enforcement", "inspector", outcome="责令改正")

    w(w.open("rectification_proposal", "inspector", rectification(w.today)), "withdraw", "supervisor", reason="误发")
    _reached_every_stage(w.stages, "rectification_proposal")


def test_a_hardship_case_reaches_every_terminal_stage_over_http(api: ApiWorld) -> None:
    w = api.walk()
    h = w.open("hardship", "caseworker", hardship(1))
    h = w(h, "verify", "caseworker", days=3, visited_on=w.today, findings="情况属实")
    h = w(h, "approve", "supervisor")
    review = next(c for c in h["clocks"] if c["name"] == "review")
    assert review["due_on"] == (w.today + timedelta(days=365)).isoformat()
    h = w(h, "disburse", "caseworker", aid_type="living", amount="1000.50", fund="帮扶资金", period=str(w.today.year))
    w(h, "exit", "supervisor", reason="已脱困")

    w(w.open("hardship", "caseworker", hardship(2)), "reject", "supervisor", reason="不符合条件")
    w(w.open("hardship", "supervisor", hardship(3)), "withdraw", "caseworker", reason="放弃申请")
    _reached_every_stage(w.stages, "hardship")
