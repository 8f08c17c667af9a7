"""RectificationProposal: issue, plan, follow-up checks, referral and enforcement."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.rectification import RectificationProposal
from tests.unit.support import Desk, replay

START = date(2026, 3, 2)  # the Desk's default business date
NUMBER = "RP-2026-000001"
NEGOTIATION_ID = uuid4()


def days(n: int) -> date:
    return START + timedelta(days=n)


ITEMS = [
    {
        "category": "collective_contract",
        "description": "拒绝工会工资集体协商要约",
        "legal_basis": "集体合同规定第三十二条",
        "deadline": days(30),
    },
    {"category": "wages", "description": "加班工资未足额支付", "legal_basis": "劳动法第四十四条", "deadline": days(45)},
]


def issue(desk: Desk, role: str = "inspector", **overrides) -> RectificationProposal:
    fields: dict[str, Any] = {
        "case_id": uuid4(),
        "number": NUMBER,
        "org_unit": "suzhou/gusu",
        "enterprise": {"name": "苏州精密机械有限公司", "credit_code": "91320500MA1XXXXXXC"},
        "issuing_union": "姑苏区总工会",
        "source": {"kind": "negotiation", "case_id": NEGOTIATION_ID, "number": "WN-2026-000001"},
        "items": [dict(item) for item in ITEMS],
    }
    fields.update(overrides)
    return RectificationProposal.issue(desk.ctx(role), **fields)


def last_event(case: RectificationProposal):
    return case.pending_events[-1]


def stats(case: RectificationProposal) -> dict:
    return case.statistics(last_event(case))


def rectifying(desk: Desk) -> RectificationProposal:
    case = issue(desk)
    case.accept_plan(desk.ctx("inspector"), plan="一个月内启动协商，补发加班工资")
    return case


def refused(desk: Desk) -> RectificationProposal:
    case = issue(desk)
    case.refuse(desk.ctx("inspector", reason="企业拒绝签收"))
    return case


def referred(desk: Desk) -> RectificationProposal:
    case = refused(desk)
    case.refer_to_inspectorate(desk.ctx("supervisor", reason="refused to rectify"))
    return case


def rectified(desk: Desk) -> RectificationProposal:
    case = rectifying(desk)
    for item in case.items:
        case.verify_item(desk.ctx("inspector"), item_no=item["no"], result="passed")
    return case


def closed(desk: Desk) -> RectificationProposal:
    case = referred(desk)
    case.record_enforcement(desk.ctx("inspector"), outcome="责令改正")
    return case


def withdrawn(desk: Desk) -> RectificationProposal:
    case = issue(desk)
    case.withdraw(desk.ctx("supervisor", reason="issued in error"))
    return case


# How a proposal reaches each stage of its table: the tests of every case type walk it.
STAGE_BUILDERS = {
    "issued": issue,
    "rectifying": rectifying,
    "refused": refused,
    "referred": referred,
    "rectified": rectified,
    "closed": closed,
    "withdrawn": withdrawn,
}

# Valid data for each of the proposal's own commands, for the table-driven refusals of every case type.
VALID: dict[str, dict[str, Any]] = {
    "accept_plan": {"plan": "p"},
    "refuse": {},
    "verify_item": {"item_no": 1, "result": "passed"},
    "refer_to_inspectorate": {},
    "record_enforcement": {"outcome": "责令改正"},
    "withdraw": {},
    "propose_referral": {"trigger": "reply"},
    "confirm_referral": {},
    "dismiss_referral": {},
}


# -- issue -------------------------------------------------------------------------------


def test_issue_opens_the_case_with_a_15_day_reply_clock():
    desk = Desk()
    case = issue(desk)
    assert case.stage == "issued"
    assert case.PREFIX == "RP" and case.KIND == "rectification_proposal"
    assert list(case.clocks) == ["reply"]
    assert case.clocks["reply"].started_on == START
    assert case.clocks["reply"].due_on == days(15)
    assert case.enterprise == {"name": "苏州精密机械有限公司", "credit_code": "91320500MA1XXXXXXC"}
    assert case.issuing_union == "姑苏区总工会"
    assert case.source == {"kind": "negotiation", "case_id": NEGOTIATION_ID, "number": "WN-2026-000001"}
    assert case.source_case_id == NEGOTIATION_ID
    assert [(i["no"], i["category"], i["status"]) for i in case.items] == [
        (1, "collective_contract", "open"),
        (2, "wages", "open"),
    ]
    assert case.items[1] == {
        "no": 2,
        "category": "wages",
        "description": "加班工资未足额支付",
        "legal_basis": "劳动法第四十四条",
        "deadline": days(45),
        "status": "open",
    }
    assert [i["no"] for i in last_event(case).data["items"]] == [1, 2]
    assert "status" not in last_event(case).data["items"][0]
    assert case.plan is None and case.outcome is None
    assert case.parties() == ["苏州精密机械有限公司"]
    assert case.flags() == ["from_negotiation"]
    assert stats(case) == {"rectifications_issued": 1}


def test_source_case_id_is_read_only():
    case = issue(Desk())
    with pytest.raises(AttributeError):
        case.source_case_id = uuid4()


def test_an_inspection_needs_no_source_case():
    case = issue(Desk(), role="supervisor", source={"kind": "inspection"}, items=[ITEMS[1]])
    assert case.source == {"kind": "inspection", "case_id": None, "number": None}
    assert case.source_case_id is None
    assert len(case.items) == 1


def test_a_source_case_id_given_as_text_is_stored_as_a_uuid():
    dispute_id = uuid4()
    case = issue(Desk(), source={"kind": "dispute", "case_id": str(dispute_id), "number": "LD-2026-000004"})
    assert case.source_case_id == dispute_id


def test_issue_names_every_bad_field():
    with pytest.raises(InvalidCommand) as err:
        issue(
            Desk(),
            enterprise={"name": ""},
            issuing_union=" ",
            source={"kind": "rumour", "case_id": "nope"},
            items=[
                {"category": "noise", "description": "", "legal_basis": "", "deadline": START},
                {"category": "wages", "description": "x", "legal_basis": "y", "deadline": datetime(2026, 5, 1, 9, 0)},
            ],
        )
    assert set(err.value.fields) == {
        "enterprise.name",
        "issuing_union",
        "source.kind",
        "source.case_id",
        "items[0].category",
        "items[0].description",
        "items[0].legal_basis",
        "items[0].deadline",
        "items[1].deadline",
    }
    assert err.value.action == "issue" and NUMBER in str(err.value)


def test_issue_needs_at_least_one_item_and_a_negotiation_source_names_its_case():
    with pytest.raises(InvalidCommand) as err:
        issue(Desk(), items=[], source={"kind": "negotiation"})
    assert set(err.value.fields) == {"items", "source.case_id"}


def test_an_item_deadline_must_be_after_today():
    with pytest.raises(InvalidCommand) as err:
        issue(Desk(), items=[{**ITEMS[0], "deadline": days(0)}])
    assert set(err.value.fields) == {"items[0].deadline"}
    assert issue(Desk(), items=[{**ITEMS[0], "deadline": days(1)}]).items[0]["deadline"] == days(1)


# -- accept the plan / refuse -------------------------------------------------------------------


def test_accept_plan_starts_one_clock_per_item_due_on_its_deadline():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=6)
    with pytest.raises(InvalidCommand) as err:
        case.accept_plan(desk.ctx("inspector"), plan=" ")
    assert set(err.value.fields) == {"plan"}
    case.accept_plan(desk.ctx("inspector"), plan="一个月内启动协商，补发加班工资")
    assert case.stage == "rectifying"
    assert case.plan == "一个月内启动协商，补发加班工资"
    assert last_event(case).clocks_closed == ["reply"]
    assert sorted(case.clocks) == ["item-1", "item-2"]
    assert case.clocks["item-1"].started_on == days(6)
    assert case.clocks["item-1"].due_on == days(30)
    assert case.clocks["item-2"].due_on == days(45)
    assert stats(case) == {"rectifications_accepted": 1}


def test_accept_plan_may_move_item_deadlines_and_must_move_lapsed_ones():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=31)  # item 1 (due day 30) has lapsed, item 2 (day 45) has not
    with pytest.raises(InvalidCommand) as err:
        case.accept_plan(desk.ctx("inspector"), plan="p")
    assert set(err.value.fields) == {"item_deadlines"}
    assert "item 1" in err.value.fields["item_deadlines"] and str(days(30)) in err.value.fields["item_deadlines"]
    with pytest.raises(InvalidCommand) as err:
        case.accept_plan(
            desk.ctx("inspector"),
            plan="p",
            item_deadlines=[
                {"item_no": 3, "deadline": days(60)},
                {"item_no": 1, "deadline": days(31)},
                {"item_no": 1, "deadline": days(60)},
                "not an entry",
            ],
        )
    assert set(err.value.fields) == {
        "item_deadlines[0].item_no",
        "item_deadlines[1].deadline",
        "item_deadlines[2].item_no",
        "item_deadlines[3].item_no",
        "item_deadlines[3].deadline",
    }
    assert "1 to 2" in err.value.fields["item_deadlines[0].item_no"]
    assert "twice" in err.value.fields["item_deadlines[2].item_no"]
    with pytest.raises(InvalidCommand) as err:
        case.accept_plan(desk.ctx("inspector"), plan="p", item_deadlines={"item_no": 1})
    assert set(err.value.fields) == {"item_deadlines"}
    assert case.stage == "issued" and case.version == 1
    case.accept_plan(desk.ctx("inspector"), plan="p", item_deadlines=[{"item_no": 1, "deadline": days(61)}])
    assert case.clocks["item-1"].due_on == days(61)
    assert case.clocks["item-2"].due_on == days(45)
    assert case.item(1)["deadline"] == days(61) and case.item(1)["original_deadline"] == days(30)
    assert last_event(case).data["item_deadlines"] == [{"item_no": 1, "deadline": days(61)}]
    assert replay(case).__dict__.keys() == case.__dict__.keys()
    assert replay(case).items == case.items


def test_accept_plan_role_and_stage():
    desk = Desk()
    case = issue(desk)
    with pytest.raises(ActionNotAllowed):
        case.accept_plan(desk.ctx("negotiator"), plan="p")
    case = refused(desk)
    with pytest.raises(ActionNotAllowed) as err:
        case.accept_plan(desk.ctx("inspector"), plan="p")
    e = err.value
    assert (e.stage, e.action) == ("refused", "accept_plan")
    assert e.allowed == case.allowed_actions("inspector")
    assert "refer_to_inspectorate" in e.allowed
    message = str(e)
    assert NUMBER in message and "'refused'" in message and "'accept_plan'" in message
    for name in e.allowed:
        assert name in message


def test_refuse():
    desk = Desk()
    case = refused(desk)
    assert case.stage == "refused"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["reply"]
    assert stats(case) == {"rectifications_refused": 1}


# -- follow-up checks ----------------------------------------------------------------------


def test_verify_items_until_rectified():
    desk = Desk()
    case = rectifying(desk)
    desk.advance(days=20)
    case.verify_item(desk.ctx("inspector"), item_no=1, result="passed", findings="已签订工资专项集体合同")
    assert case.stage == "rectifying"
    assert last_event(case).clocks_closed == ["item-1"]
    assert list(case.clocks) == ["item-2"]
    assert case.items[0]["status"] == "passed" and case.items[1]["status"] == "open"
    assert stats(case) == {"items_verified": 1}

    desk.advance(days=10)
    case.verify_item(desk.ctx("inspector"), item_no=2, result="failed", findings="仅补发了三个月")
    assert case.stage == "rectifying"
    assert last_event(case).clocks_closed == []
    assert list(case.clocks) == ["item-2"]
    assert case.items[1]["status"] == "failed"
    assert stats(case) == {"items_verified": 1}

    desk.advance(days=5)
    case.verify_item(desk.ctx("supervisor"), item_no=2, result="passed")
    assert case.stage == "rectified"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["item-2"]
    assert not case.is_open
    assert stats(case) == {"items_verified": 1, "rectifications_completed": 1}
    assert [(v["item_no"], v["result"], v["verified_on"]) for v in case.verifications] == [
        (1, "passed", days(20)),
        (2, "failed", days(30)),
        (2, "passed", days(35)),
    ]


def test_a_single_item_passing_rectifies_the_case():
    desk = Desk()
    case = issue(desk, items=[ITEMS[0]])
    case.accept_plan(desk.ctx("inspector"), plan="p")
    case.verify_item(desk.ctx("inspector"), item_no=1, result="passed", findings="ok")
    assert case.stage == "rectified" and case.clocks == {}


def test_verify_item_names_bad_data():
    desk = Desk()
    case = rectifying(desk)
    with pytest.raises(InvalidCommand) as err:
        case.verify_item(desk.ctx("inspector"), item_no=3, result="maybe")
    assert set(err.value.fields) == {"item_no", "result"}
    with pytest.raises(InvalidCommand) as err:
        case.verify_item(desk.ctx("inspector"), item_no="1", result="failed", findings="")
    assert set(err.value.fields) == {"item_no", "findings"}
    case.verify_item(desk.ctx("inspector"), item_no=1, result="passed")
    with pytest.raises(InvalidCommand) as err:
        case.verify_item(desk.ctx("inspector"), item_no=1, result="passed")
    assert "already passed" in err.value.fields["item_no"]


# -- referral and enforcement -----------------------------------------------------------------


def test_referral_from_issued_only_once_the_reply_clock_ran_out():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=15)
    with pytest.raises(ActionNotAllowed) as err:
        case.refer_to_inspectorate(desk.ctx("system", reason="no reply"))
    assert "due 2026-03-17" in err.value.why
    desk.advance(days=1)
    case.refer_to_inspectorate(desk.ctx("system", reason="no reply within 15 days"))
    assert case.stage == "referred"
    assert case.clocks == {}
    assert last_event(case).clocks_closed == ["reply"]
    assert stats(case) == {"rectifications_referred": 1}


def test_an_alert_when_the_reply_clock_runs_out_until_the_case_is_referred():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=15)  # 17 March: the due day
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="reply")
    assert "due 2026-03-17" in err.value.why
    desk.advance(days=1)
    with pytest.raises(ActionNotAllowed):
        case.raise_alert(desk.ctx("inspector"), clock="reply")
    case.raise_alert(desk.ctx("system"), clock="reply", notify=["inspector-1", "supervisor-1"])
    assert last_event(case).data == {"clock": "reply", "due_on": days(15), "notify": ["inspector-1", "supervisor-1"]}
    assert case.stage == "issued" and stats(case) == {}
    assert case.flags() == ["from_negotiation"]
    assert case.all_flags() == ["from_negotiation", "deadline_alert"]
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock="reply")
    assert "already raised" in err.value.why
    case.refer_to_inspectorate(desk.ctx("system", reason="no reply within 15 days"))
    assert case.all_flags() == ["from_negotiation"]
    assert replay(case).alerts == case.alerts


def test_referral_after_a_refusal():
    desk = Desk()
    case = referred(desk)
    assert case.stage == "referred"
    assert last_event(case).data == {"grounds": [], "from_stage": "refused"}
    assert stats(case) == {"rectifications_referred": 1}


def test_referral_while_rectifying_needs_an_overdue_or_failed_item():
    desk = Desk()
    case = rectifying(desk)
    desk.advance(days=30)
    with pytest.raises(ActionNotAllowed) as err:
        case.refer_to_inspectorate(desk.ctx("inspector", reason="slow"))
    assert "on track" in err.value.why
    desk.advance(days=1)
    case.refer_to_inspectorate(desk.ctx("inspector", reason="item 1 not rectified in time"))
    assert case.stage == "referred"
    assert case.clocks == {}
    assert sorted(last_event(case).clocks_closed) == ["item-1", "item-2"]
    assert last_event(case).data == {"grounds": ["item 1 overdue"], "from_stage": "rectifying"}


def test_referral_while_rectifying_after_a_failed_check():
    desk = Desk()
    case = rectifying(desk)
    case.verify_item(desk.ctx("inspector"), item_no=2, result="failed", findings="未补发")
    case.refer_to_inspectorate(desk.ctx("supervisor", reason="item 2 failed"))
    assert case.stage == "referred"
    assert last_event(case).data["grounds"] == ["item 2 failed"]


def test_referral_roles_and_reason():
    desk = Desk()
    case = refused(desk)
    with pytest.raises(ActionNotAllowed):
        case.refer_to_inspectorate(desk.ctx("negotiator", reason="x"))
    with pytest.raises(InvalidCommand) as err:
        case.refer_to_inspectorate(desk.ctx("inspector", reason=""))
    assert set(err.value.fields) == {"reason"}


def test_record_enforcement_closes_the_case():
    desk = Desk()
    case = referred(desk)
    with pytest.raises(InvalidCommand) as err:
        case.record_enforcement(desk.ctx("inspector"), outcome="", penalty="-1")
    assert set(err.value.fields) == {"outcome", "penalty"}
    with pytest.raises(ActionNotAllowed):
        case.record_enforcement(desk.ctx("system"), outcome="x")
    case.record_enforcement(desk.ctx("inspector"), outcome="劳动监察责令改正并处罚款", penalty="20000")
    assert case.stage == "closed"
    assert case.outcome == "劳动监察责令改正并处罚款"
    assert case.penalty == Decimal("20000.00")
    assert str(last_event(case).data["penalty"]) == "20000.00"
    assert stats(case) == {"enforcement_penalty_amount": Decimal("20000.00")}
    assert not case.is_open


def test_a_penalty_must_be_an_amount():
    desk = Desk()
    case = referred(desk)
    for bad in (True, "NaN", "lots", "-0.01"):
        with pytest.raises(InvalidCommand) as err:
            case.record_enforcement(desk.ctx("inspector"), outcome="x", penalty=bad)
        assert set(err.value.fields) == {"penalty"}


def test_record_enforcement_without_a_penalty():
    desk = Desk()
    case = referred(desk)
    case.record_enforcement(desk.ctx("supervisor"), outcome="责令限期改正")
    assert case.penalty is None and stats(case) == {}


def test_a_proposed_referral_is_confirmed_by_a_supervisor_as_the_referral_itself():
    desk = Desk()
    case = issue(desk)
    desk.advance(days=15)
    with pytest.raises(ActionNotAllowed) as err:  # the reply is due today: nothing to propose yet
        case.propose_referral(desk.ctx("system", reason="no reply"), trigger="reply")
    assert "nothing calls for a referral" in err.value.why
    desk.advance(days=1)
    with pytest.raises(InvalidCommand) as bad:
        case.propose_referral(desk.ctx("system", reason="no reply"), trigger="item-1")
    assert "what does: reply" in bad.value.fields["trigger"]
    case.propose_referral(desk.ctx("system", reason="the enterprise did not reply by 2026-03-17"), trigger="reply")
    assert case.stage == "issued" and stats(case) == {}
    assert {k: case.pending_referral[k] for k in ("trigger", "due_on", "proposed_by")} == {
        "trigger": "reply",
        "due_on": days(15),
        "proposed_by": "system-1",
    }
    supervisor_may = case.allowed_actions("supervisor", desk.ctx("supervisor").now)
    assert {"confirm_referral", "dismiss_referral"} <= set(supervisor_may)
    assert not {"confirm_referral", "dismiss_referral"} & set(case.allowed_actions("inspector"))
    with pytest.raises(ActionNotAllowed) as err:
        case.propose_referral(desk.ctx("system", reason="again"), trigger="reply")
    assert "already pending" in err.value.why

    case.confirm_referral(desk.ctx("supervisor"))
    event = last_event(case)
    assert type(event).__name__ == "RectificationReferred" and event.actor_role == "supervisor"
    assert event.reason == "referral confirmed: the enterprise did not reply by 2026-03-17"
    assert case.stage == "referred" and case.pending_referral is None
    assert stats(case) == {"rectifications_referred": 1}
    assert replay(case).pending_referral is None


def test_a_dismissed_referral_is_not_proposed_again_for_that_deadline():
    desk = Desk()
    case = rectifying(desk)
    desk.advance(days=31)  # item 1 (due day 30) has run out; item 2 (day 45) has not
    with pytest.raises(ActionNotAllowed) as err:
        case.confirm_referral(desk.ctx("supervisor"))
    assert err.value.why == "no referral is pending"
    case.propose_referral(desk.ctx("system", reason="item 1 was not rectified by 2026-04-01"), trigger="item-1")
    with pytest.raises(InvalidCommand):
        case.dismiss_referral(desk.ctx("supervisor"))  # a dismissal needs a reason
    case.dismiss_referral(desk.ctx("supervisor", reason="已现场核实，正在整改"))
    assert case.pending_referral is None and case.stage == "rectifying"
    assert [(d["trigger"], d["due_on"], d["dismissed_by"]) for d in case.dismissed_referrals] == [
        ("item-1", days(30), "supervisor-1")
    ]
    assert "propose_referral" not in case.allowed_actions("system", desk.ctx("system").now)
    desk.advance(days=15)  # item 2 has run out too: that one may be proposed
    assert case.referral_triggers(desk.now.date()) == [("item-2", days(45))]
    case.propose_referral(desk.ctx("system", reason="item 2 was not rectified"), trigger="item-2")
    # Verifying the item answers the proposal: it is no longer pending.
    case.verify_item(desk.ctx("inspector"), item_no=2, result="passed")
    assert case.pending_referral is None and replay(case).pending_referral is None


# -- a long history (replayed and hash-checked with every case type) -----------------------------


def long_history(desk: Desk) -> RectificationProposal:
    """A proposal accepted, one item failed then passed, the other overdue, referred and closed: 9 events."""
    case = issue(desk)
    case.assign(desk.ctx("supervisor"), assignee="inspector-3")
    case.extend_clock(desk.ctx("supervisor", reason="Spring Festival"), clock="reply", days=5)
    desk.advance(days=10)
    case.accept_plan(desk.ctx("inspector"), plan="分两步整改")
    desk.advance(days=20)
    case.verify_item(desk.ctx("inspector"), item_no=1, result="failed", findings="尚未启动协商")
    case.add_note(desk.ctx("inspector"), text="enterprise promises to meet next week")
    desk.advance(days=5)
    case.verify_item(desk.ctx("inspector"), item_no=1, result="passed", findings="已启动协商")
    desk.advance(days=20)
    case.refer_to_inspectorate(desk.ctx("system", reason="item 2 overdue"))
    case.record_enforcement(desk.ctx("inspector"), outcome="责令补发", penalty=Decimal("5000.5"))
    return case


def test_the_long_history_ends_with_one_item_passed_one_open_and_the_penalty():
    rebuilt = replay(long_history(Desk()))
    assert [i["status"] for i in rebuilt.items] == ["passed", "open"]
    assert rebuilt.penalty == Decimal("5000.50")
