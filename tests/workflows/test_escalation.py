"""The escalation sweep: the negotiation ladder by the business clock, once per case however it is run.

Flow-level tests call the real flows against the Prefect test server (on the SQLite file);
engine-level tests call engine.sweeps directly on SQLite and PostgreSQL, where Prefect adds nothing.
"""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, text

from aggregates.base import Case
from aggregates.policy import DeadlinePolicy
from aggregates.rectification import RectificationProposal
from aggregates.wage_negotiation import WageNegotiation
from engine.clock import FixedClock
from engine.migrate import upgrade
from engine.service import Actor, Casework
from engine.sweeps import ESCALATION, LEGAL, ClockRanOut, Due, FollowUp, apply_all, list_due, run_sweep
from engine.tables import case_index
from engine.unit_of_work import UnitOfWork
from tests.conftest import make_settings
from tests.integration.scenarios import NEGOTIATOR, get_as
from tests.workflows.support import (
    GUSU_SUPERVISORS,
    INSPECTOR,
    ON_POSTGRES,
    ON_SQLITE,
    STREET,
    SUPERVISOR,
    SYSTEM,
    artifacts,
    count_cases,
    event_names,
    events,
    flow_run_id,
    issue_offer,
    org_tree,
    run_flow,
    task_runs,
)
from workflows.runtime import using
from workflows.sweeps import escalation_sweep, legal_clock_sweep

DAY_0 = date(2026, 3, 2)
"""The business date every test starts on (the `clock` fixture); the offer's reply is due on day 20."""


def today(clock: FixedClock) -> date:
    return clock.now().date()


def index_row(cw: Casework, case_id: UUID) -> Any:
    with cw.read_transaction() as session:
        return session.execute(select(case_index).where(case_index.c.case_id == case_id)).one()


# -- the first rung, by the business clock ----------------------------------------------------


@ON_SQLITE
def test_an_offer_is_untouched_at_day_19_and_escalated_to_an_acting_offer_at_day_21(cw: Casework, clock) -> None:
    org_tree(cw)
    offer = issue_offer(cw)
    assert cw.get(offer.case_id).clocks["reply"].due_on == DAY_0 + timedelta(days=20)
    with using(cw):
        clock.advance(days=19)
        quiet = run_flow(escalation_sweep)
        assert quiet.is_completed(), quiet.message
        assert quiet.result()["due"] == 0 and quiet.result()["counts"] == {}
        assert event_names(cw, offer.case_id) == ["OfferIssued"]
        assert cw.get(offer.case_id).stage == "offer_issued"

        clock.advance(days=2)
        state = run_flow(escalation_sweep)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["today"] == "2026-03-23" and result["due"] == 1 and result["counts"] == {"applied": 1}
    assert result["outcomes"][0]["case"] == offer.number

    case = get_as(cw, offer.case_id, WageNegotiation)
    assert case.stage == "acting_offer_issued"
    assert case.acting_union == "姑苏区总工会"  # the name of the street union's parent unit
    assert case.clocks["reply"].started_on == DAY_0 + timedelta(days=21)
    assert case.clocks["reply"].due_on == DAY_0 + timedelta(days=41)  # a new 20-day clock
    [acting] = events(cw, offer.case_id, "ActingOfferIssued")
    assert (acting.actor_id, acting.actor_role) == ("system", "system")
    assert acting.flow_run_id == flow_run_id(state)
    assert acting.data == {"acting_union": "姑苏区总工会"}
    assert "2026-03-22" in (acting.reason or "")
    row = index_row(cw, offer.case_id)
    assert row.stage == "acting_offer_issued" and "acting_offer" in row.flags.split(",")


def test_the_reply_clock_runs_out_the_day_after_its_due_date(cw: Casework, clock) -> None:
    offer = issue_offer(cw, org_unit="suzhou.gusu")  # no org_units rows at all
    clock.advance(days=20)  # the due date itself: the enterprise may still answer today
    assert list_due(cw, ESCALATION) == []
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0
    clock.advance(days=1)
    assert list_due(cw, ESCALATION) == [
        Due(offer.case_id, "wage_negotiation", ClockRanOut("reply"), DAY_0 + timedelta(days=20))
    ]
    assert list_due(cw, LEGAL) == []  # the reply clock is the escalation sweep's, not the legal one's
    run_sweep(cw, ESCALATION, SYSTEM)
    # Without org_units rows the higher-level union is named by the parent unit's path.
    assert get_as(cw, offer.case_id, WageNegotiation).acting_union == "suzhou"


