"""WageNegotiation: the offer, its escalation ladder, negotiation and the contract's life."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.wage_negotiation import Escalation, WageNegotiation
from tests.unit.support import Desk, live_state, replay

START = date(2026, 3, 2)  # the Desk's default business date
NUMBER = "WN-2026-000001"


def days(n: int) -> date:
    return START + timedelta(days=n)


def issue(desk: Desk, role: str = "negotiator", **overrides) -> WageNegotiation:
    fields: dict[str, Any] = {
        "case_id": uuid4(),
        "number": NUMBER,
        "org_unit": "suzhou/gusu",
        "enterprise": {"name": "苏州精密机械有限公司", "credit_code": "91320500MA1XXXXXXC", "employees": 320},
        "issuing_union": "苏州精密机械有限公司工会",
        "document_number": "苏工要〔2026〕7号",
        "terms": {"wage_increase_pct": "5.5", "minimum_wage": "2490", "other": "高温津贴"},
        "first_of_document": True,
        "covers": 1,
    }
    fields.update(overrides)
    return WageNegotiation.issue_offer(desk.ctx(role), **fields)


def last_event(case: WageNegotiation):
    return case.pending_events[-1]


def stats(case: WageNegotiation) -> dict:
    return case.statistics(last_event(case))


def to_negotiating(desk: Desk) -> WageNegotiation:
    case = issue(desk)
    case.accept_offer(desk.ctx("negotiator"))
    return case


def to_impasse(desk: Desk) -> WageNegotiation:
    case = to_negotiating(desk)
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6")
    case.declare_impasse(desk.ctx("negotiator", reason="enterprise will not move below 1%"))
    return case


def to_coordination(desk: Desk) -> WageNegotiation:
    case = to_impasse(desk)
    case.request_coordination(desk.ctx("negotiator"), authority="苏州市人力资源和社会保障局")
    return case


def to_agreed(desk: Desk) -> WageNegotiation:
    case = to_negotiating(desk)
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6", minimum_wage="2600")
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="4.5", other_terms="年终奖")
    case.accept_proposal(desk.ctx("negotiator"), side="union")
    return case


def to_congress_approved(desk: Desk) -> WageNegotiation:
    case = to_agreed(desk)
    case.approve_by_congress(desk.ctx("negotiator"), votes_for=80, votes_against=10, representatives=100)
    return case


def to_signed(desk: Desk, term_end: date = date(2029, 3, 31)) -> WageNegotiation:
    case = to_congress_approved(desk)
    case.sign(desk.ctx("negotiator"), signed_on=desk.now.date(), term_start=date(2026, 4, 1), term_end=term_end)
    return case


def to_filed(desk: Desk, term_end: date = date(2029, 3, 31)) -> WageNegotiation:
    case = to_signed(desk, term_end)
    case.file_with_bureau(desk.ctx("negotiator"), bureau="苏州市人力资源和社会保障局")
    return case


def to_effective(desk: Desk) -> WageNegotiation:
    case = to_filed(desk)
    case.take_effect(desk.ctx("negotiator"), bureau_confirmed=True)
    return case


def to_expiring(desk: Desk) -> WageNegotiation:
    case = to_effective(desk)
    case.mark_expiring(desk.ctx("system"))
    return case


def to_offer_refused(desk: Desk) -> WageNegotiation:
    case = issue(desk)
    case.refuse_offer(desk.ctx("negotiator", reason="企业称经营困难"))
    return case


def to_acting_offer(desk: Desk) -> WageNegotiation:
    case = to_offer_refused(desk)
    case.escalate_to_acting_offer(
        desk.ctx("supervisor", reason="refused without good reason"), acting_union="姑苏区总工会"
    )
    return case


def to_rectification_pending(desk: Desk) -> WageNegotiation:
    case = to_acting_offer(desk)
    case.refuse_offer(desk.ctx("negotiator", reason="refused again"))
    case.issue_rectification(
        desk.ctx("system", reason="acting offer refused"),
        rectification_case_id=uuid4(),
        rectification_number="RP-2026-000001",
    )
    return case


def to_referred_to_inspectorate(desk: Desk) -> WageNegotiation:
    case = to_rectification_pending(desk)
    case.refer_to_inspectorate(desk.ctx("system", reason="rectification refused"))
    return case


def to_concluded(desk: Desk) -> WageNegotiation:
    case = to_effective(desk)
    case.conclude(desk.ctx("negotiator", reason="enterprise dissolved"))
    return case


def to_closed(desk: Desk) -> WageNegotiation:
    case = to_impasse(desk)
    case.close(desk.ctx("supervisor", reason="no agreement possible"))
    return case


def to_withdrawn(desk: Desk) -> WageNegotiation:
    case = issue(desk)
    case.withdraw(desk.ctx("supervisor", reason="enterprise closed"))
    return case


# How a negotiation reaches each stage of its table (the tests of every case type walk it too).
STAGE_BUILDERS = {
    "offer_issued": issue,
    "offer_refused": to_offer_refused,
    "acting_offer_issued": to_acting_offer,
    "rectification_pending": to_rectification_pending,
    "negotiating": to_negotiating,
    "impasse": to_impasse,
    "coordination": to_coordination,
    "agreed": to_agreed,
    "congress_approved": to_congress_approved,
    "signed": to_signed,
    "filed": to_filed,
    "effective": to_effective,
    "expiring": to_expiring,
    "referred_to_inspectorate": to_referred_to_inspectorate,
    "concluded": to_concluded,
    "closed": to_closed,
    "withdrawn": to_withdrawn,
}

# Valid data for each of the negotiation's own commands, for the table-driven refusals of every case type.
VALID: dict[str, dict[str, Any]] = {
    "accept_offer": {},
    "refuse_offer": {},
    "escalate_to_acting_offer": {"acting_union": "姑苏区总工会"},
    "issue_rectification": {"rectification_case_id": uuid4(), "rectification_number": "RP-2026-000001"},
    "resume_after_rectification": {},
    "refer_to_inspectorate": {},
    "propose_escalation": {},
    "confirm_escalation": {"acting_union": "姑苏区总工会"},
    "dismiss_escalation": {},
    "submit_proposal": {"side": "enterprise", "wage_increase_pct": "5"},
    "accept_proposal": {"side": "enterprise"},
    "declare_impasse": {},
    "request_coordination": {"authority": "人社局"},
    "resume_negotiation": {},
    "close": {},
    "approve_by_congress": {"votes_for": 60, "votes_against": 0, "representatives": 100},
    "reject_by_congress": {"votes_for": 20, "representatives": 100},
    "sign": {"signed_on": START, "term_start": date(2026, 4, 1), "term_end": date(2027, 3, 31)},
    "file_with_bureau": {"bureau": "人社局"},
    "record_objection": {},
    "take_effect": {"bureau_confirmed": True},
    "mark_expiring": {},
    "conclude": {},
    "withdraw": {},
}


# -- issue_offer -------------------------------------------------------------------------


def test_issue_offer_opens_the_case_with_a_20_day_reply_clock():
    desk = Desk()
    case = issue(desk)
    assert case.stage == "offer_issued"
    assert case.number == NUMBER and case.PREFIX == "WN" and case.KIND == "wage_negotiation"
    assert list(case.clocks) == ["reply"]
    assert case.clocks["reply"].started_on == START
    assert case.clocks["reply"].due_on == days(20)
    assert case.enterprise == {"name": "苏州精密机械有限公司", "credit_code": "91320500MA1XXXXXXC", "employees": 320}
    assert case.issuing_union == "苏州精密机械有限公司工会"
    assert case.document_number == "苏工要〔2026〕7号"
    assert case.terms == {"wage_increase_pct": Decimal("5.5"), "minimum_wage": Decimal("2490.00"), "other": "高温津贴"}
    assert case.ladder_step == 0
    assert case.proposals == [] and case.agreed_terms is None and case.contract is None
    assert case.parties() == ["苏州精密机械有限公司"]
    assert case.flags() == []
    assert case.summary()["parties"] == "苏州精密机械有限公司"
    assert stats(case) == {"enterprises_covered": 1, "offers_written": 1}
    assert case.allowed_actions("negotiator") == [
        "accept_offer",
        "refuse_offer",
        "add_note",
        "link_case",
    ]


def test_one_written_offer_covering_several_enterprises_counts_once():
    desk = Desk()
    first = issue(desk, covers=3, first_of_document=True)
    second = issue(
        desk, number="WN-2026-000002", covers=3, first_of_document=False, enterprise={"name": "苏州纺织有限公司"}
    )
    assert stats(first) == {"enterprises_covered": 1, "offers_written": 1}
    assert stats(second) == {"enterprises_covered": 1}
    assert second.flags() == ["multi_enterprise_offer"]
    assert second.enterprise == {"name": "苏州纺织有限公司", "credit_code": "", "employees": None}
    assert second.terms == {
        "wage_increase_pct": Decimal("5.5"),
        "minimum_wage": Decimal("2490.00"),
        "other": "高温津贴",
    }


def test_issue_offer_without_terms():
    case = issue(Desk(), terms=None)
    assert case.terms == {"wage_increase_pct": None, "minimum_wage": None, "other": ""}


def test_issue_offer_names_every_bad_field():
    with pytest.raises(InvalidCommand) as err:
        issue(
            Desk(),
            enterprise={"name": " ", "employees": -1},
            issuing_union="",
            document_number="  ",
            terms={"wage_increase_pct": "lots", "minimum_wage": "-5"},
            first_of_document="yes",
            covers=0,
        )
    assert set(err.value.fields) == {
        "enterprise.name",
        "enterprise.employees",
        "issuing_union",
        "document_number",
        "terms.wage_increase_pct",
        "terms.minimum_wage",
        "first_of_document",
        "covers",
    }
    assert err.value.action == "issue_offer"
    assert NUMBER in str(err.value)


def test_issue_offer_rejects_an_out_of_range_percentage():
    with pytest.raises(InvalidCommand) as err:
        issue(Desk(), terms={"wage_increase_pct": "101"})
    assert set(err.value.fields) == {"terms.wage_increase_pct"}


# -- accept / refuse the offer -----------------------------------------------------------------


def test_accept_offer_starts_negotiation_and_counts_the_answer():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=5)
    case.accept_offer(desk.ctx("negotiator"))
    assert case.stage == "negotiating"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["reply"]
    assert last_event(case).data == {"answered_on": days(5)}
    assert stats(case) == {"offers_answered": 1}


def test_accept_an_acting_offer():
    desk = Desk()
    case = to_acting_offer(desk)
    case.accept_offer(desk.ctx("negotiator"))
    assert case.stage == "negotiating"
    assert case.clocks == {}
    assert case.ladder_step == 1
    assert stats(case) == {"offers_answered": 1}


def test_refuse_offer():
    desk = Desk()
    case = to_offer_refused(desk)
    assert case.stage == "offer_refused"
    assert case.clocks == {}
    assert last_event(case).reason == "企业称经营困难"
    assert stats(case) == {"offers_refused": 1}


def test_accept_offer_in_the_wrong_stage_names_case_stage_action_and_what_is_allowed():
    desk = Desk()
    case = to_negotiating(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.accept_offer(desk.ctx("negotiator"))
    e = err.value
    assert (e.stage, e.action) == ("negotiating", "accept_offer")
    assert e.allowed == case.allowed_actions("negotiator")
    assert "submit_proposal" in e.allowed
    message = str(e)
    assert NUMBER in message and "'negotiating'" in message and "'accept_offer'" in message
    for name in e.allowed:
        assert name in message


# -- the escalation ladder ----------------------------------------------------------------


def test_acting_offer_before_the_reply_clock_runs_out_is_refused_day_19():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=19)
    with pytest.raises(ActionNotAllowed) as err:
        case.escalate_to_acting_offer(desk.ctx("system", reason="no reply"), acting_union="姑苏区总工会")
    assert "due 2026-03-22" in err.value.why
    assert case.stage == "offer_issued" and case.ladder_step == 0


def test_acting_offer_on_the_due_day_is_still_refused_day_20():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=20)
    with pytest.raises(ActionNotAllowed):
        case.escalate_to_acting_offer(desk.ctx("system", reason="no reply"), acting_union="姑苏区总工会")


def test_acting_offer_once_the_reply_clock_ran_out_day_21():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.escalate_to_acting_offer(desk.ctx("system", reason="no reply within 20 days"), acting_union="姑苏区总工会")
    assert case.stage == "acting_offer_issued"
    assert case.ladder_step == 1
    assert case.acting_union == "姑苏区总工会"
    assert case.clocks["reply"].started_on == days(21)
    assert case.clocks["reply"].due_on == days(41)
    assert last_event(case).clocks_closed == ["reply"]
    assert stats(case) == {"acting_offers": 1}
    assert case.flags() == ["acting_offer"]


def test_a_paused_reply_clock_never_runs_out():
    desk = Desk()
    case = issue(desk)
    case.pause_clock(desk.ctx("supervisor", reason="enterprise relocating"), clock="reply")
    desk.advance(days=30)
    with pytest.raises(ActionNotAllowed) as err:
        case.escalate_to_acting_offer(desk.ctx("system", reason="no reply"), acting_union="姑苏区总工会")
    assert "paused" in err.value.why


def test_acting_offer_right_after_a_refusal():
    desk = Desk()
    case = to_acting_offer(desk)
    assert case.stage == "acting_offer_issued"
    assert case.clocks["reply"].due_on == days(20)
    assert stats(case) == {"acting_offers": 1}


def test_acting_offer_only_once():
    desk = Desk()
    case = to_acting_offer(desk)
    case.refuse_offer(desk.ctx("negotiator", reason="refused again"))
    with pytest.raises(ActionNotAllowed) as err:
        case.escalate_to_acting_offer(desk.ctx("supervisor", reason="again"), acting_union="苏州市总工会")
    assert "already" in err.value.why
    assert case.stage == "offer_refused"


def test_acting_offer_roles_reason_and_data():
    desk = Desk()
    case = to_offer_refused(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.escalate_to_acting_offer(desk.ctx("negotiator", reason="x"), acting_union="姑苏区总工会")
    assert "negotiator" in str(err.value)
    with pytest.raises(InvalidCommand) as err:
        case.escalate_to_acting_offer(desk.ctx("supervisor"), acting_union="姑苏区总工会")
    assert set(err.value.fields) == {"reason"}
    with pytest.raises(InvalidCommand) as err:
        case.escalate_to_acting_offer(desk.ctx("supervisor", reason="x"), acting_union=" ")
    assert set(err.value.fields) == {"acting_union"}
    assert case.stage == "offer_refused"


def test_rectification_after_the_acting_offer_ran_out():
    desk = Desk()
    case = to_acting_offer(desk)
    rp_id = uuid4()
    desk.advance(days=20)
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("system", reason="no reply"), rectification_case_id=rp_id, rectification_number="RP-2026-000009"
        )
    assert "due 2026-03-22" in err.value.why
    desk.advance(days=1)
    case.issue_rectification(
        desk.ctx("system", reason="no reply to the acting offer"),
        rectification_case_id=rp_id,
        rectification_number="RP-2026-000009",
    )
    assert case.stage == "rectification_pending"
    assert case.clocks == {}
    assert case.ladder_step == 2
    assert case.links == [
        {"case_id": rp_id, "number": "RP-2026-000009", "kind": "rectification_proposal", "relation": "rectification"}
    ]
    assert case.rectification["case_id"] == rp_id and case.rectification["outcome"] is None
    assert last_event(case).data == {"rectification_case_id": rp_id, "rectification_number": "RP-2026-000009"}
    assert stats(case) == {"rectification_proposals": 1}
    assert case.flags() == ["acting_offer", "rectification"]


def test_rectification_after_the_acting_offer_was_refused():
    desk = Desk()
    case = to_rectification_pending(desk)
    assert case.stage == "rectification_pending"
    assert case.ladder_step == 2
    assert len(case.links) == 1


def test_rectification_needs_an_acting_offer_first():
    desk = Desk()
    case = to_offer_refused(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="refused"),
            rectification_case_id=uuid4(),
            rectification_number="RP-2026-000001",
        )
    assert "acting offer first" in err.value.why


def test_rectification_roles_reason_and_data():
    desk = Desk()
    case = to_acting_offer(desk)
    case.refuse_offer(desk.ctx("negotiator", reason="refused again"))
    with pytest.raises(ActionNotAllowed):
        case.issue_rectification(
            desk.ctx("negotiator", reason="x"), rectification_case_id=uuid4(), rectification_number="RP-1"
        )
    with pytest.raises(InvalidCommand) as err:
        case.issue_rectification(desk.ctx("supervisor"), rectification_case_id=uuid4(), rectification_number="RP-1")
    assert set(err.value.fields) == {"reason"}
    with pytest.raises(InvalidCommand) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="x"), rectification_case_id="not-a-uuid", rectification_number=""
        )
    assert set(err.value.fields) == {"rectification_case_id", "rectification_number"}
    with pytest.raises(InvalidCommand) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="x"), rectification_case_id=case.id, rectification_number="RP-1"
        )
    assert set(err.value.fields) == {"rectification_case_id"}
    assert case.stage == "offer_refused"


def test_negotiation_resumes_when_the_enterprise_agrees_to_rectify():
    desk = Desk()
    case = to_rectification_pending(desk)
    with pytest.raises(ActionNotAllowed):
        case.resume_after_rectification(desk.ctx("negotiator"))
    case.resume_after_rectification(desk.ctx("system"))
    assert case.stage == "negotiating"
    assert case.rectification["outcome"] == "agreed_to_rectify"
    assert stats(case) == {"agreed_to_rectify": 1}


def test_referral_to_the_inspectorate_ends_the_case():
    desk = Desk()
    case = to_rectification_pending(desk)
    with pytest.raises(InvalidCommand) as err:
        case.refer_to_inspectorate(desk.ctx("system"))
    assert set(err.value.fields) == {"reason"}
    with pytest.raises(ActionNotAllowed):
        case.refer_to_inspectorate(desk.ctx("negotiator", reason="refused to rectify"))
    case.refer_to_inspectorate(desk.ctx("system", reason="rectification refused"))
    assert case.stage == "referred_to_inspectorate"
    assert not case.is_open
    assert case.allowed_actions() == []
    assert case.rectification["outcome"] == "referred"
    assert case.outcome == "referred_to_inspectorate"
    assert stats(case) == {"negotiations_referred": 1}
    with pytest.raises(ActionNotAllowed) as err:
        case.add_note(desk.ctx("supervisor"), text="late note")
    assert "allowed now: none" in str(err.value)


def test_referral_is_only_from_a_pending_rectification():
    desk = Desk()
    case = to_offer_refused(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.refer_to_inspectorate(desk.ctx("supervisor", reason="x"))
    assert err.value.stage == "offer_refused"
    assert "escalate_to_acting_offer" in err.value.allowed


@pytest.mark.parametrize("stage", ["negotiating", "impasse", "agreed", "signed", "effective"])
def test_after_agreeing_to_rectify_the_enterprise_is_referred_from_wherever_its_negotiation_stands(stage):
    """The proposal's referral (an item not rectified by its deadline) can find the negotiation back at the table,
    anywhere in its cycle; a negotiation that never had a rectification proposal is not referred."""
    desk = Desk()
    never = STAGE_BUILDERS[stage](desk)
    assert "refer_to_inspectorate" not in never.allowed_actions("supervisor", desk.ctx("supervisor").now)
    with pytest.raises(ActionNotAllowed) as err:
        never.refer_to_inspectorate(desk.ctx("supervisor", reason="x"))
    assert "rectification proposal" in err.value.why

    case = to_rectification_pending(desk)
    case.resume_after_rectification(desk.ctx("system", reason="RP-2026-000001: the enterprise agreed to rectify"))
    walk = {
        "negotiating": [],
        "impasse": ["declare_impasse"],
        "agreed": ["submit_proposal", "accept_proposal"],
        "signed": ["submit_proposal", "accept_proposal", "approve_by_congress", "sign"],
        "effective": [
            "submit_proposal",
            "accept_proposal",
            "approve_by_congress",
            "sign",
            "file_with_bureau",
            "take_effect",
        ],
    }[stage]
    arguments = {
        "declare_impasse": {},
        "submit_proposal": {"side": "union", "wage_increase_pct": "5"},
        "accept_proposal": {"side": "enterprise"},
        "file_with_bureau": {"bureau": "苏州市人社局"},
        "approve_by_congress": {"votes_for": 80, "votes_against": 10, "representatives": 100},
        "sign": {"signed_on": desk.now.date(), "term_start": date(2026, 4, 1), "term_end": date(2029, 3, 31)},
        "take_effect": {"bureau_confirmed": True},
    }
    for action in walk:
        getattr(case, action)(desk.ctx("negotiator", reason="as agreed"), **arguments[action])
    assert case.stage == stage
    assert "refer_to_inspectorate" in case.allowed_actions("system", desk.ctx("system").now)
    case.refer_to_inspectorate(desk.ctx("system", reason="RP-2026-000001: the enterprise was referred"))
    assert case.stage == "referred_to_inspectorate" and case.clocks == {}
    assert case.rectification["outcome"] == "referred"
    assert stats(case) == {"negotiations_referred": 1}


# -- a rectification proposal from the negotiating table ------------------------------------


def union_proposal_unanswered(desk: Desk) -> WageNegotiation:
    """Negotiating since 2 March; the union's proposal 1 of that day awaits the enterprise (due 22 March)."""
    case = to_negotiating(desk)
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6", minimum_wage="2600")
    return case


