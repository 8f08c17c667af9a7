"""Escalation by a supervisor's confirmation, over HTTP, on a real SQLite file and a real PostgreSQL schema.

With the 'confirm' escalation policy the escalation sweep only proposes each ladder step; the case shows it
as details.pending_escalation, and a supervisor confirms it (the step is recorded as its own event, by the
supervisor) or dismisses it with a reason (never proposed again for that deadline). Also the inline reaction:
a rectification proposal's accepted plan resumes the negotiation it came from, in the same request.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from typing import Any

import pytest

from aggregates.policy import DeadlinePolicy
from engine.config import Settings
from engine.service import Actor
from engine.sweeps import ESCALATION, SweepReport, run_sweep
from tests.api.conftest import ApiWorld
from tests.api.support import Walk, check_error, command_path, count_rows, etag, items, offer
from tests.conftest import make_settings

SYSTEM = Actor("system", "system")
DAY_0 = date(2026, 3, 2)
"""The business date every test starts on (the `clock` fixture); an offer's reply is due on day 20."""
HIGHER_UNION = "苏州市总工会"
"""The union above suzhou.gusu, where the callers work: it issues the acting offer."""


@pytest.fixture
def settings(tmp_path, database_url: str) -> Settings:
    """The engine behind the `api` fixture, with the scheduler proposing each ladder step for confirmation."""
    return make_settings(tmp_path, database_url, policy=dataclasses.replace(DeadlinePolicy(), escalation="confirm"))


def sweep(api: ApiWorld) -> SweepReport:
    return run_sweep(api.cw, ESCALATION, SYSTEM)


def read(api: ApiWorld, case: dict[str, Any] | str, who: str = "supervisor") -> dict[str, Any]:
    case_id = case if isinstance(case, str) else case["case_id"]
    response = api[who].get(f"/cases/{case_id}")
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def history(api: ApiWorld, case: dict[str, Any], who: str = "supervisor") -> list[dict[str, Any]]:
    response = api[who].get(f"/cases/{case['case_id']}/history")
    assert response.status_code == 200, response.get_json()
    return response.get_json()["events"]


def command(api: ApiWorld, case: dict[str, Any], action: str, who: str, body: dict[str, Any] | None = None) -> Any:
    return api[who].post(
        command_path("wage_negotiation", case["case_id"], action),
        body or {},
        headers={"If-Match": etag(case["version"])},
    )


def refused_twice(api: ApiWorld, w: Walk, name: str) -> dict[str, Any]:
    """An offer refused, its acting offer confirmed and refused too: the sweep proposes a rectification proposal."""
    n = w(
        w.open("wage_negotiation", "negotiator", offer(enterprise={"name": name})),
        "refuse_offer",
        "negotiator",
        reason="企业拒绝协商",
    )
    assert [(o.status, o.action) for o in sweep(api).outcomes] == [("proposed", "propose_escalation")]
    n = w(read(api, n), "confirm_escalation", "supervisor")
    assert n["stage"] == "acting_offer_issued"
    n = w(n, "refuse_offer", "negotiator", reason="企业再次拒绝")
    assert [(o.status, o.action) for o in sweep(api).outcomes] == [("proposed", "propose_escalation")]
    n = read(api, n)
    assert n["details"]["pending_escalation"]["action"] == "issue_rectification"
    assert n["details"]["pending_escalation"]["trigger"] == "refused"
    return n


# -- proposed by the sweep, confirmed by a supervisor ----------------------------------------------------------