# -- each rung in turn -------------------------------------------------------------------------


def climb_to_rectification(cw: Casework, clock, offer_id: UUID) -> tuple[WageNegotiation, RectificationProposal]:
    """Day 21: acting offer; day 42: rectification proposal. Returns (negotiation, proposal)."""
    clock.advance(days=21)
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert [(o.due.case_id, o.status, o.action) for o in report.outcomes] == [
        (offer_id, "applied", "escalate_to_acting_offer")
    ]
    clock.advance(days=20)  # day 41: the acting offer's reply is due today, not yet overdue
    assert list_due(cw, ESCALATION) == []
    clock.advance(days=1)
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert [(o.due.case_id, o.status, o.action) for o in report.outcomes] == [
        (offer_id, "applied", "issue_rectification")
    ]
    negotiation = get_as(cw, offer_id, WageNegotiation)
    assert negotiation.rectification is not None
    proposal = get_as(cw, negotiation.rectification["case_id"], RectificationProposal)
    assert report.outcomes[0].linked == [proposal.number]
    return negotiation, proposal


def test_each_ladder_step_in_turn_until_the_enterprise_agrees_to_rectify(cw: Casework, clock) -> None:
    org_tree(cw)
    offer = issue_offer(cw)
    negotiation, proposal = climb_to_rectification(cw, clock, offer.case_id)
    day_42 = DAY_0 + timedelta(days=42)
    assert today(clock) == day_42

    assert negotiation.stage == "rectification_pending" and negotiation.ladder_step == 2
    assert negotiation.clocks == {}  # the acting offer's reply clock closed with the step
    # Linked both ways: the negotiation names the proposal, the proposal names its source.
    assert negotiation.links == [
        {
            "case_id": proposal.id,
            "number": proposal.number,
            "kind": "rectification_proposal",
            "relation": "rectification",
        }
    ]
    assert negotiation.rectification is not None and negotiation.rectification["number"] == proposal.number
    assert proposal.source == {"kind": "negotiation", "case_id": negotiation.id, "number": negotiation.number}
    assert index_row(cw, proposal.id).reference == negotiation.number
    assert (proposal.stage, proposal.org_unit, proposal.issuing_union) == ("issued", STREET, "双塔街道总工会")
    assert proposal.enterprise["name"] == negotiation.enterprise["name"]
    [item] = proposal.items
    assert item["category"] == "collective_contract"
    assert "第三十二条" in item["legal_basis"] and "20" in item["description"]
    assert item["deadline"] == day_42 + timedelta(days=30)
    assert proposal.clocks["reply"].due_on == day_42 + timedelta(days=15)
    [step] = events(cw, negotiation.id, "RectificationProposed")
    [opened] = events(cw, proposal.id, "RectificationIssued")
    assert (step.actor_id, step.actor_role, opened.actor_id, opened.actor_role) == ("system",) * 4
    assert step.command_id == opened.command_id  # one command opened the proposal and moved the negotiation
    assert "acting offer" in (step.reason or "") and str(DAY_0 + timedelta(days=41)) in (step.reason or "")

    clock.advance(days=3)
    accepted = cw.execute(proposal.id, "accept_plan", INSPECTOR, plan="十日内书面应约并启动工资集体协商")
    assert accepted.stage == "rectifying"
    assert accepted.linked == [
        {
            "case_id": str(negotiation.id),
            "number": negotiation.number,
            "kind": "wage_negotiation",
            "stage": "negotiating",
        }
    ]
    resumed = get_as(cw, negotiation.id, WageNegotiation)
    assert resumed.stage == "negotiating" and resumed.rectification is not None
    assert resumed.rectification["outcome"] == "agreed_to_rectify"
    [follow] = events(cw, negotiation.id, "NegotiationResumedAfterRectification")
    assert (follow.actor_id, follow.actor_role) == ("system", "system")
    assert proposal.number in (follow.reason or "") and "同意整改" in (follow.reason or "")
    [acceptance] = events(cw, proposal.id, "RectificationAccepted")
    assert acceptance.actor_id == INSPECTOR.id
    assert follow.command_id == acceptance.command_id == accepted.command_id  # in the same command
    assert index_row(cw, negotiation.id).stage == "negotiating"
    # The settled pair leaves nothing for the sweep's safety net to do.
    assert list_due(cw, ESCALATION) == []
    assert run_sweep(cw, ESCALATION, SYSTEM).outcomes == []
    assert event_names(cw, negotiation.id) == [
        "OfferIssued",
        "ActingOfferIssued",
        "RectificationProposed",
        "NegotiationResumedAfterRectification",
    ]


