"""Every stage of every case type is reachable through engine commands, clocks included."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any
from uuid import UUID

from aggregates.wage_negotiation import WageNegotiation
from engine.registry import CASE_TYPES
from engine.service import Actor, Casework
from tests.integration.scenarios import CASEWORKER, MEDIATOR, NEGOTIATOR, SUPERVISOR, get_as, hardship_application

INSPECTOR = Actor("inspector-1", "inspector")
SUPERVISOR_2 = Actor("supervisor-2", "supervisor")
SYSTEM = Actor("system", "system")
ENTERPRISE = {"name": "苏州示例电子有限公司", "employees": 300}


class Walk:
    def __init__(self, cw: Casework, clock) -> None:
        self.cw, self.clock = cw, clock
        self.stages: dict[str, set[str]] = defaultdict(set)

    def open(self, kind: str, actor: Actor, **data: Any) -> UUID:
        result = self.cw.open_case(kind, actor, **data)
        self.stages[kind].add(result.stage)
        return result.case_id

    def __call__(self, case_id: UUID, action: str, actor: Actor, days: int = 0, **data: Any) -> Any:
        self.clock.advance(days=days)
        result = self.cw.execute(case_id, action, actor, **data)
        self.stages[result.kind].add(result.stage)
        for linked in result.linked:
            self.stages[linked["kind"]].add(linked["stage"])
        return result

    @property
    def today(self):
        return self.clock.now().date()


def test_every_stage_of_every_case_type_is_reached(cw: Casework, clock) -> None:
    w = Walk(cw, clock)
    dispute = dict(
        org_unit="suzhou.gusu",
        employer={"name": "甲公司"},
        applicants=[{"name": "王建国"}],
        workers_involved=1,
        claims=[{"category": "wages", "amount": "1000"}],
    )
    d = w.open("labor_dispute", MEDIATOR, **dispute)
    w(d, "accept", MEDIATOR)
    w(d, "start_mediation", MEDIATOR, days=1, mediator=MEDIATOR.id)
    w(d, "record_session", MEDIATOR, held_on=w.today, summary="first session")
    w(d, "extend_mediation", MEDIATOR, parties_consent=True, reason="双方同意延长")
    w(
        d,
        "reach_agreement",
        MEDIATOR,
        terms="分期支付",
        amounts={"wages": "1000"},
        performance_due=w.today + timedelta(days=10),
    )
    w(d, "confirm_performance", MEDIATOR, days=10)
    w(w.open("labor_dispute", MEDIATOR, **dispute), "decline", MEDIATOR, reason="不属于受理范围")
    w(w.open("labor_dispute", MEDIATOR, **dispute), "withdraw", MEDIATOR, reason="撤回")
    d = w.open("labor_dispute", MEDIATOR, **dispute)
    w(d, "accept", MEDIATOR)
    assert cw.get(d).clocks["mediation"].due_on == w.today + timedelta(days=15)
    w(d, "deem_failed", SYSTEM, days=16)
    w(d, "refer_to_arbitration", MEDIATOR)

    offer = dict(org_unit="suzhou.sip", enterprise=ENTERPRISE, issuing_union="园区总工会", document_number="园工要1号")
    n = w.open("wage_negotiation", NEGOTIATOR, **offer)
    w(n, "refuse_offer", NEGOTIATOR, reason="企业拒绝")
    w(n, "escalate_to_acting_offer", SUPERVISOR, acting_union="市总工会", reason="拒绝应约")

    def items() -> list[dict[str, Any]]:
        return [
            {
                "category": "collective_contract",
                "description": "拒不应约",
                "legal_basis": "集体合同规定第三十二条",
                "deadline": w.today + timedelta(days=60),
            }
        ]

    linked = w(n, "issue_rectification", SYSTEM, days=21, reason="代行要约逾期", items=items()).linked[0]
    w(n, "refer_to_inspectorate", SUPERVISOR, reason="拒绝整改")
    rp = UUID(linked["case_id"])
    w(rp, "refuse", INSPECTOR, reason="拒绝整改")
    w(rp, "refer_to_inspectorate", INSPECTOR, reason="拒绝整改")
    w(rp, "record_enforcement", INSPECTOR, outcome="责令改正")

    n = w.open("wage_negotiation", NEGOTIATOR, **offer)
    w(n, "escalate_to_acting_offer", SYSTEM, days=21, acting_union="市总工会", reason="逾期未答复")
    rp = UUID(w(n, "issue_rectification", SYSTEM, days=21, reason="逾期", items=items()).linked[0]["case_id"])
    accepted = w(rp, "accept_plan", INSPECTOR, plan="同意整改")
    assert [(c["number"], c["stage"]) for c in accepted.linked] == [(cw.get(n).number, "negotiating")]
    resumed = get_as(cw, n, WageNegotiation)
    assert resumed.rectification is not None and resumed.rectification["outcome"] == "agreed_to_rectify"
    w(rp, "verify_item", INSPECTOR, days=5, item_no=1, result="passed", findings="已应约")
    w(n, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="6")
    w(n, "declare_impasse", NEGOTIATOR, reason="分歧")
    w(n, "request_coordination", NEGOTIATOR, authority="区人社局")
    w(n, "close", SUPERVISOR, reason="企业关停")

    n = w.open("wage_negotiation", NEGOTIATOR, **offer)
    w(n, "accept_offer", NEGOTIATOR)
    w(n, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="6")
    w(n, "accept_proposal", NEGOTIATOR, side="enterprise")
    w(n, "approve_by_congress", NEGOTIATOR, votes_for=50, votes_against=2, representatives=60)
    w(n, "sign", NEGOTIATOR, signed_on=w.today, term_start=w.today, term_end=w.today + timedelta(days=365))
    assert cw.get(n).clocks["filing"].due_on == w.today + timedelta(days=10)
    w(n, "file_with_bureau", NEGOTIATOR, bureau="市人社局")
    w(n, "take_effect", SYSTEM, days=16)
    w(n, "mark_expiring", SYSTEM, days=280)
    w(n, "conclude", NEGOTIATOR, reason="期满，已续签")
    w(w.open("wage_negotiation", NEGOTIATOR, **offer), "withdraw", SUPERVISOR, reason="企业注销")

    rp = w.open(
        "rectification_proposal",
        INSPECTOR,
        org_unit="suzhou",
        enterprise=ENTERPRISE,
        issuing_union="市总工会",
        source={"kind": "inspection", "case_id": None, "number": None},
        items=items(),
    )
    w(rp, "withdraw", SUPERVISOR, reason="误发")

    h = w.open("hardship", CASEWORKER, **hardship_application())
    w(h, "verify", CASEWORKER, days=3, visited_on=w.today, findings="属实")
    w(h, "approve", SUPERVISOR)
    assert cw.get(h).clocks["review"].due_on == w.today + timedelta(days=365)
    w(h, "disburse", CASEWORKER, aid_type="living", amount="1000", fund="帮扶资金", period=str(w.today.year))
    w(h, "exit", SUPERVISOR_2, reason="已脱困")
    w(w.open("hardship", CASEWORKER, **hardship_application()), "reject", SUPERVISOR, reason="不符合条件")
    w(w.open("hardship", CASEWORKER, **hardship_application()), "withdraw", CASEWORKER, reason="放弃")

    for kind, cls in CASE_TYPES.items():
        assert w.stages[kind] == set(cls.TABLE.stages), f"{kind}: missing {set(cls.TABLE.stages) - w.stages[kind]}"
