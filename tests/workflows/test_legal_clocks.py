"""The legal-clock sweep: every legal clock but the offer ladder (docs/domain.md, "Legal clocks"), by the business
clock."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import select

from aggregates.wage_negotiation import WageNegotiation
from engine.clock import FixedClock
from engine.queries import CaseFilter, search_cases
from engine.service import Casework
from engine.sweeps import ESCALATION, LEGAL, list_due, run_sweep
from engine.tables import case_index
from tests.integration.scenarios import CASEWORKER, MEDIATOR, NEGOTIATOR, file_dispute, get_as, hardship_application
from tests.workflows.support import (
    GUSU_SUPERVISORS,
    INSPECTOR,
    ON_SQLITE,
    STREET,
    SYSTEM,
    event_names,
    events,
    flow_run_id,
    issue_offer,
    org_tree,
    run_flow,
)
from workflows.runtime import using
from workflows.sweeps import legal_clock_sweep

DAY_0 = date(2026, 3, 2)  # a Monday


def today(clock: FixedClock) -> date:
    return clock.now().date()


def flags(cw: Casework, case_id: UUID) -> list[str]:
    with cw.read_transaction() as session:
        value = session.execute(select(case_index.c.flags).where(case_index.c.case_id == case_id)).scalar_one()
    return value.split(",") if value else []


def outcomes(report: Any) -> list[tuple[UUID, str, str | None]]:
    return sorted((o.due.case_id, o.status, o.action) for o in report.outcomes)


# -- labor disputes ------------------------------------------------------------------------------


@ON_SQLITE
def test_mediation_is_deemed_failed_at_day_16_unless_it_was_extended(cw: Casework, clock) -> None:
    plain, extended = file_dispute(cw).case_id, file_dispute(cw).case_id
    for case_id in (plain, extended):
        cw.execute(case_id, "accept", MEDIATOR)
        cw.execute(case_id, "start_mediation", MEDIATOR, mediator=MEDIATOR.id)
    cw.execute(extended, "extend_mediation", MEDIATOR, parties_consent=True, reason="双方同意延长调解期限")
    assert cw.get(plain).clocks["mediation"].due_on == DAY_0 + timedelta(days=15)
    assert cw.get(extended).clocks["mediation"].due_on == DAY_0 + timedelta(days=30)

    with using(cw):
        clock.advance(days=15)
        quiet = run_flow(legal_clock_sweep)
        assert quiet.is_completed() and quiet.result()["due"] == 0
        assert cw.get(plain).stage == cw.get(extended).stage == "in_mediation"
        clock.advance(days=1)
        state = run_flow(legal_clock_sweep)
    assert state.is_completed(), state.message
    assert state.result()["counts"] == {"applied": 1}

    failed = cw.get(plain)
    assert failed.stage == "mediation_failed" and failed.clocks == {}
    [deemed] = events(cw, plain, "MediationDeemedFailed")
    assert (deemed.actor_id, deemed.actor_role, deemed.flow_run_id) == ("system", "system", flow_run_id(state))
    assert "视为调解不成" in (deemed.reason or "") and "2026-03-17" in (deemed.reason or "")
    assert deemed.data == {"due_on": DAY_0 + timedelta(days=15)}
    assert cw.get(extended).stage == "in_mediation"
    assert event_names(cw, extended)[-1] == "MediationExtended"


@ON_SQLITE
def test_an_application_not_accepted_in_3_working_days_alerts_the_nearest_supervisors_once(cw: Casework, clock) -> None:
    org_tree(cw)
    street = file_dispute(cw, org_unit=STREET).case_id  # supervisors: none active in the street -> gusu's
    wuzhong = file_dispute(cw, org_unit="suzhou.wuzhong").case_id  # none in wuzhong -> the city's
    assert cw.get(street).clocks["acceptance"].due_on == date(2026, 3, 5)  # Monday + 3 working days
    clock.advance(days=3)
    assert list_due(cw, LEGAL) == []
    clock.advance(days=1)
    with using(cw):
        first = run_flow(legal_clock_sweep)
        again = run_flow(legal_clock_sweep)
    assert first.is_completed() and again.is_completed()
    assert first.result()["counts"] == {"alerted": 2}
    assert again.result()["due"] == 0

    [alert] = events(cw, street, "DeadlineAlertRaised")
    assert (alert.actor_id, alert.actor_role, alert.flow_run_id) == ("system", "system", flow_run_id(first))
    assert alert.data == {"clock": "acceptance", "due_on": date(2026, 3, 5), "notify": GUSU_SUPERVISORS}
    assert "3 working days" in (alert.reason or "")
    [alert] = events(cw, wuzhong, "DeadlineAlertRaised")
    assert alert.data["notify"] == ["city-sup"]
    assert cw.get(street).stage == "filed"  # an alert moves nothing

    rows, total = search_cases(cw, CaseFilter(flags=("deadline_alert",)))
    assert total == 2 and {r["case_id"] for r in rows} == {street, wuzhong}
    clock.advance(days=1)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
    assert len(events(cw, street, "DeadlineAlertRaised")) == 1

    cw.execute(street, "accept", MEDIATOR)  # acted on: the alert is no longer active
    assert "deadline_alert" not in flags(cw, street) and "deadline_alert" in flags(cw, wuzhong)


def test_an_unconfirmed_mediation_agreement_alerts_when_performance_is_overdue(cw: Casework, clock) -> None:
    dispute = file_dispute(cw).case_id
    cw.execute(dispute, "accept", MEDIATOR)
    cw.execute(dispute, "start_mediation", MEDIATOR, mediator=MEDIATOR.id)
    cw.execute(
        dispute,
        "reach_agreement",
        MEDIATOR,
        terms="分两期支付",
        amounts={"wages": "8600"},
        performance_due=DAY_0 + timedelta(days=5),
    )
    clock.advance(days=5)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
    clock.advance(days=1)
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(dispute, "alerted", "raise_alert")]
    assert cw.get(dispute).stage == "agreement_reached"
    [alert] = events(cw, dispute, "DeadlineAlertRaised")
    assert alert.data["clock"] == "performance" and "not confirmed as performed" in (alert.reason or "")


# -- the collective contract ---------------------------------------------------------------------


def signed_contract(cw: Casework, clock, *, file: bool = True) -> UUID:
    case_id = issue_offer(cw).case_id
    for action, data in (
        ("accept_offer", {}),
        ("submit_proposal", {"side": "union", "wage_increase_pct": "6"}),
        ("accept_proposal", {"side": "enterprise"}),
        ("approve_by_congress", {"votes_for": 50, "votes_against": 2, "representatives": 60}),
        (
            "sign",
            {"signed_on": today(clock), "term_start": today(clock), "term_end": today(clock) + timedelta(days=365)},
        ),
    ):
        cw.execute(case_id, action, NEGOTIATOR, **data)
    if file:
        cw.execute(case_id, "file_with_bureau", NEGOTIATOR, bureau="姑苏区人力资源和社会保障局")
    return case_id


def test_contract_clocks_take_effect_then_expiring_then_the_term_end_alert(cw: Casework, clock) -> None:
    org_tree(cw)
    case_id = signed_contract(cw, clock)
    term_end = DAY_0 + timedelta(days=365)
    assert cw.get(case_id).clocks["objection"].due_on == DAY_0 + timedelta(days=15)
    clock.advance(days=15)
    assert list_due(cw, LEGAL) == []
    clock.advance(days=1)
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(case_id, "applied", "take_effect")]
    case = get_as(cw, case_id, WageNegotiation)
    assert case.stage == "effective" and case.contract is not None
    assert case.contract["effective_on"] == DAY_0 + timedelta(days=16) and case.contract["bureau_confirmed"] is False
    [effect] = events(cw, case_id, "ContractTookEffect")
    assert effect.actor_id == "system" and "no objection" in (effect.reason or "")
    renewal_due = term_end - timedelta(days=90)
    assert case.clocks["renewal"].due_on == renewal_due

    clock.set(clock.now() + (renewal_due - today(clock)))
    assert list_due(cw, LEGAL) == []
    clock.advance(days=1)
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(case_id, "applied", "mark_expiring")]
    case = get_as(cw, case_id, WageNegotiation)
    assert case.stage == "expiring" and case.clocks["term_end"].due_on == term_end
    [expiring] = events(cw, case_id, "ContractExpiring")
    assert expiring.actor_role == "system" and str(renewal_due) in (expiring.reason or "")

    clock.set(clock.now() + (term_end - today(clock)) + timedelta(days=1))
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(case_id, "alerted", "raise_alert")]
    [alert] = events(cw, case_id, "DeadlineAlertRaised")
    assert alert.data["clock"] == "term_end" and alert.data["notify"] == GUSU_SUPERVISORS
    assert cw.get(case_id).stage == "expiring"
    assert list_due(cw, ESCALATION) == []  # contract clocks are the legal sweep's alone


def test_a_contract_not_filed_within_10_days_alerts(cw: Casework, clock) -> None:
    case_id = signed_contract(cw, clock, file=False)
    clock.advance(days=10)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
    clock.advance(days=1)
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(case_id, "alerted", "raise_alert")]
    assert cw.get(case_id).stage == "signed"
    [alert] = events(cw, case_id, "DeadlineAlertRaised")
    assert alert.data["clock"] == "filing" and alert.data["notify"] == []  # no supervisors anywhere


# -- rectification proposals and hardship --------------------------------------------------------


def inspection_proposal(cw: Casework, clock, *deadline_days: int) -> UUID:
    items = [
        {
            "category": "wages",
            "description": f"拖欠工资第{i}项",
            "legal_basis": "《劳动法》第五十条",
            "deadline": today(clock) + timedelta(days=days),
        }
        for i, days in enumerate(deadline_days, start=1)
    ]
    return cw.open_case(
        "rectification_proposal",
        INSPECTOR,
        org_unit="suzhou.gusu",
        enterprise={"name": "苏州示例纺织有限公司"},
        issuing_union="姑苏区总工会",
        source={"kind": "inspection", "case_id": None, "number": None},
        items=items,
    ).case_id


def test_a_rectification_item_past_its_deadline_is_referred_to_the_inspectorate(cw: Casework, clock) -> None:
    proposal = inspection_proposal(cw, clock, 10, 20)
    cw.execute(proposal, "accept_plan", INSPECTOR, plan="按期整改")
    clock.advance(days=10)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
    clock.advance(days=1)
    report = run_sweep(cw, LEGAL, SYSTEM)
    assert [(o.due.trigger.key(), o.status, o.action) for o in report.outcomes] == [
        ("item-1", "applied", "refer_to_inspectorate")
    ]
    case = cw.get(proposal)
    assert case.stage == "referred" and case.clocks == {}
    [referral] = events(cw, proposal, "RectificationReferred")
    assert referral.actor_id == "system" and referral.data["grounds"] == ["item 1 overdue"]
    assert "item 1 was not rectified" in (referral.reason or "")
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0


def test_a_refused_rectification_proposal_is_referred_on_the_next_sweep(cw: Casework, clock) -> None:
    proposal = inspection_proposal(cw, clock, 30)
    clock.advance(days=2)
    cw.execute(proposal, "refuse", INSPECTOR, reason="企业拒绝整改")
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(proposal, "applied", "refer_to_inspectorate")]
    assert cw.get(proposal).stage == "referred"
    [referral] = events(cw, proposal, "RectificationReferred")
    assert referral.data["from_stage"] == "refused" and "拒绝整改" in (referral.reason or "")
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0


def test_a_hardship_home_visit_not_recorded_in_15_days_alerts(cw: Casework, clock) -> None:
    org_tree(cw)
    case_id = cw.open_case("hardship", CASEWORKER, **hardship_application()).case_id
    assert cw.get(case_id).clocks["verification"].due_on == DAY_0 + timedelta(days=15)
    clock.advance(days=15)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
    clock.advance(days=1)
    assert outcomes(run_sweep(cw, LEGAL, SYSTEM)) == [(case_id, "alerted", "raise_alert")]
    [alert] = events(cw, case_id, "DeadlineAlertRaised")
    assert alert.data["clock"] == "verification" and alert.data["notify"] == ["city-sup"]  # wuzhong has none
    assert "入户核实" in (alert.reason or "")
    assert cw.get(case_id).stage == "applied" and "deadline_alert" in flags(cw, case_id)
    clock.advance(days=1)
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0