@ON_SQLITE
def test_an_unanswered_rectification_proposal_is_referred_by_the_legal_sweep_and_the_negotiation_follows(
    cw: Casework, clock
) -> None:
    org_tree(cw)
    offer = issue_offer(cw)
    negotiation, proposal = climb_to_rectification(cw, clock, offer.case_id)
    clock.advance(days=15)  # the proposal's reply is due today
    assert list_due(cw, LEGAL) == []
    clock.advance(days=1)
    with using(cw):
        state = run_flow(legal_clock_sweep)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["counts"] == {"applied": 1}
    assert result["outcomes"][0]["case"] == proposal.number
    assert result["outcomes"][0]["linked"] == [negotiation.number]

    assert cw.get(proposal.id).stage == "referred"
    followed = get_as(cw, negotiation.id, WageNegotiation)
    assert followed.stage == "referred_to_inspectorate" and followed.outcome == "referred_to_inspectorate"
    assert followed.rectification is not None and followed.rectification["outcome"] == "referred"
    [referral] = events(cw, proposal.id, "RectificationReferred")
    [follow] = events(cw, negotiation.id, "ReferredToInspectorate")
    run = flow_run_id(state)
    for event in (referral, follow):
        assert (event.actor_id, event.actor_role, event.flow_run_id) == ("system", "system", run)
    assert "did not reply" in (referral.reason or "")
    assert str(proposal.clocks["reply"].due_on) in (referral.reason or "")
    assert proposal.number in (follow.reason or "")
    assert follow.command_id == referral.command_id
    assert index_row(cw, negotiation.id).stage == "referred_to_inspectorate"
    assert list_due(cw, ESCALATION) == [] and list_due(cw, LEGAL) == []


def test_a_refused_offer_escalates_on_the_next_sweep_without_waiting_for_its_clock(cw: Casework, clock) -> None:
    offer = issue_offer(cw)
    clock.advance(days=2)
    cw.execute(offer.case_id, "refuse_offer", NEGOTIATOR, reason="企业称经营困难，拒绝协商")
    report = run_sweep(cw, ESCALATION, SYSTEM)  # the same day: no clock to wait for
    assert [(o.status, o.action) for o in report.outcomes] == [("applied", "escalate_to_acting_offer")]
    case = cw.get(offer.case_id)
    assert case.stage == "acting_offer_issued"
    assert case.clocks["reply"].due_on == DAY_0 + timedelta(days=22)
    [acting] = events(cw, offer.case_id, "ActingOfferIssued")
    assert acting.actor_id == "system" and "refused" in (acting.reason or "")

    clock.advance(days=1)
    cw.execute(offer.case_id, "refuse_offer", NEGOTIATOR, reason="仍拒绝协商")
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert [(o.status, o.action) for o in report.outcomes] == [("applied", "issue_rectification")]
    case = cw.get(offer.case_id)
    assert case.stage == "rectification_pending"
    [step] = events(cw, offer.case_id, "RectificationProposed")
    assert "refused the acting offer" in (step.reason or "")
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0


def test_a_union_proposal_unanswered_past_20_days_leads_to_a_rectification_proposal(cw: Casework, clock) -> None:
    offer = issue_offer(cw)
    clock.advance(days=1)
    cw.execute(offer.case_id, "accept_offer", NEGOTIATOR)
    cw.execute(offer.case_id, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="6")
    clock.advance(days=20)
    assert list_due(cw, ESCALATION) == []
    clock.advance(days=1)
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert [(o.due.trigger.key(), o.status, o.action) for o in report.outcomes] == [
        ("proposal_reply", "applied", "issue_rectification")
    ]
    case = get_as(cw, offer.case_id, WageNegotiation)
    assert case.stage == "rectification_pending"
    assert case.proposals[-1]["status"] == "lapsed"
    assert case.rectification is not None
    proposal = get_as(cw, case.rectification["case_id"], RectificationProposal)
    assert proposal.source["case_id"] == case.id and proposal.stage == "issued"
    [step] = events(cw, offer.case_id, "RectificationProposed")
    assert step.actor_id == "system" and "union's proposal 1" in (step.reason or "")
    assert count_cases(cw, "rectification_proposal") == 1