def test_rectification_when_the_union_proposal_goes_unanswered_past_20_days():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    rp_id = uuid4()
    desk.advance(days=21)
    case.issue_rectification(
        desk.ctx("system", reason="no answer to the union's proposal in 20 days"),
        rectification_case_id=rp_id,
        rectification_number="RP-2026-000011",
    )
    assert case.stage == "rectification_pending"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["proposal_reply"]
    assert case.proposals[0]["status"] == "lapsed"
    assert case.open_proposal is None
    assert case.ladder_step == 2
    assert case.rectification["case_id"] == rp_id and case.rectification["outcome"] is None
    assert case.links == [
        {"case_id": rp_id, "number": "RP-2026-000011", "kind": "rectification_proposal", "relation": "rectification"}
    ]
    assert "rectification" in case.flags()
    assert stats(case) == {"rectification_proposals": 1}
    assert live_state(replay(case)) == live_state(case)
    # The enterprise agrees to rectify: back to the table, with no proposal open.
    case.resume_after_rectification(desk.ctx("system"))
    assert case.stage == "negotiating" and case.open_proposal is None


def test_a_rectification_from_the_table_does_not_flag_an_acting_offer():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=21)
    case.issue_rectification(
        desk.ctx("system", reason="no answer"), rectification_case_id=uuid4(), rectification_number="RP-2026-000011"
    )
    assert case.acting_union is None
    assert case.flags() == ["rectification"]