def test_the_sweep_proposes_and_only_a_supervisor_confirms_the_acting_offer(api: ApiWorld) -> None:
    w = api.walk()
    n = w.open("wage_negotiation", "negotiator", offer())
    api.clock.advance(days=19)
    assert sweep(api).found == 0  # the reply is due on day 20
    api.clock.advance(days=2)
    report = sweep(api)
    assert [(str(o.due.case_id), o.status, o.action) for o in report.outcomes] == [
        (n["case_id"], "proposed", "propose_escalation")
    ]

    case = read(api, n)
    assert case["stage"] == "offer_issued" and case["version"] == 2
    pending = case["details"]["pending_escalation"]
    assert {k: pending[k] for k in ("action", "trigger", "due_on", "proposed_by")} == {
        "action": "escalate_to_acting_offer",
        "trigger": "reply",
        "due_on": (DAY_0 + timedelta(days=20)).isoformat(),
        "proposed_by": "system",
    }
    assert {"confirm_escalation", "dismiss_escalation"} <= set(case["allowed_actions"])
    seen_by_negotiator = read(api, n, "negotiator")
    assert seen_by_negotiator["details"]["pending_escalation"]["action"] == "escalate_to_acting_offer"
    assert not {"confirm_escalation", "dismiss_escalation"} & set(seen_by_negotiator["allowed_actions"])
    [*_, proposed] = history(api, case)
    assert (proposed["event"], proposed["actor_id"], proposed["actor_role"]) == (
        "EscalationProposed",
        "system",
        "system",
    )
    assert "confirmation" in proposed["reason"]

    before = count_rows(api.cw)
    for who in ("negotiator", "mediator", "auditor"):
        error = check_error(command(api, case, "confirm_escalation", who), 403, "forbidden")
        assert error["roles"] == ["supervisor"] and error["action"] == "confirm_escalation"
    assert count_rows(api.cw) == before and read(api, n)["version"] == 2

    api.clock.advance(hours=2)
    confirmed = w(case, "confirm_escalation", "supervisor")
    assert confirmed["stage"] == "acting_offer_issued" and confirmed["version"] == 3
    assert confirmed["details"]["acting_union"] == HIGHER_UNION
    assert confirmed["details"]["pending_escalation"] is None
    assert "acting_offer" in confirmed["flags"]
    [reply] = [c for c in confirmed["clocks"] if c["name"] == "reply"]
    assert reply["due_on"] == (DAY_0 + timedelta(days=41)).isoformat()  # a new 20-day clock from day 21
    [*_, acting] = history(api, confirmed)
    assert (acting["event"], acting["action"], acting["actor_id"], acting["actor_role"]) == (
        "ActingOfferIssued",
        "escalate_to_acting_offer",
        "supervisor",
        "supervisor",
    )
    assert acting["reason"].startswith("escalation confirmed") and acting["version"] == 3

    assert sweep(api).found == 0  # nothing left to propose until the acting offer's own clock runs out


def test_a_supervisor_may_name_the_acting_union(api: ApiWorld) -> None:
    w = api.walk()
    n = w.open("wage_negotiation", "negotiator", offer())
    api.clock.advance(days=21)
    sweep(api)
    confirmed = w(
        read(api, n),
        "confirm_escalation",
        "supervisor",
        acting_union="苏州市总工会法律工作部",
        reason="督查确认代行要约",
    )
    assert confirmed["details"]["acting_union"] == "苏州市总工会法律工作部"
    [*_, acting] = history(api, confirmed)
    assert acting["reason"] == "督查确认代行要约" and acting["data"]["acting_union"] == "苏州市总工会法律工作部"


# -- dismissed with a reason, never proposed again for the deadline ---------------------------------------------