def test_an_enterprise_proposal_left_unanswered_alerts_supervisors_instead_of_escalating(cw: Casework, clock) -> None:
    org_tree(cw)
    offer = issue_offer(cw)
    clock.advance(days=1)
    cw.execute(offer.case_id, "accept_offer", NEGOTIATOR)
    cw.execute(offer.case_id, "submit_proposal", NEGOTIATOR, side="enterprise", wage_increase_pct="2")
    clock.advance(days=21)
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert [(o.status, o.action) for o in report.outcomes] == [("alerted", "raise_alert")]
    case = get_as(cw, offer.case_id, WageNegotiation)
    assert case.stage == "negotiating" and case.ladder_step == 0
    assert count_cases(cw, "rectification_proposal") == 0
    [alert] = events(cw, offer.case_id, "DeadlineAlertRaised")
    assert (alert.actor_id, alert.actor_role) == ("system", "system")
    assert alert.data["clock"] == "proposal_reply" and alert.data["notify"] == GUSU_SUPERVISORS
    assert "union did not answer" in (alert.reason or "")
    assert "deadline_alert" in index_row(cw, offer.case_id).flags.split(",")
    clock.advance(days=1)
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0  # alerted once per clock and due date
    assert len(events(cw, offer.case_id, "DeadlineAlertRaised")) == 1
    # The union answers with a counter-proposal: the alert is no longer active.
    cw.execute(offer.case_id, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="4")
    assert "deadline_alert" not in index_row(cw, offer.case_id).flags.split(",")


# -- the reactions safety net ------------------------------------------------------------------


def record_without_reaction(
    cw: Casework, case_id: UUID, action: str, actor: Actor, reason: str | None = None, **data: Any
) -> None:
    """Record a proposal's outcome the way an engine without the inline reactions did: the proposal's own
    command through the engine's transaction (events, read model, command log), and nothing else.

    Through `Casework.execute` every outcome moves its negotiation in the same command, so a negotiation
    left waiting on a settled proposal cannot be produced with today's commands; this is the one way
    to reach that state without writing rows by hand."""

    def work(uow: UnitOfWork) -> Case:
        case = uow.load(case_id)
        getattr(case, action)(uow.ctx, **data)
        return case

    cw.transact(actor, action, work, reason=reason)


def test_the_sweep_follows_a_settled_proposal_its_negotiation_missed(cw: Casework, clock) -> None:
    agreed = issue_offer(cw, "甲公司").case_id
    refused = issue_offer(cw, "乙公司").case_id
    clock.advance(days=21)
    run_sweep(cw, ESCALATION, SYSTEM)
    clock.advance(days=21)
    run_sweep(cw, ESCALATION, SYSTEM)
    agreed_rp = get_as(cw, agreed, WageNegotiation).rectification
    refused_rp = get_as(cw, refused, WageNegotiation).rectification
    assert agreed_rp is not None and refused_rp is not None
    assert list_due(cw, ESCALATION) == []  # both proposals still open: nothing to follow

    clock.advance(days=16)  # the proposals' reply clocks ran out yesterday
    record_without_reaction(cw, agreed_rp["case_id"], "accept_plan", INSPECTOR, plan="同意整改")
    record_without_reaction(cw, refused_rp["case_id"], "refer_to_inspectorate", INSPECTOR, reason="逾期未答复")
    assert cw.get(agreed).stage == cw.get(refused).stage == "rectification_pending"

    due = list_due(cw, ESCALATION)
    assert sorted((d.case_id, d.trigger.key()) for d in due) == sorted(
        [
            (agreed, f"reaction:{agreed_rp['case_id']}@resume_after_rectification"),
            (refused, f"reaction:{refused_rp['case_id']}@refer_to_inspectorate"),
        ]
    )
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert sorted((o.due.case_id, o.status, o.action) for o in report.outcomes) == sorted(
        [(agreed, "applied", "resume_after_rectification"), (refused, "applied", "refer_to_inspectorate")]
    )
    assert cw.get(agreed).stage == "negotiating"
    assert cw.get(refused).stage == "referred_to_inspectorate"
    [resumed] = events(cw, agreed, "NegotiationResumedAfterRectification")
    [referred] = events(cw, refused, "ReferredToInspectorate")
    assert agreed_rp["number"] in (resumed.reason or "") and refused_rp["number"] in (referred.reason or "")
    assert resumed.actor_id == referred.actor_id == "system"

    assert list_due(cw, ESCALATION) == []
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0
    assert len(events(cw, agreed)) == 4 and len(events(cw, refused)) == 4


# -- a referral after an agreement to rectify ------------------------------------------------------------