def test_rectification_from_the_table_before_the_proposal_clock_runs_out_is_refused():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=20)  # the due day itself
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("system", reason="no answer"), rectification_case_id=uuid4(), rectification_number="RP-2026-000011"
        )
    assert "still has time to answer the union's proposal" in err.value.why
    assert "due 2026-03-22" in err.value.why
    assert case.stage == "negotiating" and case.open_proposal["no"] == 1 and "proposal_reply" in case.clocks


def test_rectification_from_the_table_waits_for_a_paused_proposal_clock():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=5)
    case.pause_clock(desk.ctx("supervisor", reason="enterprise's director abroad"), clock="proposal_reply")
    desk.advance(days=30)
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="no answer"),
            rectification_case_id=uuid4(),
            rectification_number="RP-2026-000011",
        )
    assert "paused since 2026-03-07" in err.value.why
    assert case.stage == "negotiating"


def test_no_rectification_from_the_table_while_the_enterprise_proposal_awaits_the_union():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=3)
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="3")
    desk.advance(days=40)  # the enterprise's proposal has gone unanswered: that is no ground against it
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="stalling"),
            rectification_case_id=uuid4(),
            rectification_number="RP-2026-000011",
        )
    assert "only a union proposal left unanswered" in err.value.why
    assert case.stage == "negotiating" and case.open_proposal["side"] == "enterprise"
    assert case.ladder_step == 0 and case.links == []


