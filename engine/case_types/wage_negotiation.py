"""Wage negotiations, engine side: the escalation ladder's steps that need more than the negotiation itself.

The ladder's rungs, their guards and clocks are the aggregate's (aggregates/wage_negotiation.py): an offer
unanswered in 20 days (or refused) calls for an acting offer by the higher-level union, then a rectification
proposal to the enterprise, then the labor inspectorate. This module holds the rest, in the order a case
climbs:

- opening: whether the offer is the first under its document number (the statistics count a written offer
  once per document, however many enterprises it went to);
- `next_rung`: the step the escalation sweep takes when a reply clock runs out or an offer is refused — the
  acting offer names the higher-level union, the rectification step a default violation item — or proposes
  for a supervisor to confirm, where the escalation policy says so;
- `issue_rectification`: opens the rectification proposal in the same command, and `confirm_escalation` a
  supervisor's confirmation of a proposed step, with the defaults the sweep would have used;
- following the proposal's outcome: an accepted plan resumes the negotiation while it waits on that proposal;
  a referral refers it from any stage the proposal's outcome can find it in (still waiting, or back at the
  table, even with a contract signed, after the enterprise agreed to rectify and then missed an item's
  deadline), so the enterprise counts both as having agreed to rectify and as referred. This runs inside the
  command that records the outcome, so both cases change in one transaction; the escalation sweep catches any
  the inline path missed (an outcome recorded before this rule, or by a rebuild), and the negotiation's stage
  table and state guards let each step happen once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import TYPE_CHECKING, Annotated, Any, cast
from uuid import UUID

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from aggregates.base import Case, Context
from aggregates.fields import Nested, Text
from engine.case_types import EngineSide, Planned, Prepared
from engine.errors import CaseNotFound, NothingDue
from engine.organisation import higher_union, supervisors_of
from engine.tables import case_index
from engine.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from aggregates.wage_negotiation import WageNegotiation

KIND, PROPOSAL = "wage_negotiation", "rectification_proposal"

# -- opening -------------------------------------------------------------------------------------------------


def count_the_document(uow: UnitOfWork, data: dict[str, Any]) -> None:
    """Mark the offer the first of its document number unless another offer was issued under it (a campaign,
    which knows its own documents, says so itself)."""
    if "first_of_document" in data:
        return
    seen = uow.session.execute(
        select(func.count())
        .select_from(case_index)
        .where(case_index.c.kind == KIND, case_index.c.reference == data.get("document_number"))
    ).scalar_one()
    data["first_of_document"] = seen == 0


# -- the sweep's step at each rung -----------------------------------------------------------------------------


def default_rectification_item(ctx: Context) -> dict[str, Any]:
    """The violation a negotiation's rectification proposal names when nobody wrote another:
    refusing, or not answering, a written offer to negotiate (集体合同规定 art. 32)."""
    days = ctx.policy.rule("rectification.item").days
    return {
        "category": "collective_contract",
        "description": "拒绝或者未在收到要约之日起20日内书面回应工资集体协商要约 "
        "(refused, or did not answer in writing within 20 days, the written offer "
        "to negotiate wages collectively)",
        "legal_basis": "《集体合同规定》第三十二条；《工会法》",
        "deadline": ctx.today + timedelta(days=days),
    }


def next_rung(uow: UnitOfWork, case: Case, clock: str | None, due_on: date | None) -> Planned:
    """What the escalation sweep does about a negotiation whose `clock` ran out on `due_on` (None: whose offer was
    refused): the ladder's next rung, or its proposal where the policy wants a supervisor to confirm it."""
    ctx, session = uow.ctx, uow.session
    step = cast("WageNegotiation", case).next_escalation(ctx.today)
    if step is None:
        if clock == "proposal_reply":  # the enterprise's proposal awaits the union: tell supervisors
            return Planned(
                "raise_alert",
                {"clock": clock, "notify": supervisors_of(session, case.org_unit)},
                f"the union did not answer the enterprise's proposal by {due_on}",
            )
        raise NothingDue(f"{case.label} has no escalation due")
    if ctx.policy.confirms(step.rung):
        return Planned("propose_escalation", {}, f"{step.why}; awaiting a supervisor's confirmation")
    if step.action == "escalate_to_acting_offer":
        return Planned(step.action, {"acting_union": higher_union(session, case.org_unit)}, step.why)
    return Planned(step.action, {"items": [default_rectification_item(ctx)]}, step.why)


# -- steps the engine prepares ---------------------------------------------------------------------------------

ITEMS = Annotated[Sequence[Mapping[str, Any]], Nested("item")]
ITEMS_OR_DEFAULT = Annotated[Sequence[Mapping[str, Any]] | None, Nested("item")]
UNION = Annotated[str | None, Text(max=200)]
ASSIGNEE = Annotated[str | None, Text(max=120)]


def open_the_proposal(uow: UnitOfWork, case: Case, data: dict[str, Any]) -> None:
    """The rectification step opens the rectification proposal, linked to the negotiation, in the same command."""
    negotiation = cast("WageNegotiation", case)
    items = data.pop("items")
    proposal = uow.open(
        PROPOSAL,
        org_unit=case.org_unit,
        assignee=data.pop("assignee", None),
        enterprise=negotiation.enterprise,
        issuing_union=data.pop("issuing_union", negotiation.issuing_union),
        source={"kind": "negotiation", "case_id": case.id, "number": case.number},
        items=items,
    )
    data["rectification_case_id"] = proposal.id
    data["rectification_number"] = proposal.number