def agreed_to_rectify(cw: Casework, clock, *names: str) -> list[tuple[UUID, RectificationProposal]]:
    """Day 45: each enterprise (one, unless named) was sent a rectification proposal on day 42 and agreed to
    rectify (its item is due on day 72), and its negotiation resumed. Returns (negotiation id, proposal)."""
    offers = [issue_offer(cw, name).case_id for name in names or ("苏州示例电子有限公司",)]
    for _ in range(2):  # day 21: acting offers; day 42: rectification proposals
        clock.advance(days=21)
        assert [o.status for o in run_sweep(cw, ESCALATION, SYSTEM).outcomes] == ["applied"] * len(offers)
    clock.advance(days=3)
    agreed = []
    for case_id in offers:
        rectification = get_as(cw, case_id, WageNegotiation).rectification
        assert rectification is not None
        proposal_id = rectification["case_id"]
        cw.execute(proposal_id, "accept_plan", INSPECTOR, plan="十日内书面应约并启动工资集体协商")
        assert cw.get(case_id).stage == "negotiating"
        agreed.append((case_id, get_as(cw, proposal_id, RectificationProposal)))
    return agreed


def test_a_proposal_referred_after_the_enterprise_agreed_to_rectify_refers_its_negotiation_wherever_it_stands(
    cw: Casework, clock
) -> None:
    from engine.reports import statistics

    org_tree(cw)
    (negotiating, proposal), (agreed, agreed_proposal) = agreed_to_rectify(cw, clock, "甲公司", "乙公司")
    cw.execute(agreed, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct="5")
    cw.execute(agreed, "accept_proposal", NEGOTIATOR, side="enterprise")
    assert cw.get(agreed).stage == "agreed"
    item_due = proposal.clocks["item-1"].due_on
    clock.advance(days=(item_due - today(clock)).days + 1)  # both items are overdue

    report = run_sweep(cw, LEGAL, SYSTEM)
    assert sorted((o.number, o.action, tuple(o.linked)) for o in report.outcomes) == sorted(
        [
            (proposal.number, "refer_to_inspectorate", (cw.get(negotiating).number,)),
            (agreed_proposal.number, "refer_to_inspectorate", (cw.get(agreed).number,)),
        ]
    )
    for case_id, rp in ((negotiating, proposal), (agreed, agreed_proposal)):
        assert cw.get(rp.id).stage == "referred"
        followed = get_as(cw, case_id, WageNegotiation)
        assert followed.stage == "referred_to_inspectorate" and followed.clocks == {}
        assert followed.rectification is not None and followed.rectification["outcome"] == "referred"
        [follow] = events(cw, case_id, "ReferredToInspectorate")
        [referral] = events(cw, rp.id, "RectificationReferred")
        assert (follow.actor_id, follow.actor_role) == ("system", "system") and rp.number in (follow.reason or "")
        assert follow.command_id == referral.command_id  # in the proposal's own command
    assert list_due(cw, ESCALATION) == [] and list_due(cw, LEGAL) == []

    # Counted once in each figure that applies: both agreed to rectify, and both were referred.
    figures = statistics(cw, org_unit="suzhou").figures
    assert {
        m: int(figures.get(m, 0))
        for m in (
            "rectification_proposals",
            "agreed_to_rectify",
            "negotiations_referred",
            "rectifications_accepted",
            "rectifications_referred",
        )
    } == {
        "rectification_proposals": 2,
        "agreed_to_rectify": 2,
        "negotiations_referred": 2,
        "rectifications_accepted": 2,
        "rectifications_referred": 2,
    }


def test_a_supervisor_refers_the_negotiation_of_an_enterprise_that_agreed_to_rectify(cw: Casework, clock) -> None:
    [(negotiation, proposal)] = agreed_to_rectify(cw, clock)
    assert "refer_to_inspectorate" in cw.get(negotiation).allowed_actions("supervisor")
    referred = cw.execute(negotiation, "refer_to_inspectorate", SUPERVISOR, reason="拒不履行整改承诺")
    assert referred.stage == "referred_to_inspectorate"
    assert cw.get(proposal.id).stage == "rectifying"  # the proposal's own referral is the inspector's to record