def test_no_rectification_from_the_table_without_an_open_proposal():
    desk = Desk()
    case = to_negotiating(desk)
    desk.advance(days=40)
    with pytest.raises(ActionNotAllowed) as err:
        case.issue_rectification(
            desk.ctx("supervisor", reason="stalling"),
            rectification_case_id=uuid4(),
            rectification_number="RP-2026-000011",
        )
    assert "none is open" in err.value.why
    assert case.stage == "negotiating"


def test_rectification_from_the_table_roles_reason_and_data():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=21)
    with pytest.raises(ActionNotAllowed):
        case.issue_rectification(
            desk.ctx("negotiator", reason="x"), rectification_case_id=uuid4(), rectification_number="RP-1"
        )
    with pytest.raises(InvalidCommand) as err:
        case.issue_rectification(desk.ctx("system"), rectification_case_id=uuid4(), rectification_number="RP-1")
    assert set(err.value.fields) == {"reason"}
    with pytest.raises(InvalidCommand) as err:
        case.issue_rectification(desk.ctx("system", reason="x"), rectification_case_id="RP-1", rectification_number=" ")
    assert set(err.value.fields) == {"rectification_case_id", "rectification_number"}
    assert case.stage == "negotiating" and case.open_proposal["status"] == "open"


# -- escalations the scheduler proposes and a supervisor confirms -------------------------------


def test_next_escalation_for_an_unanswered_offer_is_due_from_day_21():
    desk = Desk()
    case = issue(desk)
    assert case.next_escalation(days(20)) is None
    step = case.next_escalation(days(21))
    assert step == Escalation(
        "escalate_to_acting_offer", "reply", days(20), "the enterprise did not answer the written offer by 2026-03-22"
    )
    assert step.key() == ("escalate_to_acting_offer", "reply", days(20))
    assert step.to_data() == {
        "action": "escalate_to_acting_offer",
        "trigger": "reply",
        "due_on": days(20),
        "why": "the enterprise did not answer the written offer by 2026-03-22",
    }
    assert case.next_escalation(days(60)) == step


def test_next_escalation_after_a_refusal_is_due_at_once():
    desk = Desk()
    case = to_offer_refused(desk)
    assert case.next_escalation(START) == Escalation(
        "escalate_to_acting_offer", "refused", None, "the enterprise refused the offer"
    )
    case = to_acting_offer(desk)
    case.refuse_offer(desk.ctx("negotiator", reason="refused again"))
    assert case.next_escalation(START) == Escalation(
        "issue_rectification", "refused", None, "the enterprise refused the acting offer"
    )


def test_next_escalation_for_an_unanswered_acting_offer():
    desk = Desk()
    case = to_acting_offer(desk)
    assert case.next_escalation(days(20)) is None
    assert case.next_escalation(days(21)) == Escalation(
        "issue_rectification", "reply", days(20), "the enterprise did not answer the acting offer by 2026-03-22"
    )


def test_next_escalation_for_an_unanswered_union_proposal_only():
    desk = Desk()
    case = to_negotiating(desk)
    assert case.next_escalation(days(60)) is None  # nothing on the table
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6")
    assert case.next_escalation(days(20)) is None
    assert case.next_escalation(days(21)) == Escalation(
        "issue_rectification",
        "proposal_reply",
        days(20),
        "the enterprise did not answer the union's proposal 1 by 2026-03-22",
    )
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="3")
    assert case.next_escalation(days(60)) is None  # the union owes the answer now


@pytest.mark.parametrize(
    "stage", ["rectification_pending", "impasse", "coordination", "agreed", "signed", "filed", "effective", "expiring"]
)
def test_no_escalation_outside_the_ladder(stage):
    desk = Desk()
    case = STAGE_BUILDERS[stage](desk)
    assert case.next_escalation(days(400)) is None
    assert "propose_escalation" not in case.allowed_actions()


def test_a_paused_clock_holds_the_escalation_back():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=10)
    case.pause_clock(desk.ctx("supervisor", reason="enterprise relocating"), clock="reply")
    desk.advance(days=30)
    assert case.next_escalation(days(40)) is None
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="overdue offers sweep"))
    assert "no escalation is due" in err.value.why and "paused since 2026-03-12" in err.value.why
    case.resume_clock(desk.ctx("supervisor"), clock="reply")  # 30 days paused: due 21 April
    assert case.clocks["reply"].due_on == days(50)
    assert case.next_escalation(days(50)) is None
    assert case.next_escalation(days(51)).due_on == days(50)