def test_a_dismissal_needs_a_reason_and_the_next_sweep_proposes_nothing_new(api: ApiWorld) -> None:
    w = api.walk()
    kept = w.open("wage_negotiation", "negotiator", offer(enterprise={"name": "苏州甲公司"}))
    dismissed = w.open("wage_negotiation", "negotiator", offer(enterprise={"name": "苏州乙公司"}))
    api.clock.advance(days=21)
    assert sweep(api).counts == {"proposed": 2}
    case = read(api, dismissed)

    before = count_rows(api.cw)
    for body in ({}, {"reason": ""}, {"reason": None}):
        error = check_error(command(api, case, "dismiss_escalation", "supervisor", body), 422)
        assert list(error["fields"]) == ["reason"], error
    error = check_error(command(api, case, "dismiss_escalation", "negotiator", {"reason": "企业已口头应约"}), 403)
    assert error["roles"] == ["supervisor"]
    assert count_rows(api.cw) == before

    after = w(case, "dismiss_escalation", "supervisor", reason="企业已口头应约，书面答复在途")
    assert after["stage"] == "offer_issued" and after["details"]["pending_escalation"] is None
    [dismissal] = after["details"]["dismissed_escalations"]
    assert {k: dismissal[k] for k in ("action", "trigger", "due_on", "dismissed_by", "reason")} == {
        "action": "escalate_to_acting_offer",
        "trigger": "reply",
        "due_on": (DAY_0 + timedelta(days=20)).isoformat(),
        "dismissed_by": "supervisor",
        "reason": "企业已口头应约，书面答复在途",
    }
    [*_, event] = history(api, after)
    assert (event["event"], event["actor_id"]) == ("EscalationDismissed", "supervisor")

    for days in (0, 1, 20):
        api.clock.advance(days=days)
        for outcome in sweep(api).outcomes:
            assert str(outcome.due.case_id) != after["case_id"], outcome
        again = read(api, dismissed)
        assert again["version"] == after["version"] and again["details"]["pending_escalation"] is None
    # the other case's proposal still waits for a supervisor, untouched by the dismissal
    assert read(api, kept)["details"]["pending_escalation"]["action"] == "escalate_to_acting_offer"


def test_confirming_or_dismissing_with_nothing_pending_is_409_naming_why(api: ApiWorld) -> None:
    w = api.walk()
    n = w.open("wage_negotiation", "negotiator", offer())
    before = count_rows(api.cw)
    for action, body in (("confirm_escalation", {}), ("dismiss_escalation", {"reason": "无需升级"})):
        error = check_error(command(api, n, action, "supervisor", body), 409, "action_not_allowed")
        assert "no escalation is pending" in error["message"], error
        assert error["stage"] == "offer_issued" and error["action"] == action
    assert count_rows(api.cw) == before

    api.clock.advance(days=21)
    sweep(api)
    confirmed = w(read(api, n), "confirm_escalation", "supervisor")
    error = check_error(command(api, confirmed, "confirm_escalation", "supervisor"), 409, "action_not_allowed")
    assert "no escalation is pending" in error["message"]
    assert read(api, n)["version"] == confirmed["version"]


def test_a_negotiation_lists_for_a_supervisor_exactly_the_actions_it_would_accept_now(api: ApiWorld) -> None:
    """In negotiation, with the union's proposal not yet overdue and nothing pending, no ladder step is offered
    (each is a 409 naming the same list); once the proposal runs out unanswered, the rectification step is."""
    w = api.walk()
    n = w(w.open("wage_negotiation", "negotiator", offer()), "accept_offer", "negotiator", days=1)
    n = w(n, "submit_proposal", "negotiator", side="union", wage_increase_pct="6")
    case = read(api, n)
    assert case["stage"] == "negotiating"
    refused_now: dict[str, dict[str, Any]] = {
        "issue_rectification": {"items": items(w.today), "reason": "企业未答复工会方案"},
        "confirm_escalation": {},
        "dismiss_escalation": {"reason": "无需升级"},
        "refer_to_inspectorate": {"reason": "拒不整改"},
        "resume_clock": {"clock": "proposal_reply"},
    }
    assert not set(refused_now) & set(case["allowed_actions"]), case["allowed_actions"]
    assert {"submit_proposal", "accept_proposal", "declare_impasse", "pause_clock", "extend_clock", "withdraw"} <= set(
        case["allowed_actions"]
    )
    before = count_rows(api.cw)
    for action, body in refused_now.items():
        error = check_error(command(api, case, action, "supervisor", body), 409, "action_not_allowed")
        assert error["action"] == action and error["allowed_actions"] == case["allowed_actions"], error
    assert count_rows(api.cw) == before

    api.clock.advance(days=21)  # the union's proposal was due on day 21: now it has run out unanswered
    due = read(api, n)
    assert "issue_rectification" in due["allowed_actions"]
    stepped = w(due, "issue_rectification", "supervisor", reason="企业逾期未答复工会方案", items=items(w.today))
    assert stepped["stage"] == "rectification_pending"