def test_the_sweep_refers_a_resumed_negotiation_whose_proposal_was_referred_without_it(cw: Casework, clock) -> None:
    offer = issue_offer(cw)
    negotiation, proposal = climb_to_rectification(cw, clock, offer.case_id)
    clock.advance(days=3)
    record_without_reaction(cw, proposal.id, "accept_plan", INSPECTOR, plan="同意整改")
    [resumed] = run_sweep(cw, ESCALATION, SYSTEM).outcomes
    assert (resumed.status, resumed.action) == ("applied", "resume_after_rectification")
    assert resumed.linked == []  # the proposal was only read

    clock.advance(days=31)  # the item's deadline has passed
    record_without_reaction(cw, proposal.id, "refer_to_inspectorate", INSPECTOR, reason="逾期未整改")
    assert cw.get(negotiation.id).stage == "negotiating"
    assert list_due(cw, ESCALATION) == [
        Due(negotiation.id, "wage_negotiation", FollowUp(proposal.id, "refer_to_inspectorate"))
    ]
    [referred] = run_sweep(cw, ESCALATION, SYSTEM).outcomes
    assert (referred.status, referred.action, referred.linked) == ("applied", "refer_to_inspectorate", [])
    assert cw.get(negotiation.id).stage == "referred_to_inspectorate"
    [follow] = events(cw, negotiation.id, "ReferredToInspectorate")
    assert follow.actor_id == "system" and proposal.number in (follow.reason or "")
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0


def test_a_sweep_links_only_the_cases_it_recorded_on(cw: Casework, clock) -> None:
    [(negotiation, proposal)] = agreed_to_rectify(cw, clock)
    cw.execute(negotiation, "withdraw", SUPERVISOR, reason="企业已注销")
    before = len(events(cw, negotiation))
    clock.advance(days=(proposal.clocks["item-1"].due_on - today(clock)).days + 1)
    [outcome] = run_sweep(cw, LEGAL, SYSTEM).outcomes
    assert (outcome.number, outcome.action) == (proposal.number, "refer_to_inspectorate")
    assert outcome.linked == []  # the withdrawn negotiation was read, and nothing was recorded on it
    assert len(events(cw, negotiation)) == before


# -- escalation by a supervisor's confirmation --------------------------------------------------


@pytest.fixture
def confirming(tmp_path, database_url: str, clock: FixedClock) -> Iterator[Casework]:
    """A service whose policy has the scheduler propose each ladder step for a supervisor to confirm."""
    policy = dataclasses.replace(DeadlinePolicy(), escalation="confirm")
    cw = Casework(make_settings(tmp_path, database_url, policy=policy), clock)
    upgrade(cw.sql_engine)
    yield cw
    cw.close()


def test_with_the_confirm_policy_the_sweep_proposes_and_a_supervisor_confirms_or_dismisses(
    confirming: Casework, clock
) -> None:
    cw = confirming
    org_tree(cw)
    confirmed, dismissed = issue_offer(cw, "甲公司").case_id, issue_offer(cw, "乙公司").case_id
    clock.advance(days=21)
    report = run_sweep(cw, ESCALATION, SYSTEM)
    assert sorted((o.due.case_id, o.status, o.action) for o in report.outcomes) == sorted(
        [(confirmed, "proposed", "propose_escalation"), (dismissed, "proposed", "propose_escalation")]
    )
    for case_id in (confirmed, dismissed):
        case = get_as(cw, case_id, WageNegotiation)
        assert case.stage == "offer_issued" and case.pending_escalation is not None
        assert {k: case.pending_escalation[k] for k in ("action", "trigger", "due_on", "proposed_by")} == {
            "action": "escalate_to_acting_offer",
            "trigger": "reply",
            "due_on": DAY_0 + timedelta(days=20),
            "proposed_by": "system",
        }
        [proposed] = events(cw, case_id, "EscalationProposed")
        assert proposed.actor_role == "system" and "confirmation" in (proposed.reason or "")
        assert event_names(cw, case_id) == ["OfferIssued", "EscalationProposed"]
    assert run_sweep(cw, ESCALATION, SYSTEM).found == 0  # proposed once

    clock.advance(hours=2)
    cw.execute(confirmed, "confirm_escalation", SUPERVISOR)
    case = get_as(cw, confirmed, WageNegotiation)
    assert case.stage == "acting_offer_issued" and case.pending_escalation is None
    assert case.acting_union == "姑苏区总工会"
    [acting] = events(cw, confirmed, "ActingOfferIssued")
    assert (acting.actor_id, acting.actor_role) == (SUPERVISOR.id, "supervisor")
    assert (acting.reason or "").startswith("escalation confirmed")

    cw.execute(dismissed, "dismiss_escalation", SUPERVISOR, reason="企业已口头应约，书面答复在途")
    case = get_as(cw, dismissed, WageNegotiation)
    assert case.pending_escalation is None and case.stage == "offer_issued"
    assert [d["dismissed_by"] for d in case.dismissed_escalations] == [SUPERVISOR.id]
    before = len(events(cw, dismissed))

    for days in (1, 20):  # the next day; and day 42, when the confirmed case's acting offer has run out
        clock.advance(days=days)
        run_sweep(cw, ESCALATION, SYSTEM)
        assert len(events(cw, dismissed)) == before  # never proposed again for this deadline
        assert get_as(cw, dismissed, WageNegotiation).pending_escalation is None
    case = get_as(cw, confirmed, WageNegotiation)
    assert case.stage == "acting_offer_issued" and case.pending_escalation is not None
    assert case.pending_escalation["action"] == "issue_rectification"

    result = cw.execute(confirmed, "confirm_escalation", SUPERVISOR)
    assert result.stage == "rectification_pending"
    [linked] = result.linked
    [opened] = events(cw, linked["case_id"], "RectificationIssued")
    assert (opened.actor_id, opened.actor_role) == (SUPERVISOR.id, "supervisor")
    assert get_as(cw, linked["case_id"], RectificationProposal).items[0]["category"] == "collective_contract"