def test_propose_and_confirm_an_acting_offer_day_21():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", actor="scheduler", reason="overdue offers sweep"))
    event = last_event(case)
    assert type(event).__name__ == "EscalationProposed"
    assert event.data == {
        "action": "escalate_to_acting_offer",
        "trigger": "reply",
        "due_on": days(20),
        "why": "the enterprise did not answer the written offer by 2026-03-22",
    }
    assert event.clocks_opened == {} and event.clocks_closed == []
    assert case.stage == "offer_issued" and case.ladder_step == 0  # only proposed: nothing applied yet
    assert case.pending_escalation == {**event.data, "proposed_at": desk.now, "proposed_by": "scheduler"}
    assert stats(case) == {}
    assert live_state(replay(case)) == live_state(case)
    assert {"confirm_escalation", "dismiss_escalation"} <= set(case.allowed_actions("supervisor"))

    desk.advance(hours=2)
    case.confirm_escalation(desk.ctx("supervisor", actor="supervisor-7"), acting_union="姑苏区总工会")
    event = last_event(case)
    assert type(event).__name__ == "ActingOfferIssued"  # the step's own event, not a second kind of record
    assert (event.actor_id, event.actor_role) == ("supervisor-7", "supervisor")
    assert event.reason == "escalation confirmed: the enterprise did not answer the written offer by 2026-03-22"
    assert event.data == {"acting_union": "姑苏区总工会"}
    assert case.stage == "acting_offer_issued" and case.ladder_step == 1
    assert case.acting_union == "姑苏区总工会"
    assert case.clocks["reply"].started_on == days(21) and case.clocks["reply"].due_on == days(41)
    assert case.pending_escalation is None
    assert stats(case) == {"acting_offers": 1}
    assert live_state(replay(case)) == live_state(case)


def test_a_confirming_supervisor_may_give_a_reason_of_their_own():
    desk = Desk()
    case = to_offer_refused(desk)
    case.propose_escalation(desk.ctx("system", reason="refusals sweep"))
    case.confirm_escalation(desk.ctx("supervisor", reason="refused without good reason"), acting_union="姑苏区总工会")
    assert last_event(case).reason == "refused without good reason"
    assert case.stage == "acting_offer_issued"


def test_propose_and_confirm_a_rectification_for_an_unanswered_acting_offer():
    desk = Desk()
    case = to_acting_offer(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="overdue offers sweep"))
    assert case.pending_escalation["action"] == "issue_rectification"
    with pytest.raises(InvalidCommand) as err:
        case.confirm_escalation(desk.ctx("supervisor"))
    assert set(err.value.fields) == {"rectification_case_id", "rectification_number"}
    assert case.pending_escalation is not None and case.stage == "acting_offer_issued"
    rp_id = uuid4()
    case.confirm_escalation(
        desk.ctx("supervisor", actor="supervisor-3"), rectification_case_id=rp_id, rectification_number="RP-2026-000012"
    )
    event = last_event(case)
    assert type(event).__name__ == "RectificationProposed"
    assert event.actor_id == "supervisor-3"
    assert event.reason == "escalation confirmed: the enterprise did not answer the acting offer by 2026-03-22"
    assert case.stage == "rectification_pending" and case.ladder_step == 2
    assert case.rectification["case_id"] == rp_id
    assert case.pending_escalation is None
    assert stats(case) == {"rectification_proposals": 1}


def test_propose_and_confirm_a_rectification_for_an_unanswered_union_proposal():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="proposal sweep"))
    assert case.pending_escalation["trigger"] == "proposal_reply"
    case.confirm_escalation(
        desk.ctx("supervisor"), rectification_case_id=uuid4(), rectification_number="RP-2026-000013"
    )
    assert type(last_event(case)).__name__ == "RectificationProposed"
    assert last_event(case).clocks_closed == ["proposal_reply"]
    assert case.stage == "rectification_pending" and case.proposals[0]["status"] == "lapsed"


def test_propose_escalation_only_when_a_step_is_due_and_only_once():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=20)
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="sweep"))
    assert err.value.why == "no escalation is due (the reply clock is due 2026-03-22)"
    desk.advance(days=1)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    desk.advance(days=1)  # the sweep runs again
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="sweep"))
    assert err.value.why == "escalate_to_acting_offer is already pending"
    assert len(case.pending_events) == 2


def test_propose_escalation_roles_and_reason():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    for role in ("supervisor", "negotiator"):
        with pytest.raises(ActionNotAllowed) as err:
            case.propose_escalation(desk.ctx(role, reason="sweep"))
        assert "roles that may: system" in str(err.value)
    with pytest.raises(InvalidCommand) as err:
        case.propose_escalation(desk.ctx("system", reason=" "))
    assert set(err.value.fields) == {"reason"}
    assert case.pending_escalation is None and case.version == 1


def test_confirm_with_nothing_pending_is_refused_with_a_clear_message():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)  # a step is due, but nobody proposed it
    with pytest.raises(ActionNotAllowed) as err:
        case.confirm_escalation(desk.ctx("supervisor"), acting_union="姑苏区总工会")
    e = err.value
    assert (e.stage, e.action, e.why) == ("offer_issued", "confirm_escalation", "no escalation is pending")
    assert "no escalation is pending" in str(e) and NUMBER in str(e)
    with pytest.raises(ActionNotAllowed) as err:
        case.dismiss_escalation(desk.ctx("supervisor", reason="not now"))
    assert err.value.why == "no escalation is pending"
    assert case.stage == "offer_issued" and case.version == 1


def test_confirm_and_dismiss_are_for_supervisors():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    for role in ("system", "negotiator"):
        with pytest.raises(ActionNotAllowed) as err:
            case.confirm_escalation(desk.ctx(role), acting_union="姑苏区总工会")
        assert "roles that may: supervisor" in str(err.value)
        with pytest.raises(ActionNotAllowed):
            case.dismiss_escalation(desk.ctx(role, reason="no"))
    assert case.pending_escalation is not None and case.stage == "offer_issued"


def test_dismiss_needs_a_reason_and_blocks_proposing_the_same_step_again():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    with pytest.raises(InvalidCommand) as err:
        case.dismiss_escalation(desk.ctx("supervisor"))
    assert set(err.value.fields) == {"reason"}
    assert case.pending_escalation is not None
    case.dismiss_escalation(desk.ctx("supervisor", actor="supervisor-4", reason="the enterprise asked for a week"))
    event = last_event(case)
    assert type(event).__name__ == "EscalationDismissed"
    assert event.data == {"action": "escalate_to_acting_offer", "trigger": "reply", "due_on": days(20)}
    assert event.reason == "the enterprise asked for a week"
    assert case.stage == "offer_issued" and case.ladder_step == 0
    assert case.pending_escalation is None
    assert case.dismissed_escalations == [
        {
            **event.data,
            "dismissed_at": desk.now,
            "dismissed_by": "supervisor-4",
            "reason": "the enterprise asked for a week",
        }
    ]
    assert live_state(replay(case)) == live_state(case)
    desk.advance(days=1)  # the next sweep: the same step for the same deadline is not proposed again
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="sweep"))
    assert err.value.why == "a supervisor dismissed this escalation"
    assert case.pending_escalation is None