def complete_the_confirmation(uow: UnitOfWork, case: Case, data: dict[str, Any]) -> None:
    """A supervisor confirms the step the sweep proposed: what the caller left out is what the sweep would have
    used (the higher-level union, the default violation item), and what does not belong to the step goes."""
    pending = cast("WageNegotiation", case).pending_escalation or {}
    if pending.get("action") == "escalate_to_acting_offer":
        data["acting_union"] = data.get("acting_union") or higher_union(uow.session, case.org_unit)
        for key in ("items", "issuing_union", "assignee"):
            data.pop(key, None)
    elif pending.get("action") == "issue_rectification":
        data.pop("acting_union", None)
        if not data.get("items"):
            data["items"] = [default_rectification_item(uow.ctx)]
        open_the_proposal(uow, case, data)
    else:  # nothing pending: the aggregate refuses, naming why
        for key in ("items", "issuing_union", "assignee"):
            data.pop(key, None)


# -- following the rectification proposal's outcome ------------------------------------------------------------

FOLLOWS_ACTION = {
    "accept_plan": "resume_after_rectification",
    "refer_to_inspectorate": "refer_to_inspectorate",
    "confirm_referral": "refer_to_inspectorate",
}
"""Action recorded on the proposal -> the step the negotiation takes."""
FOLLOWS_STAGE = {
    "rectifying": "resume_after_rectification",
    "rectified": "resume_after_rectification",
    "referred": "refer_to_inspectorate",
    "closed": "refer_to_inspectorate",
}
"""Proposal stages whose outcome is settled, and the negotiation's step for each."""
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
    return dataclasses.replace(
        ctx,
        actor_id="system",
        actor_role="system",
        occurred_at=occurred_at,
        reason=WHY[step].format(number=proposal.number),
    )


def follow_the_proposal(uow: UnitOfWork, proposal: Case, action: str) -> None:
    """The step the proposal's outcome (`action`) calls for on its negotiation, in the same unit of work."""
    step = FOLLOWS_ACTION[action]
    negotiation = following_negotiation(uow, proposal, step)
    if negotiation is not None:
        getattr(negotiation, step)(following_context(uow, proposal, negotiation, step))


def unfollowed_outcomes(session: Session) -> list[tuple[UUID, UUID, str]]:
    """(negotiation, proposal, step) for each negotiation that has not followed its rectification proposal's
    settled outcome: still waiting on it, or, once it was referred, in any stage a referral can find it in (back at
    the table after agreeing to rectify)."""
    from aggregates.wage_negotiation import REFERABLE  # here: a command that never sweeps need not load the type

    n, rp = case_index.alias("n"), case_index.alias("rp")
    referred = [stage for stage, step in FOLLOWS_STAGE.items() if step == "refer_to_inspectorate"]
    rows = session.execute(
        select(n.c.case_id, rp.c.case_id.label("proposal_id"), rp.c.stage.label("proposal_stage"))
        .join(rp, and_(rp.c.reference == n.c.number, rp.c.kind == PROPOSAL))
        .where(
            n.c.kind == KIND,
            or_(
                and_(n.c.stage == "rectification_pending", rp.c.stage.in_(list(FOLLOWS_STAGE))),
                and_(n.c.stage.in_(REFERABLE), rp.c.stage.in_(referred)),
            ),
        )
        .order_by(n.c.case_id)
    )
    return [(r.case_id, r.proposal_id, FOLLOWS_STAGE[r.proposal_stage]) for r in rows]


def follow_up(uow: UnitOfWork, negotiation: Case, proposal_id: UUID, listed_step: str | None) -> Planned:
    """The step a sweep takes on `negotiation` to follow its proposal's outcome, decided on the loaded cases
    (`listed_step`, what the outcome called for when the sweep listed it: None in commands recorded before it
    was named)."""
    proposal = uow.load(proposal_id)
    step = FOLLOWS_STAGE.get(proposal.stage)
    if step is None or listed_step not in (None, step) or following_negotiation(uow, proposal, step) is not negotiation:
        raise NothingDue(f"{negotiation.label} has nothing to follow in {proposal.number}'s outcome")
    return Planned(step, {}, WHY[step].format(number=proposal.number))


ENGINE_SIDE = EngineSide(
    opening=count_the_document,
    supplied=frozenset({"first_of_document"}),
    actions={
        "issue_rectification": Prepared(
            open_the_proposal, {"items": (ITEMS, True), "issuing_union": (UNION, False), "assignee": (ASSIGNEE, False)}
        ),
        # The pending step decides which of these apply.
        "confirm_escalation": Prepared(
            complete_the_confirmation,
            {
                "acting_union": (UNION, False),
                "items": (ITEMS_OR_DEFAULT, False),
                "issuing_union": (UNION, False),
                "assignee": (ASSIGNEE, False),
            },
        ),
    },
    reactions={(PROPOSAL, action): follow_the_proposal for action in FOLLOWS_ACTION},
)
