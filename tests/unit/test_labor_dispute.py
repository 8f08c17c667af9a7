"""LaborDispute (劳动争议调解): every action, its clocks, its refusals and its statistics."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from aggregates.base import DEFAULT_TZ
from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.labor_dispute import LaborDispute
from tests.unit.support import Desk

NUMBER = "LD-2026-000001"
FRIDAY = datetime(2026, 3, 6, 9, 0, tzinfo=DEFAULT_TZ)


def file_dispute(desk: Desk, role: str = "mediator", **overrides) -> LaborDispute:
    fields: dict[str, Any] = {
        "case_id": uuid4(),
        "number": NUMBER,
        "org_unit": "suzhou-industrial-park",
        "employer": {"name": "Suzhou Precision Parts Co.", "credit_code": "91320594MA1XXXXXXH"},
        "applicants": [{"name": "Wang Fang", "id_number": "320501199001011238", "phone": "13800000000"}],
        "workers_involved": 1,
        "claims": [
            {"category": "wages", "amount": "5200.5", "description": "March wages unpaid"},
            {"category": "overtime", "amount": 800},
        ],
        "summary": "Unpaid wages",
    }
    fields.update(overrides)
    return LaborDispute.file(desk.ctx(role), **fields)


def accepted(desk: Desk) -> LaborDispute:
    case = file_dispute(desk)
    case.accept(desk.ctx("mediator"))
    return case


def in_mediation(desk: Desk) -> LaborDispute:
    case = accepted(desk)
    case.start_mediation(desk.ctx("mediator"), mediator="mediator-7")
    return case


def agreement_reached(desk: Desk) -> LaborDispute:
    case = in_mediation(desk)
    case.reach_agreement(desk.ctx("mediator"), terms="pay wages and overtime", performance_due=date(2026, 3, 31))
    return case


def mediation_failed(desk: Desk) -> LaborDispute:
    case = in_mediation(desk)
    case.fail_mediation(desk.ctx("mediator", reason="employer refuses to pay"))
    return case


def resolved(desk: Desk) -> LaborDispute:
    case = agreement_reached(desk)
    case.confirm_performance(desk.ctx("mediator"))
    return case


def referred_to_arbitration(desk: Desk) -> LaborDispute:
    case = mediation_failed(desk)
    case.refer_to_arbitration(desk.ctx("mediator"))
    return case


def declined(desk: Desk) -> LaborDispute:
    case = file_dispute(desk)
    case.decline(desk.ctx("mediator", reason="not a labor dispute"))
    return case


def withdrawn(desk: Desk) -> LaborDispute:
    case = file_dispute(desk)
    case.withdraw(desk.ctx("caseworker", reason="settled privately"))
    return case


# How a dispute reaches each stage of its table: the tests of every case type walk it.
STAGE_BUILDERS = {
    "filed": file_dispute,
    "accepted": accepted,
    "declined": declined,
    "in_mediation": in_mediation,
    "agreement_reached": agreement_reached,
    "resolved": resolved,
    "mediation_failed": mediation_failed,
    "referred_to_arbitration": referred_to_arbitration,
    "withdrawn": withdrawn,
}

# Valid data for each of the dispute's own commands, for the table-driven refusals of every case type.
VALID: dict[str, dict[str, Any]] = {
    "accept": {},
    "decline": {},
    "start_mediation": {"mediator": "mediator-7"},
    "record_session": {"held_on": date(2026, 3, 2), "summary": "both parties heard"},
    "extend_mediation": {"parties_consent": True},
    "reach_agreement": {"terms": "pay wages", "performance_due": date(2026, 3, 31)},
    "confirm_performance": {},
    "fail_mediation": {},
    "deem_failed": {},
    "refer_to_arbitration": {},
    "withdraw": {},
}


def last_event(case):
    return case.pending_events[-1]


# -- file ----------------------------------------------------------------------------------


def test_file_opens_the_acceptance_clock_in_working_days():
    desk = Desk(now=FRIDAY)
    case = file_dispute(desk, assignee="mediator-7")
    assert case.stage == "filed"
    assert case.number == NUMBER
    assert case.org_unit == "suzhou-industrial-park"
    assert case.assignee == "mediator-7"
    assert case.opened_by == "mediator-1"
    assert case.opened_at == FRIDAY
    assert list(case.clocks) == ["acceptance"]
    clock = case.clocks["acceptance"]
    # 3 working days from Friday 6 March: Mon 9, Tue 10, Wed 11.
    assert (clock.started_on, clock.due_on) == (date(2026, 3, 6), date(2026, 3, 11))
    assert case.is_open
    assert case.version == 1


def test_file_records_state_and_normalised_claims():
    desk = Desk()
    case = file_dispute(desk)
    assert case.employer == {"name": "Suzhou Precision Parts Co.", "credit_code": "91320594MA1XXXXXXH"}
    assert case.applicants == [{"name": "Wang Fang", "id_number": "320501199001011238", "phone": "13800000000"}]
    assert case.claims == [
        {"category": "wages", "amount": Decimal("5200.50"), "description": "March wages unpaid"},
        {"category": "overtime", "amount": Decimal("800.00"), "description": ""},
    ]
    assert case.claimed_amount == Decimal("6000.50")
    assert case.summary_text == "Unpaid wages"
    assert case.mediator is None and case.sessions == [] and case.agreement is None
    assert case.mediation_extended is False and case.outcome is None
    assert case.parties() == ["Suzhou Precision Parts Co."]
    assert case.flags() == []
    assert case.statistics(last_event(case)) == {"disputes_filed": 1}


def test_file_keeps_only_known_applicant_fields():
    case = file_dispute(Desk(), applicants=[{"name": "Li Lei", "salary": 9000, "address": "Suzhou"}])
    assert case.applicants == [{"name": "Li Lei", "address": "Suzhou"}]


def test_ten_or_more_workers_make_a_collective_dispute():
    desk = Desk()
    applicants = [{"name": f"Worker {i}"} for i in range(3)]
    case = file_dispute(desk, applicants=applicants, workers_involved=10)
    assert case.is_collective
    assert case.flags() == ["collective"]
    case.accept(desk.ctx("mediator"))
    assert case.statistics(last_event(case)) == {
        "disputes_accepted": 1,
        "dispute_workers_involved": 10,
        "collective_disputes_accepted": 1,
    }


def test_nine_workers_are_not_collective():
    case = file_dispute(Desk(), workers_involved=9)
    assert not case.is_collective
    assert case.flags() == []


def test_file_names_every_bad_field():
    with pytest.raises(InvalidCommand) as err:
        file_dispute(
            Desk(),
            employer={"name": "  "},
            applicants=[{"name": ""}, {"name": "Zhao"}],
            workers_involved=1,
            claims=[{"category": "bonus", "amount": "-5"}, {"category": "wages", "amount": "lots"}],
        )
    assert err.value.fields.keys() == {
        "employer.name",
        "applicants[0].name",
        "workers_involved",
        "claims[0].category",
        "claims[0].amount",
        "claims[1].amount",
    }
    assert err.value.action == "file"
    assert err.value.case == f"LaborDispute {NUMBER}"


def test_file_requires_applicants_and_claims():
    with pytest.raises(InvalidCommand) as err:
        file_dispute(Desk(), applicants=[], claims=[], workers_involved=0)
    assert {"applicants", "claims", "workers_involved"} <= err.value.fields.keys()


@pytest.mark.parametrize("workers", [True, 1.0, "3", -1])
def test_file_refuses_workers_involved_that_is_not_a_whole_number(workers):
    with pytest.raises(InvalidCommand) as err:
        file_dispute(Desk(), workers_involved=workers)
    assert list(err.value.fields) == ["workers_involved"]


# -- accept / decline ------------------------------------------------------------------------


def test_accept_closes_acceptance_and_opens_15_day_mediation():
    desk = Desk(now=FRIDAY)
    case = file_dispute(desk)
    desk.advance(days=3)  # Monday 9 March
    case.accept(desk.ctx("mediator"))
    assert case.stage == "accepted"
    assert list(case.clocks) == ["mediation"]
    mediation = case.clocks["mediation"]
    assert (mediation.started_on, mediation.due_on) == (date(2026, 3, 9), date(2026, 3, 24))
    event = last_event(case)
    assert event.clocks_closed == ["acceptance"]
    assert event.clocks_opened == {
        "mediation": {"started_on": date(2026, 3, 9), "due_on": date(2026, 3, 24), "paused_on": None, "extensions": 0}
    }
    assert case.statistics(event) == {"disputes_accepted": 1, "dispute_workers_involved": 1}


def test_accept_after_the_acceptance_clock_ran_out_is_still_recorded():
    desk = Desk(now=FRIDAY)
    case = file_dispute(desk)
    desk.advance(days=10)
    assert case.clocks["acceptance"].is_overdue(desk.now.date())
    case.accept(desk.ctx("supervisor"))
    assert case.stage == "accepted"


def test_caseworker_may_not_accept():
    case = file_dispute(Desk())
    with pytest.raises(ActionNotAllowed) as err:
        case.accept(Desk().ctx("caseworker"))
    assert "mediator, supervisor" in str(err.value)
    # A caseworker may file and withdraw a dispute, nothing else (the working roles are mediator, supervisor).
    assert err.value.allowed == ["withdraw"]


def test_decline_needs_a_reason_and_closes_every_clock():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(InvalidCommand) as err:
        case.decline(desk.ctx("mediator"))
    assert "reason" in err.value.fields
    with pytest.raises(InvalidCommand):
        case.decline(desk.ctx("mediator", reason="   "))
    assert case.stage == "filed" and case.version == 1
    case.decline(desk.ctx("mediator", reason="not a labor dispute (commercial contract)"))
    assert case.stage == "declined"
    assert case.clocks == {}
    assert not case.is_open
    assert last_event(case).reason == "not a labor dispute (commercial contract)"
    assert last_event(case).clocks_closed == ["acceptance"]
    assert case.statistics(last_event(case)) == {"disputes_declined": 1}
    assert case.allowed_actions() == []


# -- mediation -----------------------------------------------------------------------------


def test_start_mediation_assigns_the_mediator_when_unassigned():
    desk = Desk()
    case = file_dispute(desk)
    case.accept(desk.ctx("mediator"))
    case.start_mediation(desk.ctx("mediator"), mediator="  mediator-7 ")
    assert case.stage == "in_mediation"
    assert case.mediator == "mediator-7"
    assert case.assignee == "mediator-7"
    assert list(case.clocks) == ["mediation"]
    assert case.statistics(last_event(case)) == {}


def test_start_mediation_keeps_an_existing_assignee():
    desk = Desk()
    case = file_dispute(desk, assignee="caseworker-2")
    case.accept(desk.ctx("mediator"))
    case.start_mediation(desk.ctx("mediator"), mediator="mediator-7")
    assert case.assignee == "caseworker-2"
    assert case.mediator == "mediator-7"


def test_start_mediation_requires_a_mediator():
    desk = Desk()
    case = file_dispute(desk)
    case.accept(desk.ctx("mediator"))
    with pytest.raises(InvalidCommand) as err:
        case.start_mediation(desk.ctx("mediator"), mediator=" ")
    assert err.value.fields == {"mediator": "is required"}


def test_record_session():
    desk = Desk()
    case = in_mediation(desk)
    desk.advance(days=2)
    case.record_session(
        desk.ctx("mediator"),
        held_on=date(2026, 3, 4),
        summary="  both parties heard ",
        attendees=["Wang Fang", "HR manager"],
    )
    assert case.stage == "in_mediation"
    assert case.sessions == [
        {"held_on": date(2026, 3, 4), "summary": "both parties heard", "attendees": ["Wang Fang", "HR manager"]}
    ]
    assert case.statistics(last_event(case)) == {}


def test_record_session_names_every_bad_field():
    desk = Desk()
    case = in_mediation(desk)
    with pytest.raises(InvalidCommand) as err:
        case.record_session(desk.ctx("mediator"), held_on=date(2026, 3, 3), summary="")
    assert err.value.fields == {"held_on": "may not lie in the future", "summary": "is required"}
    with pytest.raises(InvalidCommand) as err:
        case.record_session(desk.ctx("mediator"), held_on="2026-03-02", summary="x")
    assert err.value.fields == {"held_on": "must be a date"}


def test_datetimes_are_refused_where_a_date_is_expected():
    # A datetime is a date subclass but cannot be compared with one: it must be a field error, not a TypeError.
    desk = Desk()
    case = in_mediation(desk)
    with pytest.raises(InvalidCommand) as err:
        case.record_session(desk.ctx("mediator"), held_on=desk.now, summary="x")
    assert err.value.fields == {"held_on": "must be a date"}
    with pytest.raises(InvalidCommand) as err:
        case.reach_agreement(desk.ctx("mediator"), terms="x", performance_due=desk.now + timedelta(days=9))
    assert err.value.fields == {"performance_due": "must be a date"}


@pytest.mark.parametrize("started", [False, True])
def test_extend_mediation_once_with_consent(started):
    desk = Desk()
    case = in_mediation(desk) if started else file_dispute(desk)
    if not started:
        case.accept(desk.ctx("mediator"))
    ctx = desk.ctx("mediator", reason="both parties asked for more time")
    case.extend_mediation(ctx, parties_consent=True)
    clock = case.clocks["mediation"]
    assert clock.due_on == date(2026, 3, 17) + timedelta(days=15)
    assert clock.extensions == 1
    assert case.mediation_extended is True
    assert last_event(case).data == {
        "clock": "mediation",
        "due_on": date(2026, 4, 1),
        "previous_due_on": date(2026, 3, 17),
        "parties_consent": True,
    }
    with pytest.raises(ActionNotAllowed) as err:
        case.extend_mediation(ctx, parties_consent=True)
    assert "only once" in str(err.value)


def test_extend_mediation_with_explicit_days():
    desk = Desk()
    case = in_mediation(desk)
    case.extend_mediation(desk.ctx("mediator", reason="consent"), parties_consent=True, days=10)
    assert case.clocks["mediation"].due_on == date(2026, 3, 27)


def test_extend_mediation_requires_consent_and_a_reason():
    desk = Desk()
    case = in_mediation(desk)
    with pytest.raises(InvalidCommand) as err:
        case.extend_mediation(desk.ctx("mediator"), parties_consent=True)
    assert "reason" in err.value.fields
    with pytest.raises(InvalidCommand) as err:
        case.extend_mediation(desk.ctx("mediator", reason="employer wants time"), parties_consent=False)
    assert "parties_consent" in err.value.fields
    assert case.mediation_extended is False
    assert case.clocks["mediation"].due_on == date(2026, 3, 17)


def test_mediation_clock_cannot_be_extended_with_the_generic_action():
    desk = Desk()
    case = in_mediation(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.extend_clock(desk.ctx("supervisor", reason="busy"), clock="mediation", days=5)
    assert "extend_mediation" in str(err.value)


# -- outcomes -------------------------------------------------------------------------------


def test_reach_agreement_opens_the_performance_clock():
    desk = Desk()
    case = in_mediation(desk)
    desk.advance(days=5)
    case.reach_agreement(
        desk.ctx("mediator"),
        terms=" pay wages and overtime ",
        amounts={"wages": "5200.5", "overtime": 800},
        performance_due=date(2026, 3, 31),
    )
    assert case.stage == "agreement_reached"
    assert list(case.clocks) == ["performance"]
    perf = case.clocks["performance"]
    assert (perf.started_on, perf.due_on) == (date(2026, 3, 7), date(2026, 3, 31))
    assert case.agreement == {
        "terms": "pay wages and overtime",
        "amounts": {"wages": Decimal("5200.50"), "overtime": Decimal("800.00")},
        "total_amount": Decimal("6000.50"),
        "performance_due": date(2026, 3, 31),
    }
    event = last_event(case)
    assert event.clocks_closed == ["mediation"]
    assert case.statistics(event) == {"disputes_mediated": 1, "dispute_agreed_amount": Decimal("6000.50")}


def test_reach_agreement_without_amounts():
    desk = Desk()
    case = in_mediation(desk)
    case.reach_agreement(desk.ctx("mediator"), terms="apology and reinstatement", performance_due=date(2026, 3, 2))
    assert case.agreement["total_amount"] == Decimal("0.00")


def test_reach_agreement_names_every_bad_field():
    desk = Desk()
    case = in_mediation(desk)
    with pytest.raises(InvalidCommand) as err:
        case.reach_agreement(
            desk.ctx("mediator"), terms="", amounts={"wages": "-1", "bonus": "abc"}, performance_due=date(2026, 3, 1)
        )
    assert err.value.fields.keys() == {"terms", "performance_due", "amounts.wages", "amounts.bonus"}
    with pytest.raises(InvalidCommand) as err:
        case.reach_agreement(desk.ctx("mediator"), terms="x", performance_due=None)
    assert err.value.fields == {"performance_due": "must be a date"}
    assert case.stage == "in_mediation"


def test_confirm_performance_resolves_the_case():
    desk = Desk()
    case = in_mediation(desk)
    case.reach_agreement(desk.ctx("mediator"), terms="pay", amounts={"wages": 100}, performance_due=date(2026, 3, 20))
    desk.advance(days=10)
    case.confirm_performance(desk.ctx("mediator"))
    assert case.stage == "resolved"
    assert case.clocks == {}
    assert case.outcome == "performed"
    assert last_event(case).clocks_closed == ["performance"]
    assert case.statistics(last_event(case)) == {"disputes_resolved": 1}
    assert not case.is_open


@pytest.mark.parametrize("started", [False, True])
def test_fail_mediation_needs_a_reason(started):
    desk = Desk()
    case = in_mediation(desk) if started else file_dispute(desk)
    if not started:
        case.accept(desk.ctx("mediator"))
    with pytest.raises(InvalidCommand) as err:
        case.fail_mediation(desk.ctx("mediator"))
    assert "reason" in err.value.fields
    case.fail_mediation(desk.ctx("mediator", reason="employer refuses to pay"))
    assert case.stage == "mediation_failed"
    assert case.clocks == {}
    assert case.statistics(last_event(case)) == {"disputes_failed": 1}
    assert case.is_open


def test_deem_failed_refused_on_day_15_and_allowed_on_day_16():
    desk = Desk()
    case = file_dispute(desk)
    case.accept(desk.ctx("mediator"))
    assert case.clocks["mediation"].due_on == date(2026, 3, 17)
    desk.advance(days=15)
    with pytest.raises(ActionNotAllowed) as err:
        case.deem_failed(desk.ctx("system"))
    assert "has not run out (due 2026-03-17)" in str(err.value)
    desk.advance(days=1)
    case.deem_failed(desk.ctx("system"))
    assert case.stage == "mediation_failed"
    assert case.clocks == {}
    assert last_event(case).data == {"due_on": date(2026, 3, 17)}
    assert case.statistics(last_event(case)) == {"disputes_failed": 1}


def test_deem_failed_respects_an_extension_and_a_pause():
    desk = Desk()
    case = in_mediation(desk)
    case.extend_mediation(desk.ctx("mediator", reason="consent"), parties_consent=True)
    desk.advance(days=16)
    with pytest.raises(ActionNotAllowed):
        case.deem_failed(desk.ctx("system"))
    case.pause_clock(desk.ctx("supervisor", reason="worker hospitalised"), clock="mediation")
    desk.advance(days=30)
    with pytest.raises(ActionNotAllowed):
        case.deem_failed(desk.ctx("system"))


def test_deem_failed_by_supervisor_but_not_mediator():
    desk = Desk()
    case = in_mediation(desk)
    desk.advance(days=16)
    with pytest.raises(ActionNotAllowed) as err:
        case.deem_failed(desk.ctx("mediator"))
    assert "role 'mediator' may not run it" in str(err.value)
    case.deem_failed(desk.ctx("supervisor"))
    assert case.stage == "mediation_failed"


@pytest.mark.parametrize("path", ["failed", "agreement"])
def test_refer_to_arbitration(path):
    desk = Desk()
    case = in_mediation(desk)
    if path == "failed":
        case.fail_mediation(desk.ctx("mediator", reason="no agreement"))
    else:
        case.reach_agreement(desk.ctx("mediator"), terms="pay", performance_due=date(2026, 3, 10))
        desk.advance(days=12)  # the employer did not perform
    case.refer_to_arbitration(desk.ctx("mediator"))
    assert case.stage == "referred_to_arbitration"
    assert case.clocks == {}
    assert case.statistics(last_event(case)) == {"disputes_referred": 1}
    assert not case.is_open


# -- refusals ------------------------------------------------------------------------------


def test_wrong_stage_names_case_stage_action_and_allowed_actions():
    desk = Desk()
    case = file_dispute(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.confirm_performance(desk.ctx("mediator"))
    e = err.value
    assert (e.case, e.stage, e.action) == (f"LaborDispute {NUMBER}", "filed", "confirm_performance")
    assert e.allowed == ["accept", "decline", "withdraw", "add_note", "link_case"]
    message = str(e)
    for part in (NUMBER, "'filed'", "'confirm_performance'", "accept, decline, withdraw, add_note, link_case"):
        assert part in message
    assert e.to_dict()["allowed_actions"] == e.allowed
    assert case.version == 1


def test_allowed_actions_by_role():
    desk = Desk()
    case = in_mediation(desk)
    assert case.allowed_actions("mediator") == [
        "record_session",
        "extend_mediation",
        "reach_agreement",
        "fail_mediation",
        "withdraw",
        "add_note",
        "link_case",
    ]
    assert case.allowed_actions("system") == []  # the mediation clock is running: nothing for the scheduler
    assert "assign" in case.allowed_actions("supervisor")
    assert case.allowed_actions("auditor") == []
    desk.advance(days=16)
    assert case.allowed_actions("system", desk.ctx("system").now) == ["deem_failed", "raise_alert"]


# -- a long path (replayed and hash-checked with every case type) and the index row ----------------


def long_path(desk: Desk) -> LaborDispute:
    """Every kind of command a dispute takes on its way to being resolved: 12 events."""
    case = file_dispute(desk, workers_involved=12)
    desk.advance(days=1)
    case.assign(desk.ctx("supervisor"), assignee="mediator-7")
    case.accept(desk.ctx("mediator"))
    case.add_note(desk.ctx("mediator"), text="called the employer")
    case.link_case(
        desk.ctx("mediator"), case_id=uuid4(), number="WN-2026-000004", kind="wage_negotiation", relation="related"
    )
    case.start_mediation(desk.ctx("mediator"), mediator="mediator-7")
    desk.advance(days=2)
    case.record_session(desk.ctx("mediator"), held_on=date(2026, 3, 5), summary="first session")
    case.pause_clock(desk.ctx("supervisor", reason="worker unreachable"), clock="mediation")
    desk.advance(days=4)
    case.resume_clock(desk.ctx("supervisor"), clock="mediation")
    case.extend_mediation(desk.ctx("mediator", reason="both consent"), parties_consent=True)
    desk.advance(days=3)
    case.reach_agreement(
        desk.ctx("mediator"),
        terms="pay in two instalments",
        amounts={"wages": "12000", "overtime": "3000.25"},
        performance_due=date(2026, 4, 30),
    )
    desk.advance(days=20)
    case.confirm_performance(desk.ctx("supervisor"))
    return case


def test_summary_row():
    desk = Desk()
    case = file_dispute(desk, workers_involved=10)
    row = case.summary()
    assert row["kind"] == "labor_dispute"
    assert row["number"] == NUMBER
    assert row["stage"] == "filed"
    assert row["parties"] == "Suzhou Precision Parts Co."
    assert row["flags"] == "collective"
    assert row["version"] == 1
    assert row["head_hash"] == case.pending_events[0].hash