def test_a_dismissed_step_may_be_proposed_again_for_a_new_deadline():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    case.dismiss_escalation(desk.ctx("supervisor", reason="a week's grace"))
    case.extend_clock(desk.ctx("supervisor", reason="a week's grace"), clock="reply", days=7)
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="sweep"))
    assert "no escalation is due" in err.value.why
    desk.advance(days=7)  # 30 March: the extended clock (due 29 March) ran out too
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    assert case.pending_escalation["due_on"] == days(27)


def test_dismissing_a_refusal_step_blocks_it_for_that_refusal():
    desk = Desk()
    case = to_offer_refused(desk)
    case.propose_escalation(desk.ctx("system", reason="refusals sweep"))
    case.dismiss_escalation(desk.ctx("supervisor", reason="talks continue informally"))
    desk.advance(days=30)
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_escalation(desk.ctx("system", reason="refusals sweep"))
    assert err.value.why == "a supervisor dismissed this escalation"


@pytest.mark.parametrize(
    ("answer", "stage"),
    [
        (lambda case, desk: case.accept_offer(desk.ctx("negotiator")), "negotiating"),
        (lambda case, desk: case.refuse_offer(desk.ctx("negotiator", reason="no")), "offer_refused"),
        (
            lambda case, desk: case.extend_clock(desk.ctx("supervisor", reason="grace"), clock="reply", days=5),
            "offer_issued",
        ),
        (lambda case, desk: case.withdraw(desk.ctx("supervisor", reason="enterprise closed")), "withdrawn"),
    ],
    ids=["accepted", "refused", "extended", "withdrawn"],
)
def test_a_pending_escalation_lapses_when_its_basis_changes(answer, stage):
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    answer(case, desk)
    assert case.stage == stage
    assert case.pending_escalation is None
    assert live_state(replay(case)) == live_state(case)
    if case.is_open:
        with pytest.raises(ActionNotAllowed) as err:
            case.confirm_escalation(desk.ctx("supervisor"), acting_union="姑苏区总工会")
        assert err.value.why == "no escalation is pending"


def test_a_pending_rectification_lapses_when_the_enterprise_answers_the_proposal():
    desk = Desk()
    case = union_proposal_unanswered(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="4")
    assert case.pending_escalation is None
    with pytest.raises(ActionNotAllowed) as err:
        case.confirm_escalation(
            desk.ctx("supervisor"), rectification_case_id=uuid4(), rectification_number="RP-2026-000014"
        )
    assert err.value.why == "no escalation is pending"
    assert case.stage == "negotiating" and case.ladder_step == 0


def test_a_pending_escalation_stays_for_other_events():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=21)
    case.propose_escalation(desk.ctx("system", reason="sweep"))
    pending = dict(case.pending_escalation)
    case.add_note(desk.ctx("negotiator"), text="phoned the HR director again")
    case.assign(desk.ctx("supervisor"), assignee="negotiator-5")
    case.raise_alert(desk.ctx("system"), clock="reply", notify=["supervisor-1"])
    assert case.pending_escalation == pending


def test_the_reply_clock_alert_flags_the_offer_until_it_is_answered():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=20)
    with pytest.raises(ActionNotAllowed):
        case.raise_alert(desk.ctx("system"), clock="reply")
    desk.advance(days=1)
    case.raise_alert(desk.ctx("system"), clock="reply", notify=["negotiator-1"])
    assert case.all_flags() == ["deadline_alert"]
    case.accept_offer(desk.ctx("negotiator"))
    assert case.all_flags() == [] and len(case.alerts) == 1


# -- proposals and counter-proposals --------------------------------------------------------


def test_proposals_and_counter_proposals_each_have_a_reply_clock():
    desk = Desk()
    case = to_negotiating(desk)
    case.submit_proposal(
        desk.ctx("negotiator"), side="union", wage_increase_pct="6", minimum_wage="2600", other_terms="夜班津贴"
    )
    assert case.stage == "negotiating"
    assert case.clocks["proposal_reply"].due_on == days(20)
    assert last_event(case).clocks_closed == []
    assert case.proposals == [
        {
            "no": 1,
            "side": "union",
            "wage_increase_pct": Decimal("6"),
            "minimum_wage": Decimal("2600.00"),
            "other_terms": "夜班津贴",
            "submitted_at": desk.now,
            "status": "open",
        }
    ]
    assert stats(case) == {}
    desk.advance(days=7)
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct=Decimal("3.5"))
    assert last_event(case).clocks_closed == ["proposal_reply"]
    assert case.clocks["proposal_reply"].started_on == days(7)
    assert case.clocks["proposal_reply"].due_on == days(27)
    assert [(p["no"], p["side"], p["status"]) for p in case.proposals] == [
        (1, "union", "countered"),
        (2, "enterprise", "open"),
    ]
    assert case.proposals[1]["minimum_wage"] is None
    assert case.open_proposal is case.proposals[1]


def test_a_side_may_not_counter_its_own_open_proposal():
    desk = Desk()
    case = to_negotiating(desk)
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6")
    with pytest.raises(ActionNotAllowed) as err:
        case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="5")
    assert "proposal 1" in err.value.why
    assert len(case.proposals) == 1


def test_submit_proposal_names_every_bad_field():
    desk = Desk()
    case = to_negotiating(desk)
    with pytest.raises(InvalidCommand) as err:
        case.submit_proposal(
            desk.ctx("negotiator"), side="workers", wage_increase_pct="150", minimum_wage="0", other_terms=42
        )
    assert set(err.value.fields) == {"side", "wage_increase_pct", "minimum_wage", "other_terms"}
    with pytest.raises(InvalidCommand) as err:
        case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct=None)
    assert set(err.value.fields) == {"wage_increase_pct"}
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="-100")
    assert case.proposals[0]["wage_increase_pct"] == Decimal("-100")


def test_accept_proposal_agrees_the_last_proposals_terms():
    desk = Desk()
    case = to_agreed(desk)
    assert case.stage == "agreed"
    assert case.clocks == {}
    assert case.agreed_terms == {
        "proposal_no": 2,
        "proposed_by": "enterprise",
        "wage_increase_pct": Decimal("4.5"),
        "minimum_wage": None,
        "other_terms": "年终奖",
        "agreed_at": desk.now,
    }
    assert [p["status"] for p in case.proposals] == ["countered", "accepted"]
    assert last_event(case).data["side"] == "union"


