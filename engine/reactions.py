"""Cross-case reactions: a rectification proposal's outcome moves the negotiation it came from.

They run inside the command that records the outcome, so the two cases change in one
transaction. The escalation sweep catches any the inline path missed (an outcome recorded
before this rule, or by a rebuild); either way the negotiation's stage table lets the step
happen once: it runs only from `rectification_pending`, on the proposal that case is waiting for.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from aggregates.base import Case
from engine.errors import CaseNotFound

if TYPE_CHECKING:
    from engine.service import UnitOfWork

# (kind, action recorded on the proposal) -> action the negotiation takes
REACTIONS = {
    ("rectification_proposal", "accept_plan"): "resume_after_rectification",
    ("rectification_proposal", "refer_to_inspectorate"): "refer_to_inspectorate",
}
# Proposal stages whose outcome is settled, and the negotiation's step for each.
FOLLOWS_STAGE = {
    "rectifying": "resume_after_rectification",
    "rectified": "resume_after_rectification",
    "referred": "refer_to_inspectorate",
    "closed": "refer_to_inspectorate",
}
WHY = {
    "resume_after_rectification": "{number}: the enterprise agreed to rectify (同意整改)",
    "refer_to_inspectorate": "{number}: the enterprise was referred to the labor inspectorate",
}


def waiting_negotiation(uow: UnitOfWork, proposal: Case) -> Case | None:
    """The negotiation waiting on `proposal`, if there is one and it still waits on this proposal."""
    source_id = getattr(proposal, "source_case_id", None)
    if source_id is None:
        return None
    try:
        negotiation = uow.touched.get(source_id) or uow.load(source_id)
    except CaseNotFound:
        return None
    waiting_on = (getattr(negotiation, "rectification", None) or {}).get("case_id")
    if negotiation.stage != "rectification_pending" or waiting_on != proposal.id:
        return None
    return negotiation


def follow(uow: UnitOfWork, proposal: Case, negotiation: Case, step: str) -> None:
    """Record `step` on the negotiation as the system, saying which proposal caused it."""
    ctx = uow.ctx
    occurred_at = ctx.occurred_at if ctx.occurred_at and ctx.occurred_at >= negotiation.updated_at else None
    ctx = dataclasses.replace(ctx, actor_id="system", actor_role="system", occurred_at=occurred_at,
                              reason=WHY[step].format(number=proposal.number))
    getattr(negotiation, step)(ctx)


def react(uow: UnitOfWork, case: Case, action: str) -> None:
    """Apply the reaction `action` on `case` calls for, in the same unit of work."""
    step = REACTIONS.get((case.KIND, action))
    if step is None:
        return
    negotiation = waiting_negotiation(uow, case)
    if negotiation is not None:
        follow(uow, case, negotiation, step)