# -- the rectification step: confirmed over HTTP, it opens the linked proposal ------------------------------------


def test_a_confirmed_rectification_step_opens_the_proposal_with_the_default_item(api: ApiWorld) -> None:
    w = api.walk()
    n = refused_twice(api, w, "苏州示例电子有限公司")
    rectifying = w(n, "confirm_escalation", "supervisor")
    assert rectifying["stage"] == "rectification_pending" and "rectification" in rectifying["flags"]
    [link] = [x for x in rectifying["links"] if x["relation"] == "rectification"]
    assert link["kind"] == "rectification_proposal" and link["number"].startswith("RP-2026-")
    assert rectifying["details"]["rectification"]["number"] == link["number"]
    [*_, step] = history(api, rectifying)
    assert (step["event"], step["actor_id"], step["actor_role"]) == (
        "RectificationProposed",
        "supervisor",
        "supervisor",
    )

    proposal = read(api, link["case_id"], "inspector")
    assert (proposal["kind"], proposal["stage"], proposal["org_unit"]) == (
        "rectification_proposal",
        "issued",
        "suzhou.gusu",
    )
    assert proposal["details"]["source"] == {"kind": "negotiation", "case_id": n["case_id"], "number": n["number"]}
    assert proposal["details"]["enterprise"]["name"] == "苏州示例电子有限公司"
    [item] = proposal["details"]["items"]
    assert item["category"] == "collective_contract" and item["legal_basis"] == "《集体合同规定》第三十二条；《工会法》"
    assert item["deadline"] == (w.today + timedelta(days=30)).isoformat() and item["no"] == 1
    [opened] = history(api, proposal)
    assert (opened["event"], opened["actor_id"], opened["actor_role"]) == (
        "RectificationIssued",
        "supervisor",
        "supervisor",
    )


def test_a_confirmed_rectification_step_takes_the_items_given_in_the_body(api: ApiWorld) -> None:
    w = api.walk()
    n = refused_twice(api, w, "苏州示例纺织有限公司")
    given = items(w.today, 2)
    rectifying = w(
        n, "confirm_escalation", "supervisor", items=given, issuing_union="姑苏区总工会法律工作部", assignee="inspector"
    )
    [link] = [x for x in rectifying["links"] if x["relation"] == "rectification"]
    proposal = read(api, link["case_id"])
    assert [
        {k: i[k] for k in ("category", "description", "legal_basis", "deadline")} for i in proposal["details"]["items"]
    ] == given
    assert proposal["details"]["issuing_union"] == "姑苏区总工会法律工作部" and proposal["assignee"] == "inspector"


# -- the inline reaction: the proposal's outcome moves the negotiation in the same request -----------------------


def test_an_accepted_plan_resumes_the_negotiation_it_came_from(api: ApiWorld) -> None:
    w = api.walk()
    n = w(refused_twice(api, w, "苏州示例食品有限公司"), "confirm_escalation", "supervisor")
    [link] = [x for x in n["links"] if x["relation"] == "rectification"]
    proposal = read(api, link["case_id"], "inspector")

    api.clock.advance(days=3)
    accepted = w(proposal, "accept_plan", "inspector", plan="企业同意在30日内完成整改并应约协商")
    assert accepted["case_id"] == link["case_id"] and accepted["kind"] == "rectification_proposal"
    assert accepted["stage"] == "rectifying"

    resumed = read(api, n)
    assert resumed["stage"] == "negotiating" and resumed["version"] == n["version"] + 1
    assert resumed["details"]["rectification"]["outcome"] == "agreed_to_rectify"
    [*_, last] = history(api, resumed)
    assert (last["event"], last["action"], last["actor_id"], last["actor_role"]) == (
        "NegotiationResumedAfterRectification",
        "resume_after_rectification",
        "system",
        "system",
    )
    assert link["number"] in last["reason"] and "同意整改" in last["reason"]
    assert sweep(api).found == 0  # the reaction happened inline: nothing left for the sweep to catch up on