def test_accept_proposal_needs_an_open_proposal_from_the_other_side():
    desk = Desk()
    case = to_negotiating(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.accept_proposal(desk.ctx("negotiator"), side="union")
    assert "no open proposal" in err.value.why
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6")
    with pytest.raises(ActionNotAllowed) as err:
        case.accept_proposal(desk.ctx("negotiator"), side="union")
    assert "only the other side" in err.value.why
    with pytest.raises(InvalidCommand) as err:
        case.accept_proposal(desk.ctx("negotiator"), side="both")
    assert set(err.value.fields) == {"side"}
    assert case.stage == "negotiating"


def test_impasse_coordination_and_back_to_the_table():
    desk = Desk()
    case = to_negotiating(desk)
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6")
    with pytest.raises(InvalidCommand) as err:
        case.declare_impasse(desk.ctx("negotiator"))
    assert set(err.value.fields) == {"reason"}
    case.declare_impasse(desk.ctx("negotiator", reason="no movement after three rounds"))
    assert case.stage == "impasse"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["proposal_reply"]
    assert case.proposals[0]["status"] == "lapsed"
    assert case.open_proposal is None

    with pytest.raises(InvalidCommand) as err:
        case.request_coordination(desk.ctx("negotiator"), authority="")
    assert set(err.value.fields) == {"authority"}
    case.request_coordination(desk.ctx("negotiator"), authority="苏州市人力资源和社会保障局")
    assert case.stage == "coordination"
    assert case.coordination == {"authority": "苏州市人力资源和社会保障局", "requested_at": desk.now}

    case.resume_negotiation(desk.ctx("negotiator"))
    assert case.stage == "negotiating"
    with pytest.raises(ActionNotAllowed):
        case.accept_proposal(desk.ctx("negotiator"), side="enterprise")
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="5")
    assert [p["no"] for p in case.proposals] == [1, 2]


def test_resume_straight_from_impasse():
    desk = Desk()
    case = to_impasse(desk)
    case.resume_negotiation(desk.ctx("supervisor"))
    assert case.stage == "negotiating"


@pytest.mark.parametrize("stage", ["impasse", "coordination"])
def test_close_without_agreement(stage):
    desk = Desk()
    case = STAGE_BUILDERS[stage](desk)
    with pytest.raises(ActionNotAllowed):
        case.close(desk.ctx("negotiator", reason="no agreement possible"))
    with pytest.raises(InvalidCommand) as err:
        case.close(desk.ctx("supervisor"))
    assert set(err.value.fields) == {"reason"}
    case.close(desk.ctx("supervisor", reason="no agreement possible"))
    assert case.stage == "closed"
    assert case.clocks == {}
    assert case.outcome == "closed"
    assert not case.is_open


# -- from the agreement to an effective contract ---------------------------------------------


def test_congress_approval_needs_more_than_half_of_all_representatives():
    desk = Desk()
    case = to_agreed(desk)
    with pytest.raises(InvalidCommand) as err:
        case.approve_by_congress(desk.ctx("negotiator"), votes_for=50, votes_against=10, representatives=100)
    assert set(err.value.fields) == {"votes_for"}
    assert case.stage == "agreed"
    case.approve_by_congress(desk.ctx("negotiator"), votes_for=51, votes_against=49, representatives=100)
    assert case.stage == "congress_approved"
    assert case.congress == {"votes_for": 51, "votes_against": 49, "representatives": 100, "approved_on": START}


def test_congress_votes_must_add_up():
    desk = Desk()
    case = to_agreed(desk)
    with pytest.raises(InvalidCommand) as err:
        case.approve_by_congress(desk.ctx("negotiator"), votes_for=80, votes_against=30, representatives=100)
    assert set(err.value.fields) == {"votes_against"}
    with pytest.raises(InvalidCommand) as err:
        case.approve_by_congress(desk.ctx("negotiator"), votes_for="80", votes_against=-1, representatives=0)
    assert set(err.value.fields) == {"votes_for", "votes_against", "representatives"}


def test_sign_opens_the_10_day_filing_clock_from_the_signing_date():
    desk = Desk()
    case = to_congress_approved(desk)
    desk.advance(days=3)
    case.sign(desk.ctx("negotiator"), signed_on=days(2), term_start=date(2026, 4, 1), term_end=date(2029, 3, 31))
    assert case.stage == "signed"
    assert case.clocks["filing"].started_on == days(2)
    assert case.clocks["filing"].due_on == days(12)
    assert case.contract == {
        "signed_on": days(2),
        "term_start": date(2026, 4, 1),
        "term_end": date(2029, 3, 31),
        "bureau": None,
        "filed_on": None,
        "effective_on": None,
    }
    assert stats(case) == {"contracts_signed": 1}


def test_sign_names_every_bad_date():
    desk = Desk()
    case = to_congress_approved(desk)
    with pytest.raises(InvalidCommand) as err:
        case.sign(desk.ctx("negotiator"), signed_on=days(1), term_start=date(2026, 4, 1), term_end=date(2026, 4, 1))
    assert set(err.value.fields) == {"signed_on", "term_end"}
    with pytest.raises(InvalidCommand) as err:
        case.sign(desk.ctx("negotiator"), signed_on=days(-1), term_start="2026-04-01", term_end=None)
    assert set(err.value.fields) == {"signed_on", "term_start", "term_end"}
    assert "congress" in err.value.fields["signed_on"]
    assert case.stage == "congress_approved"


def test_file_with_the_bureau_opens_the_15_day_objection_clock():
    desk = Desk()
    case = to_signed(desk)
    desk.advance(days=4)
    with pytest.raises(InvalidCommand) as err:
        case.file_with_bureau(desk.ctx("negotiator"), bureau="")
    assert set(err.value.fields) == {"bureau"}
    case.file_with_bureau(desk.ctx("negotiator"), bureau="苏州市人力资源和社会保障局")
    assert case.stage == "filed"
    assert list(case.clocks) == ["objection"]
    assert last_event(case).clocks_closed == ["filing"]
    assert case.clocks["objection"].started_on == days(4)
    assert case.clocks["objection"].due_on == days(19)
    assert case.contract["bureau"] == "苏州市人力资源和社会保障局"
    assert case.contract["filed_on"] == days(4)


def test_a_bureau_objection_sends_the_parties_back_to_the_table():
    desk = Desk()
    case = to_filed(desk)
    with pytest.raises(InvalidCommand) as err:
        case.record_objection(desk.ctx("negotiator"))
    assert set(err.value.fields) == {"reason"}
    contract = dict(case.contract)
    case.record_objection(desk.ctx("negotiator", reason="最低工资条款低于本市标准"))
    assert case.stage == "negotiating"
    assert case.clocks == {}
    assert case.contract is None and case.agreed_terms is None and case.congress is None
    assert case.objections[0]["reason"] == "最低工资条款低于本市标准"
    assert case.objections[0]["contract"] == contract
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="4.5", minimum_wage="2700")
    assert case.open_proposal["no"] == 3


def test_the_contract_takes_effect_only_when_the_objection_period_has_passed():
    desk = Desk()
    case = to_filed(desk)
    desk.advance(days=15)
    with pytest.raises(ActionNotAllowed) as err:
        case.take_effect(desk.ctx("system"))
    assert "may still object" in err.value.why
    desk.advance(days=1)
    case.take_effect(desk.ctx("system"))
    assert case.stage == "effective"
    assert last_event(case).clocks_closed == ["objection"]
    assert list(case.clocks) == ["renewal"]
    renewal = case.clocks["renewal"]
    assert renewal.started_on == days(16)
    assert renewal.due_on == date(2029, 3, 31) - timedelta(days=90)
    assert case.contract["effective_on"] == days(16)
    assert case.contract["bureau_confirmed"] is False
    assert stats(case) == {"contracts_effective": 1, "contract_workers_covered": 320}


