"""Cross-case reactions: a rectification proposal's outcome moves the negotiation it came from.

They run inside the command that records the outcome, so the two cases change in one
transaction. The escalation sweep catches any the inline path missed (an outcome recorded
before this rule, or by a rebuild); either way the negotiation's stage table and state guards
let each step happen once. An accepted plan resumes the negotiation only while it waits on
that proposal; a referral refers it from any stage the proposal's outcome can find it in (still
waiting, or back at the table, even with a contract signed, after the enterprise agreed to
rectify and then missed an item's deadline), so the enterprise counts both as having agreed
to rectify and as referred.
"""

from __future__ import annotations

import dataclasses

from aggregates.base import Case, Context
from engine.errors import CaseNotFound
from engine.unit_of_work import UnitOfWork

# (kind, action recorded on the proposal) -> action the negotiation takes
REACTIONS = {
    ("rectification_proposal", "accept_plan"): "resume_after_rectification",
    ("rectification_proposal", "refer_to_inspectorate"): "refer_to_inspectorate",
    ("rectification_proposal", "confirm_referral"): "refer_to_inspectorate",
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


def following_negotiation(uow: UnitOfWork, proposal: Case, step: str) -> Case | None:
    """The negotiation `proposal` came from, if `step` (what the proposal's outcome calls for) applies to it now:
    the proposal is one of its rectification proposals, it resumes only while waiting on this one, and the
    step is among the actions its stage table and state guards allow the system now."""
    source_id = getattr(proposal, "source_case_id", None)
    if source_id is None:
        return None
    try:
        negotiation = uow.touched.get(source_id) or uow.load(source_id)
    except CaseNotFound:
        return None
    if not any(link["case_id"] == proposal.id and link["relation"] == "rectification" for link in negotiation.links):
        return None
    waiting_on = (getattr(negotiation, "rectification", None) or {}).get("case_id")
    if step == "resume_after_rectification" and waiting_on != proposal.id:
        return None
    if step not in negotiation.allowed_actions("system", following_context(uow, proposal, negotiation, step).now):
        return None
    return negotiation


def following_context(uow: UnitOfWork, proposal: Case, negotiation: Case, step: str) -> Context:
    """The command's context, as the system, saying which proposal caused the step (back-dated with the
    proposal's outcome only as far as the negotiation's last event)."""
    ctx = uow.ctx
    occurred_at = ctx.occurred_at if ctx.occurred_at and ctx.occurred_at >= negotiation.updated_at else None
    return dataclasses.replace(ctx, actor_id="system", actor_role="system", occurred_at=occurred_at,
                               reason=WHY[step].format(number=proposal.number))


def react(uow: UnitOfWork, case: Case, action: str) -> None:
    """Apply the reaction `action` on `case` calls for, in the same unit of work."""
    step = REACTIONS.get((case.KIND, action))
    if step is None:
        return
    negotiation = following_negotiation(uow, case, step)
    if negotiation is not None:
        getattr(negotiation, step)(following_context(uow, case, negotiation, step))