@pytest.fixture
def per_rung(tmp_path, database_url: str, clock: FixedClock) -> Iterator[Casework]:
    """A service where an acting offer is routine but a rectification proposal and a referral are a supervisor's
    to sign: the scheduler takes the first rung itself and proposes the other two."""
    policy = DeadlinePolicy(escalation={"acting_offer": "auto", "rectification": "confirm", "referral": "confirm"})
    cw = Casework(make_settings(tmp_path, database_url, policy=policy), clock)
    upgrade(cw.sql_engine)
    yield cw
    cw.close()


def test_each_rung_of_the_ladder_follows_its_own_policy(per_rung: Casework, clock) -> None:
    cw = per_rung
    org_tree(cw)
    confirmed, dismissed = issue_offer(cw, "甲公司").case_id, issue_offer(cw, "乙公司").case_id
    clock.advance(days=21)
    assert {(o.status, o.action) for o in run_sweep(cw, ESCALATION, SYSTEM).outcomes} == {
        ("applied", "escalate_to_acting_offer")
    }  # routine: taken by the scheduler
    clock.advance(days=21)
    assert {(o.status, o.action) for o in run_sweep(cw, ESCALATION, SYSTEM).outcomes} == {
        ("proposed", "propose_escalation")
    }  # a formal act: proposed
    proposals = {}
    for case_id in (confirmed, dismissed):
        pending = get_as(cw, case_id, WageNegotiation).pending_escalation
        assert pending is not None and pending["action"] == "issue_rectification"
        [linked] = cw.execute(case_id, "confirm_escalation", SUPERVISOR).linked
        proposals[case_id] = UUID(linked["case_id"])

    clock.advance(days=16)  # the proposals' reply clocks ran out yesterday
    report = run_sweep(cw, LEGAL, SYSTEM)
    assert {(o.status, o.action) for o in report.outcomes} == {("proposed", "propose_referral")}
    for case_id, proposal_id in proposals.items():
        proposal = get_as(cw, proposal_id, RectificationProposal)
        assert proposal.stage == "issued" and proposal.pending_referral is not None
        assert proposal.pending_referral["trigger"] == "reply"
        assert "awaiting a supervisor's confirmation" in proposal.pending_referral["why"]
        assert cw.get(case_id).stage == "rectification_pending"
    assert run_sweep(cw, LEGAL, SYSTEM).found == 0  # proposed once

    referred = cw.execute(proposals[confirmed], "confirm_referral", SUPERVISOR)
    assert referred.stage == "referred" and [c["number"] for c in referred.linked] == [cw.get(confirmed).number]
    [referral] = events(cw, proposals[confirmed], "RectificationReferred")
    assert (referral.actor_id, referral.actor_role) == (SUPERVISOR.id, "supervisor")
    assert cw.get(confirmed).stage == "referred_to_inspectorate"  # the negotiation followed, inline

    cw.execute(proposals[dismissed], "dismiss_referral", SUPERVISOR, reason="企业已书面答复，邮寄在途")
    before = len(events(cw, proposals[dismissed]))
    clock.advance(days=1)
    run_sweep(cw, LEGAL, SYSTEM)
    assert len(events(cw, proposals[dismissed])) == before  # not proposed again for this deadline
    assert cw.get(proposals[dismissed]).stage == "issued"


# -- once per case: repeated, concurrent and retried sweeps ----------------------------------------


def assert_escalated_once(cw: Casework, case_ids: list[UUID]) -> None:
    for case_id in case_ids:
        assert event_names(cw, case_id) == ["OfferIssued", "ActingOfferIssued"], case_id
        assert index_row(cw, case_id).version == 2