def test_the_bureau_may_confirm_early():
    desk = Desk()
    case = to_filed(desk)
    desk.advance(days=3)
    case.take_effect(desk.ctx("negotiator"), bureau_confirmed=True)
    assert case.stage == "effective"
    assert case.contract["bureau_confirmed"] is True
    with pytest.raises(InvalidCommand) as err:
        to_filed(desk).take_effect(desk.ctx("negotiator"), bureau_confirmed="yes")
    assert set(err.value.fields) == {"bureau_confirmed"}


def test_a_short_term_puts_the_renewal_clock_at_today():
    desk = Desk()
    case = to_filed(desk, term_end=date(2026, 5, 1))
    case.take_effect(desk.ctx("negotiator"), bureau_confirmed=True)
    assert case.clocks["renewal"].due_on == START


def test_a_paused_objection_clock_holds_the_contract_back():
    desk = Desk()
    case = to_filed(desk)
    case.pause_clock(desk.ctx("supervisor", reason="bureau reviewing"), clock="objection")
    desk.advance(days=40)
    with pytest.raises(ActionNotAllowed) as err:
        case.take_effect(desk.ctx("system"))
    assert "paused" in err.value.why


def test_numbers_that_are_not_numbers_are_refused():
    desk = Desk()
    case = to_negotiating(desk)
    for bad in ("NaN", "Infinity", True, "", "5%"):
        with pytest.raises(InvalidCommand) as err:
            case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct=bad, minimum_wage=bad)
        assert set(err.value.fields) == {"wage_increase_pct", "minimum_wage"}


def test_expiring_and_concluded():
    desk = Desk()
    case = to_effective(desk)
    with pytest.raises(ActionNotAllowed):
        case.mark_expiring(desk.ctx("caseworker"))
    case.mark_expiring(desk.ctx("system"))
    assert case.stage == "expiring"
    assert list(case.clocks) == ["term_end"]
    with pytest.raises(InvalidCommand) as err:
        case.conclude(desk.ctx("negotiator"))
    assert set(err.value.fields) == {"reason"}
    case.conclude(desk.ctx("negotiator", reason="term ended; renewed as WN-2029-000010"))
    assert case.stage == "concluded"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["term_end"]
    assert case.outcome == "concluded"
    assert not case.is_open


def test_conclude_straight_from_effective():
    desk = Desk()
    case = to_effective(desk)
    case.conclude(desk.ctx("supervisor", reason="enterprise dissolved"))
    assert case.stage == "concluded" and case.clocks == {}


# -- back-dating, and a long history (replayed and hash-checked with every case type) -----------


def test_backdating_is_checked():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=2)
    with pytest.raises(InvalidCommand) as err:
        case.accept_offer(desk.ctx("negotiator", occurred_at=desk.now - timedelta(days=3)))
    assert set(err.value.fields) == {"occurred_at"}
    case.accept_offer(desk.ctx("negotiator", occurred_at=desk.now - timedelta(days=1)))
    assert last_event(case).data == {"answered_on": days(1)}


def long_history(desk: Desk) -> WageNegotiation:
    """The whole ladder, the table twice, a bureau objection, a paused clock, a contract to its end: 28 events."""
    case = issue(desk, covers=2)
    desk.advance(days=21)
    case.escalate_to_acting_offer(desk.ctx("system", reason="no reply in 20 days"), acting_union="姑苏区总工会")
    case.refuse_offer(desk.ctx("negotiator", reason="refuses again"))
    case.issue_rectification(
        desk.ctx("supervisor", reason="acting offer refused"),
        rectification_case_id=uuid4(),
        rectification_number="RP-2026-000003",
    )
    desk.advance(days=10)
    case.resume_after_rectification(desk.ctx("system"))
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="6", minimum_wage="2600")
    desk.advance(days=5)
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="2")
    case.declare_impasse(desk.ctx("negotiator", reason="too far apart"))
    case.request_coordination(desk.ctx("negotiator"), authority="姑苏区人社局")
    desk.advance(days=7)
    case.resume_negotiation(desk.ctx("negotiator"))
    case.submit_proposal(desk.ctx("negotiator"), side="union", wage_increase_pct="4.5")
    case.accept_proposal(desk.ctx("negotiator"), side="enterprise")
    case.approve_by_congress(desk.ctx("negotiator"), votes_for=70, votes_against=5, representatives=90)
    case.sign(
        desk.ctx("negotiator"), signed_on=desk.now.date(), term_start=date(2026, 6, 1), term_end=date(2027, 5, 31)
    )
    case.file_with_bureau(desk.ctx("negotiator"), bureau="姑苏区人社局")
    case.record_objection(desk.ctx("negotiator", reason="term start precedes signing"))
    case.submit_proposal(desk.ctx("negotiator"), side="enterprise", wage_increase_pct="4.5")
    case.accept_proposal(desk.ctx("negotiator"), side="union")
    case.approve_by_congress(desk.ctx("negotiator"), votes_for=70, votes_against=5, representatives=90)
    case.sign(
        desk.ctx("negotiator"), signed_on=desk.now.date(), term_start=date(2026, 7, 1), term_end=date(2027, 6, 30)
    )
    case.file_with_bureau(desk.ctx("negotiator"), bureau="姑苏区人社局")
    case.pause_clock(desk.ctx("supervisor", reason="bureau asked for documents"), clock="objection")
    desk.advance(days=3)
    case.resume_clock(desk.ctx("supervisor"), clock="objection")
    desk.advance(days=16)
    case.take_effect(desk.ctx("system"))
    case.assign(desk.ctx("supervisor"), assignee="negotiator-2")
    case.add_note(desk.ctx("negotiator"), text="contract posted on the notice board")
    desk.advance(days=300)
    case.mark_expiring(desk.ctx("system"))
    case.conclude(desk.ctx("negotiator", reason="term ended; renewed as WN-2027-000004"))
    return case


def test_the_long_history_ends_with_the_second_contract_after_the_whole_ladder():
    rebuilt = replay(long_history(Desk()))
    assert rebuilt.agreed_terms["wage_increase_pct"] == Decimal("4.5")
    assert rebuilt.contract["term_end"] == date(2027, 6, 30)
    assert len(rebuilt.objections) == 1 and rebuilt.ladder_step == 2


def test_congress_rejection_returns_to_negotiation_and_a_majority_is_refused() -> None:
    from aggregates.errors import InvalidCommand

    desk = Desk()
    case = to_agreed(desk)
    with pytest.raises(InvalidCommand) as refused:
        case.reject_by_congress(desk.ctx("negotiator", reason="多数不同意"), votes_for=40, representatives=60)
    assert "votes_for" in refused.value.fields
    case.reject_by_congress(desk.ctx("negotiator", reason="多数不同意"), votes_for=20, representatives=60)
    assert case.stage == "negotiating" and case.agreed_terms is None


def test_marking_expiring_replaces_the_renewal_clock_with_the_term_end() -> None:
    desk = Desk()
    case = to_effective(desk)
    assert "renewal" in case.clocks
    case.mark_expiring(desk.ctx("system"))
    assert "renewal" not in case.clocks
    assert case.contract is not None
    assert case.clocks["term_end"].due_on == case.contract["term_end"]
