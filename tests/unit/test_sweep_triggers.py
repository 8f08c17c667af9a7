"""What a sweep acts on is a value, and its command id is made of the value's key exactly as ids were always made:
the command log answers a repeated id, so a changed id would let a step happen twice."""

from __future__ import annotations

import json
from datetime import date
from uuid import UUID

import pytest

from engine.sweeps import ALERT, ESCALATE, ESCALATION, LEGAL, ClockRanOut, Due, FollowUp, InStage, Outcome

CASE = UUID("0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90")
PROPOSAL = UUID("7c1d9e3a-2b4f-4a6d-8e5c-1f0a9b8c7d6e")

DUES = [
    (
        Due(CASE, "wage_negotiation", ClockRanOut("reply"), date(2026, 3, 22)),
        "sweep/0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90/reply/2026-03-22",
    ),
    (
        Due(CASE, "rectification_proposal", ClockRanOut("item-2"), date(2026, 4, 1)),
        "sweep/0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90/item-2/2026-04-01",
    ),
    (
        Due(CASE, "wage_negotiation", InStage("offer_refused", 3)),
        "sweep/0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90/stage:offer_refused@3/-",
    ),
    (
        Due(CASE, "wage_negotiation", FollowUp(PROPOSAL, "refer_to_inspectorate")),
        "sweep/0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90/reaction:7c1d9e3a-2b4f-4a6d-8e5c-1f0a9b8c7d6e@refer_to_inspectorate/-",
    ),
    (
        Due(CASE, "wage_negotiation", FollowUp(PROPOSAL)),  # as recorded before the step was part of the id
        "sweep/0b5e2a44-6f0e-4f1e-9d3c-2f6a1c7d8e90/reaction:7c1d9e3a-2b4f-4a6d-8e5c-1f0a9b8c7d6e/-",
    ),
]


@pytest.mark.parametrize(("due", "command_id"), DUES, ids=[command_id.split("/")[2] for _, command_id in DUES])
def test_a_due_steps_command_id_is_as_it_always_was(due: Due, command_id: str) -> None:
    assert due.command_id == command_id


@pytest.mark.parametrize("due", [due for due, _ in DUES], ids=[command_id.split("/")[2] for _, command_id in DUES])
def test_a_due_step_passes_between_flow_tasks_as_json_and_comes_back_the_same(due: Due) -> None:
    data = json.loads(json.dumps(due.to_dict()))
    assert data["trigger"] == due.command_id.split("/")[2]
    back = Due.from_dict(data)
    assert back == due and type(back.trigger) is type(due.trigger) and back.command_id == due.command_id


def test_each_trigger_finds_its_rule() -> None:
    reply, item, refused, follow, _ = (due for due, _ in DUES)
    assert (reply.rule.sweep, reply.rule.step) == (ESCALATION, ESCALATE)
    assert (item.rule.sweep, item.rule.step) == (LEGAL, "refer_to_inspectorate")
    assert (refused.rule.sweep, refused.rule.step) == (ESCALATION, ESCALATE)
    assert follow.rule.sweep == ESCALATION
    assert Due(CASE, "hardship", ClockRanOut("review"), date(2027, 3, 2)).rule.step == ALERT


def test_a_flow_runs_outcome_names_the_trigger_by_its_key() -> None:
    refused = DUES[2][0]
    outcome = Outcome(refused, "applied", "escalate_to_acting_offer", "WN-2026-000001")
    assert outcome.to_dict() == {
        "case": "WN-2026-000001",
        "trigger": "stage:offer_refused@3",
        "status": "applied",
        "action": "escalate_to_acting_offer",
        "detail": "",
        "linked": [],
        "notify": [],
    }