@ON_SQLITE
def test_a_sweep_run_twice_escalates_each_case_once(cw: Casework, clock) -> None:
    offers = [issue_offer(cw, f"企业{i:02d}") for i in range(5)]
    clock.advance(days=21)
    with using(cw):
        first = run_flow(escalation_sweep)
        second = run_flow(escalation_sweep)
    assert first.is_completed() and second.is_completed()
    assert first.result()["counts"] == {"applied": 5}
    assert second.result()["due"] == 0 and second.result()["counts"] == {}
    assert_escalated_once(cw, [o.case_id for o in offers])
    [summary] = [a for a in artifacts(flow_run_id(first)) if a.key == "escalation-sweep"]
    assert "5 applied" in summary.data
    assert all(o.number in summary.data for o in offers)


def test_two_sweeps_acting_on_the_same_overdue_cases_at_once_escalate_each_once(cw: Casework, clock) -> None:
    case_ids = [issue_offer(cw, f"企业{i:02d}").case_id for i in range(12)]
    clock.advance(days=21)
    barrier = threading.Barrier(2)

    def sweep() -> list[Any]:
        dues = list_due(cw, ESCALATION)  # both list every case before either acts
        barrier.wait(timeout=60)
        return apply_all(cw, dues, SYSTEM)

    with ThreadPoolExecutor(2) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(sweep), pool.submit(sweep)]]
    assert [len(r) for r in results] == [12, 12]
    statuses = Counter(o.status for r in results for o in r)
    assert statuses["applied"] == 12, statuses
    assert set(statuses) <= {"applied", "already_done", "skipped"}, statuses
    assert_escalated_once(cw, case_ids)
    assert list_due(cw, ESCALATION) == []


@ON_SQLITE
def test_two_sweep_flows_started_together_escalate_each_case_once(cw: Casework, clock) -> None:
    case_ids = [issue_offer(cw, f"企业{i:02d}").case_id for i in range(12)]
    clock.advance(days=21)
    barrier = threading.Barrier(2)

    def sweep() -> Any:
        barrier.wait(timeout=60)
        return run_flow(escalation_sweep, batch_size=3)

    with using(cw), ThreadPoolExecutor(2) as pool:
        states = [f.result(timeout=120) for f in [pool.submit(sweep), pool.submit(sweep)]]
    assert all(s.is_completed() for s in states), [s.message for s in states]
    assert flow_run_id(states[0]) != flow_run_id(states[1])
    applied = sum(s.result()["counts"].get("applied", 0) for s in states)
    assert applied == 12
    assert_escalated_once(cw, case_ids)
    runs = {flow_run_id(s) for s in states}
    assert all(events(cw, c, "ActingOfferIssued")[0].flow_run_id in runs for c in case_ids)


FAULT = """
create sequence command_log_faults;
create function fail_one_command() returns trigger language plpgsql as $$
begin
    if nextval('command_log_faults') = 3 then
        raise exception using message = 'injected fault: the database refused ' || new.command_id;
    end if;
    return new;
end $$;
create trigger fail_third_command before insert on command_log
    for each row execute function fail_one_command();
"""


@ON_POSTGRES
def test_a_batch_that_fails_mid_sweep_is_retried_and_escalates_each_case_once(cw: Casework, clock) -> None:
    case_ids = [issue_offer(cw, f"企业{i:02d}").case_id for i in range(6)]
    clock.advance(days=21)
    # A real database fault: the third command the sweep records is refused once (a sequence is not
    # rolled back with the failed transaction, so the retry's inserts pass).
    with cw.write_transaction() as session:
        session.execute(text(FAULT))
    with using(cw):
        state = run_flow(escalation_sweep, batch_size=50)  # one batch of six: the fault is in its middle
    assert state.is_completed(), state.message
    result = state.result()
    # The retried batch found its first two commands done and did the other four.
    assert result["counts"] == {"already_done": 2, "applied": 4}
    assert_escalated_once(cw, case_ids)
    with cw.read_transaction() as session:
        # 2 inserts, the refused one, then the retry's 4: the fault fired exactly once.
        assert session.execute(text("select last_value from command_log_faults")).scalar_one() == 7

    [batch] = task_runs(
        flow_run_id(state),
        "apply-batch",
        until=lambda runs: bool(runs) and all(r.state_type and r.state_type.value == "COMPLETED" for r in runs),
    )
    assert batch.state_type.value == "COMPLETED"
    assert batch.run_count == 2
