"""Collective wage negotiation offer cycle (工资集体协商要约).

Basis: 集体合同规定 (2004) art. 32 (written reply within 20 days of an offer; no refusal
without good reason), arts. 33-47 (negotiation, worker congress approval, filing with the
labor bureau within 10 days of signing, effective if no objection within 15 days).

One case per enterprise: a written offer (书面要约) covering several enterprises opens one
case per enterprise sharing the offer's document number; only the first of them counts the
written offer in the statistics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any
from uuid import UUID

from aggregates.base import (
    Case,
    Clock,
    Context,
    Now,
    case_type,
    common_actions,
    new_clock,
    require,
)
from aggregates.fields import Choice, Money, Nested, Percent, Text
from aggregates.stages import StageTable, action
from aggregates.values import CENTS, checked_credit_code, is_day, is_whole, text, to_decimal

NEGOTIATING = ("negotiator", "supervisor")
LADDER = ("supervisor", "system")
SIDES = ("union", "enterprise")
Side = Annotated[str, Choice(SIDES), Text(max=20)]
RECTIFICATION_KIND = "rectification_proposal"

# The escalation ladder (docs/domain.md): 0 offer, 1 acting offer, 2 rectification proposal.
LADDER_OFFER, LADDER_ACTING_OFFER, LADDER_RECTIFICATION = 0, 1, 2
# Stages in which the enterprise's silence or refusal moves the case up the ladder.
ESCALATING = ("offer_issued", "acting_offer_issued", "offer_refused", "negotiating")
# Stages a negotiation can be in while its rectification proposal is still open: waiting for the answer, or
# anywhere in the negotiation cycle once the enterprise agreed to rectify. The proposal's referral (an item
# not rectified by its deadline) refers the negotiation from any of them.
REFERABLE = (
    "rectification_pending",
    "negotiating",
    "impasse",
    "coordination",
    "agreed",
    "congress_approved",
    "signed",
    "filed",
    "effective",
    "expiring",
)


@dataclass(frozen=True)
class Escalation:
    """The next ladder step a negotiation is exposed to, and what exposes it.

    `trigger` is the clock that ran out ("reply", "proposal_reply") or "refused"; `due_on` is that
    clock's due date (None for a refusal). The three together name one level of the ladder, so a
    scheduler keyed on them acts once per level however often it runs.
    """

    action: str
    trigger: str
    due_on: date | None
    why: str

    def key(self) -> tuple[str, str, date | None]:
        return (self.action, self.trigger, self.due_on)

    @property
    def rung(self) -> str:
        """The rung of the policy's escalation ladder this step is (aggregates.policy.ESCALATION_RUNGS)."""
        return "acting_offer" if self.action == "escalate_to_acting_offer" else "rectification"

    def to_data(self) -> dict[str, Any]:
        return {"action": self.action, "trigger": self.trigger, "due_on": self.due_on, "why": self.why}


# -- state guards: why an action of the table cannot run now (None: it can) ------------------------


def _acting_offer_due(case: WageNegotiation, now: Now) -> str | None:
    if case.ladder_step != LADDER_OFFER:
        return "the higher-level union has already issued an acting offer; the next step is a rectification proposal"
    if case.stage == "offer_issued" and not case._reply_overdue(now.today):
        return f"the enterprise still has time to reply ({case._reply_state()})"
    return None


def _rectification_due(case: WageNegotiation, now: Now) -> str | None:
    if case.stage == "acting_offer_issued" and not case._reply_overdue(now.today):
        return f"the enterprise still has time to answer the acting offer ({case._reply_state()})"
    if case.stage == "offer_refused" and case.ladder_step != LADDER_ACTING_OFFER:
        return "a rectification proposal follows a refused acting offer; escalate to an acting offer first"
    if case.stage == "negotiating":
        if case._escalation_basis() is None:
            return (
                "in negotiation, only a union proposal left unanswered leads to a rectification proposal, "
                "and none is open"
            )
        if case.next_escalation(now.today) is None:
            clock = case.clocks["proposal_reply"]
            state = f"paused since {clock.paused_on}" if clock.paused_on else f"due {clock.due_on}"
            return f"the enterprise still has time to answer the union's proposal (reply clock {state})"
    return None


def _after_a_rectification_proposal(case: WageNegotiation, now: Now) -> str | None:
    if case.rectification is None:
        return (
            "only an enterprise that was sent a rectification proposal (整改建议书) is referred to the labor "
            "inspectorate"
        )
    return None


def _escalation_to_propose(case: WageNegotiation, now: Now) -> str | None:
    step = case.next_escalation(now.today)
    if step is None:
        basis = case._escalation_basis()
        clock = case.clocks.get(basis.trigger) if basis else None
        state = (
            "nothing in this stage leads up the ladder"
            if clock is None
            else f"the {clock.name} clock is paused since {clock.paused_on}"
            if clock.paused_on
            else f"the {clock.name} clock is due {clock.due_on}"
        )
        return f"no escalation is due ({state})"
    if case.pending_escalation is not None:
        return f"{case.pending_escalation['action']} is already pending"
    if any((d["action"], d["trigger"], d["due_on"]) == step.key() for d in case.dismissed_escalations):
        return "a supervisor dismissed this escalation"
    return None


def _escalation_pending(case: WageNegotiation, now: Now) -> str | None:
    return None if case.pending_escalation is not None else "no escalation is pending"


def _pending_escalation_applies(case: WageNegotiation, now: Now) -> str | None:
    """Confirming applies the pending step, so that step's own guard must let it run too."""
    pending = case.pending_escalation
    if pending is None:
        return "no escalation is pending"
    return case.why_not(pending["action"], now)


def _proposal_open(case: WageNegotiation, now: Now) -> str | None:
    return None if case.open_proposal is not None else "there is no open proposal to accept"


TABLE = StageTable(
    stages={
        "offer_issued": "发出要约 offer issued, awaiting the written reply",
        "acting_offer_issued": "上级工会代行要约 acting offer issued by the higher-level union",
        "offer_refused": "拒绝协商 offer refused",
        "rectification_pending": "整改建议书待复 rectification proposal pending",
        "negotiating": "协商中 negotiating",
        "impasse": "协商僵局 impasse",
        "coordination": "劳动行政部门协调 coordination by the labor administration",
        "agreed": "协商一致 terms agreed",
        "congress_approved": "职代会通过 approved by the worker congress",
        "signed": "签订 contract signed",
        "filed": "报送备案 filed with the labor bureau",
        "effective": "生效 contract in effect",
        "expiring": "即将期满 expiring, renewal offer due",
        "referred_to_inspectorate": "提交人社部门执法检查 referred to the labor inspectorate",
        "concluded": "期满终止 concluded",
        "closed": "协商终结 closed without agreement",
        "withdrawn": "撤回 withdrawn",
    },
    terminal=("referred_to_inspectorate", "concluded", "closed", "withdrawn"),
    actions=[
        action(
            "issue_offer",
            "OfferIssued",
            target="offer_issued",
            roles=(*NEGOTIATING, "system"),
            counts=("enterprises_covered",),
            help="Issue the written offer (书面要约) to one enterprise; starts the 20-day reply clock.",
        ),
        action(
            "accept_offer",
            "OfferAccepted",
            source=("offer_issued", "acting_offer_issued"),
            target="negotiating",
            roles=NEGOTIATING,
            counts=("offers_answered",),
            help="The enterprise answers the offer (应约); negotiation starts.",
        ),
        action(
            "refuse_offer",
            "OfferRefused",
            source=("offer_issued", "acting_offer_issued"),
            target="offer_refused",
            roles=NEGOTIATING,
            reason=True,
            counts=("offers_refused",),
            help="The enterprise refuses to negotiate; record its stated reason.",
        ),
        action(
            "escalate_to_acting_offer",
            "ActingOfferIssued",
            source=("offer_issued", "offer_refused"),
            target="acting_offer_issued",
            roles=LADDER,
            reason=True,
            counts=("acting_offers",),
            guard=_acting_offer_due,
            help="The higher-level union issues the offer in the union's place (上级工会代行要约); "
            "a new 20-day reply clock.",
        ),
        action(
            "issue_rectification",
            "RectificationProposed",
            source=("acting_offer_issued", "offer_refused", "negotiating"),
            target="rectification_pending",
            roles=LADDER,
            reason=True,
            counts=("rectification_proposals",),
            guard=_rectification_due,
            help="Issue a rectification proposal (整改建议书) as a linked case: after an unanswered or refused "
            "acting offer, or a union proposal left unanswered past its reply clock.",
        ),
        action(
            "resume_after_rectification",
            "NegotiationResumedAfterRectification",
            source="rectification_pending",
            target="negotiating",
            roles=LADDER,
            counts=("agreed_to_rectify",),
            help="The enterprise agreed to rectify (同意整改); negotiation resumes.",
        ),
        action(
            "refer_to_inspectorate",
            "ReferredToInspectorate",
            source=REFERABLE,
            target="referred_to_inspectorate",
            roles=LADDER,
            reason=True,
            counts=("negotiations_referred",),
            guard=_after_a_rectification_proposal,
            help="Refer the enterprise to the labor inspectorate (提交人社部门执法检查): its rectification "
            "proposal was refused, unanswered, or not carried out, even after it agreed to rectify.",
        ),
        action(
            "propose_escalation",
            "EscalationProposed",
            source=ESCALATING,
            roles=("system",),
            reason=True,
            guard=_escalation_to_propose,
            help="Where the policy says 'confirm': record the ladder step that is due, for a supervisor "
            "to confirm or dismiss.",
        ),
        action(
            "confirm_escalation",
            "EscalationConfirmed",
            source=ESCALATING,
            target=("acting_offer_issued", "rectification_pending"),
            roles=("supervisor",),
            guard=_pending_escalation_applies,
            help="Apply the pending escalation (acting offer or rectification proposal); it is recorded as "
            "that step's own event, by the confirming supervisor.",
        ),
        action(
            "dismiss_escalation",
            "EscalationDismissed",
            source=ESCALATING,
            roles=("supervisor",),
            reason=True,
            guard=_escalation_pending,
            help="Decline the pending escalation; the scheduler does not propose it again for this deadline.",
        ),
        action(
            "submit_proposal",
            "ProposalSubmitted",
            source="negotiating",
            roles=NEGOTIATING,
            help="Record a proposal or counter-proposal; starts its reply clock.",
        ),
        action(
            "accept_proposal",
            "ProposalAccepted",
            source="negotiating",
            target="agreed",
            roles=NEGOTIATING,
            guard=_proposal_open,
            help="The other side accepts the last proposal; its terms are agreed.",
        ),
        action(
            "declare_impasse",
            "ImpasseDeclared",
            source="negotiating",
            target="impasse",
            roles=NEGOTIATING,
            reason=True,
            help="Negotiation is deadlocked (协商僵局).",
        ),
        action(
            "request_coordination",
            "CoordinationRequested",
            source="impasse",
            target="coordination",
            roles=NEGOTIATING,
            help="Ask the labor administration department to coordinate.",
        ),
        action(
            "resume_negotiation",
            "NegotiationResumed",
            source=("coordination", "impasse"),
            target="negotiating",
            roles=NEGOTIATING,
            help="Go back to the table.",
        ),
        action(
            "close",
            "NegotiationClosed",
            source=("impasse", "coordination"),
            target="closed",
            roles=("supervisor",),
            reason=True,
            help="Close the negotiation without agreement.",
        ),
        action(
            "approve_by_congress",
            "CongressApproved",
            source="agreed",
            target="congress_approved",
            roles=NEGOTIATING,
            help="The worker congress (职代会) approves the draft contract.",
        ),
        action(
            "reject_by_congress",
            "CongressRejected",
            source="agreed",
            target="negotiating",
            roles=NEGOTIATING,
            reason=True,
            help="The worker congress does not approve the draft: negotiation resumes.",
        ),
        action(
            "sign",
            "ContractSigned",
            source="congress_approved",
            target="signed",
            roles=NEGOTIATING,
            counts=("contracts_signed",),
            help="Record the signed contract; filing is due within 10 days.",
        ),
        action(
            "file_with_bureau",
            "ContractFiled",
            source="signed",
            target="filed",
            roles=NEGOTIATING,
            help="File the contract with the labor bureau; it has 15 days to object.",
        ),
        action(
            "record_objection",
            "BureauObjected",
            source="filed",
            target="negotiating",
            roles=NEGOTIATING,
            reason=True,
            help="The labor bureau objected; renegotiate.",
        ),
        action(
            "take_effect",
            "ContractTookEffect",
            source="filed",
            target="effective",
            roles=("supervisor", "system", "negotiator"),
            counts=("contracts_effective",),
            help="No objection within 15 days (or the bureau confirmed): the contract is in effect.",
        ),
        action(
            "mark_expiring",
            "ContractExpiring",
            source="effective",
            target="expiring",
            roles=("supervisor", "system", "negotiator"),
            help="The term is ending: the renewal offer is due.",
        ),
        action(
            "conclude",
            "NegotiationConcluded",
            source=("effective", "expiring"),
            target="concluded",
            roles=NEGOTIATING,
            reason=True,
            help="The contract's term has ended (e.g. renewed by a new case).",
        ),
        action(
            "withdraw",
            "NegotiationWithdrawn",
            source=("offer_issued", "acting_offer_issued", "offer_refused", "negotiating", "impasse", "coordination"),
            target="withdrawn",
            roles=("supervisor",),
            reason=True,
            help="Withdraw the offer (撤回).",
        ),
        *common_actions(NEGOTIATING),
    ],
)


@case_type
class WageNegotiation(Case):
    TABLE = TABLE
    PREFIX = "WN"
    KIND = "wage_negotiation"

    @classmethod
    def issue_offer(
        cls,
        ctx: Context,
        *,
        case_id: UUID,
        number: str,
        org_unit: str,
        enterprise: Annotated[Mapping[str, Any], Nested("enterprise")],
        issuing_union: Annotated[str, Text(max=200)],
        document_number: Annotated[str, Text(max=120)],
        terms: Annotated[Mapping[str, Any] | None, Nested("terms")] = None,
        first_of_document: bool = True,
        covers: int = 1,
        assignee: str | None = None,
    ) -> WageNegotiation:
        bad: dict[str, str] = {}
        enterprise = enterprise or {}
        require(bad, bool(text(enterprise.get("name"))), "enterprise.name", "is required")
        credit_code = checked_credit_code(bad, enterprise.get("credit_code"), "enterprise.credit_code")
        employees = enterprise.get("employees")
        require(
            bad,
            employees is None or (is_whole(employees) and employees >= 0),
            "enterprise.employees",
            "must be a whole number, zero or more",
        )
        require(bad, bool(text(issuing_union)), "issuing_union", "is required")
        require(bad, bool(text(document_number)), "document_number", "is required")
        terms = terms or {}
        pct = terms.get("wage_increase_pct")
        parsed_pct = to_decimal(pct)
        require(
            bad,
            pct is None or (parsed_pct is not None and -100 <= parsed_pct <= 100),
            "terms.wage_increase_pct",
            "must be a percentage from -100 to 100",
        )
        minimum = terms.get("minimum_wage")
        parsed_minimum = to_decimal(minimum, CENTS)
        require(
            bad,
            minimum is None or (parsed_minimum is not None and parsed_minimum > 0),
            "terms.minimum_wage",
            "must be a positive amount in CNY",
        )
        require(bad, isinstance(first_of_document, bool), "first_of_document", "must be true or false")
        require(bad, is_whole(covers) and covers >= 1, "covers", "must be a whole number, at least 1")
        if bad:
            raise cls._invalid_new(number, bad)
        data = {
            "enterprise": {"name": text(enterprise["name"]), "credit_code": credit_code, "employees": employees},
            "issuing_union": text(issuing_union),
            "document_number": text(document_number),
            "terms": {
                "wage_increase_pct": parsed_pct if pct is not None else None,
                "minimum_wage": parsed_minimum if minimum is not None else None,
                "other": text(terms.get("other")),
            },
            "first_of_document": first_of_document,
            "covers": covers,
        }
        return cls._open(
            ctx,
            case_id=case_id,
            number=number,
            org_unit=org_unit,
            assignee=assignee,
            data=data,
            opened={"reply": new_clock(ctx, "reply", "negotiation.reply")},
        )

    def _on_issue_offer(self, event: Case.Event) -> None:
        d = event.data
        self.enterprise: dict[str, Any] = dict(d["enterprise"])
        self.issuing_union: str = d["issuing_union"]
        self.document_number: str = d["document_number"]
        self.terms: dict[str, Any] = dict(d["terms"])
        self.first_of_document: bool = d["first_of_document"]
        self.covers: int = d["covers"]
        self.ladder_step: int = LADDER_OFFER
        self.acting_union: str | None = None
        self.rectification: dict[str, Any] | None = None
        self.proposals: list[dict[str, Any]] = []
        self.agreed_terms: dict[str, Any] | None = None
        self.coordination: dict[str, Any] | None = None
        self.congress: dict[str, Any] | None = None
        self.contract: dict[str, Any] | None = None
        self.objections: list[dict[str, Any]] = []
        self.outcome: str | None = None
        self.pending_escalation: dict[str, Any] | None = None
        self.dismissed_escalations: list[dict[str, Any]] = []

    def _apply_event(self, event: Case.Event) -> None:
        super()._apply_event(event)
        pending = getattr(self, "pending_escalation", None)
        if pending is not None:
            basis = self._escalation_basis()
            if basis is None or basis.key() != (pending["action"], pending["trigger"], pending["due_on"]):
                self.pending_escalation = None  # answered, extended, withdrawn or applied: no longer pending

    # -- queries -------------------------------------------------------------------

    @property
    def open_proposal(self) -> dict[str, Any] | None:
        """The last proposal, while it still awaits the other side's answer."""
        if self.proposals and self.proposals[-1]["status"] == "open":
            return self.proposals[-1]
        return None

    def parties(self) -> list[str]:
        return [self.enterprise["name"]]

    def index_reference(self) -> str | None:
        return self.document_number

    def flags(self) -> list[str]:
        flags = []
        if self.covers > 1:
            flags.append("multi_enterprise_offer")
        if self.acting_union is not None:  # a rectification from the table skips the acting offer
            flags.append("acting_offer")
        if self.ladder_step >= LADDER_RECTIFICATION:
            flags.append("rectification")
        if getattr(self, "pending_escalation", None) is not None:  # a supervisor's to-do, listed by this flag
            flags.append("escalation_pending")
        return flags

    def statistics(self, event: Case.Event) -> dict[str, Any]:
        stats = super().statistics(event)
        act = type(event).ACTION
        if act == "issue_offer" and event.data["first_of_document"]:
            stats["offers_written"] = 1
        if act == "take_effect" and self.enterprise.get("employees"):
            stats["contract_workers_covered"] = self.enterprise["employees"]
        return stats

    # -- the offer and its escalation ladder ----------------------------------------

    def _escalation_basis(self) -> Escalation | None:
        """The ladder step the current stage leads to once its clock runs out (or at once, after a refusal)."""
        if self.stage == "offer_refused":
            if self.ladder_step == LADDER_OFFER:
                return Escalation("escalate_to_acting_offer", "refused", None, "the enterprise refused the offer")
            return Escalation("issue_rectification", "refused", None, "the enterprise refused the acting offer")
        if self.stage in ("offer_issued", "acting_offer_issued"):
            clock = self.clocks.get("reply")
            if clock is None:
                return None
            if self.stage == "offer_issued":
                return Escalation(
                    "escalate_to_acting_offer",
                    "reply",
                    clock.due_on,
                    f"the enterprise did not answer the written offer by {clock.due_on}",
                )
            return Escalation(
                "issue_rectification",
                "reply",
                clock.due_on,
                f"the enterprise did not answer the acting offer by {clock.due_on}",
            )
        if self.stage == "negotiating":
            clock, last = self.clocks.get("proposal_reply"), self.open_proposal
            if clock is None or last is None or last["side"] != "union":
                return None
            return Escalation(
                "issue_rectification",
                "proposal_reply",
                clock.due_on,
                f"the enterprise did not answer the union's proposal {last['no']} by {clock.due_on}",
            )
        return None

    def next_escalation(self, today: date) -> Escalation | None:
        """The ladder step due on `today`, if any (a paused clock holds the ladder back)."""
        basis = self._escalation_basis()
        if basis is None:
            return None
        if basis.trigger != "refused" and not self.clocks[basis.trigger].is_overdue(today):
            return None
        return basis

    def propose_escalation(self, ctx: Context) -> None:
        a = self._guard(ctx, "propose_escalation")  # an escalation is due, not pending and not dismissed
        step = self.next_escalation(ctx.today)
        assert step is not None
        self._record(ctx, a, step.to_data())

    def _on_propose_escalation(self, event: Case.Event) -> None:
        self.pending_escalation = {**event.data, "proposed_at": event.occurred_at, "proposed_by": event.actor_id}

    def confirm_escalation(
        self,
        ctx: Context,
        *,
        acting_union: str = "",
        rectification_case_id: UUID | None = None,
        rectification_number: str = "",
    ) -> None:
        """Apply the pending step as the confirming supervisor; the event is the step's own."""
        self._guard(ctx, "confirm_escalation")  # a step is pending and its own guard lets it run
        pending = self.pending_escalation
        assert pending is not None
        ctx = dataclasses.replace(ctx, reason=ctx.reason or f"escalation confirmed: {pending['why']}")
        if pending["action"] == "escalate_to_acting_offer":
            self.escalate_to_acting_offer(ctx, acting_union=acting_union)
        else:
            self.issue_rectification(
                ctx,
                rectification_case_id=rectification_case_id,
                rectification_number=rectification_number,
            )

    def dismiss_escalation(self, ctx: Context) -> None:
        a = self._guard(ctx, "dismiss_escalation")
        assert self.pending_escalation is not None
        self._record(ctx, a, {k: self.pending_escalation[k] for k in ("action", "trigger", "due_on")})

    def _on_dismiss_escalation(self, event: Case.Event) -> None:
        self.dismissed_escalations.append(
            {**event.data, "dismissed_at": event.occurred_at, "dismissed_by": event.actor_id, "reason": event.reason}
        )
        self.pending_escalation = None

    def _reply_overdue(self, today: date) -> bool:
        clock = self.clocks.get("reply")
        return clock is not None and clock.is_overdue(today)

    def _reply_state(self) -> str:
        clock = self.clocks.get("reply")
        if clock is None:
            return "no reply clock is open"
        if clock.paused_on is not None:
            return f"the reply clock is paused since {clock.paused_on}"
        return f"the reply clock is due {clock.due_on}"

    def accept_offer(self, ctx: Context) -> None:
        a = self._guard(ctx, "accept_offer")
        self._record(ctx, a, {"answered_on": ctx.today}, closed=["reply"])

    def refuse_offer(self, ctx: Context) -> None:
        a = self._guard(ctx, "refuse_offer")
        self._record(ctx, a, {}, closed=["reply"])

    def escalate_to_acting_offer(self, ctx: Context, *, acting_union: Annotated[str, Text(max=200)]) -> None:
        a = self._guard(ctx, "escalate_to_acting_offer")
        if not text(acting_union):
            raise self._invalid("escalate_to_acting_offer", acting_union="is required")
        self._record(
            ctx,
            a,
            {"acting_union": text(acting_union)},
            opened={"reply": new_clock(ctx, "reply", "negotiation.reply")},
            closed=["reply"],
        )

    def _on_escalate_to_acting_offer(self, event: Case.Event) -> None:
        self.acting_union = event.data["acting_union"]
        self.ladder_step = LADDER_ACTING_OFFER

    def issue_rectification(
        self, ctx: Context, *, rectification_case_id: UUID | None, rectification_number: str
    ) -> None:
        a = self._guard(ctx, "issue_rectification")
        bad: dict[str, str] = {}
        require(bad, isinstance(rectification_case_id, UUID), "rectification_case_id", "must be a case id (UUID)")
        require(bad, rectification_case_id != self.id, "rectification_case_id", "a case cannot be linked to itself")
        require(
            bad,
            not any(link["case_id"] == rectification_case_id for link in self.links),
            "rectification_case_id",
            "is already linked",
        )
        require(bad, bool(text(rectification_number)), "rectification_number", "is required")
        if bad:
            raise self._invalid("issue_rectification", **bad)
        self._record(
            ctx,
            a,
            {"rectification_case_id": rectification_case_id, "rectification_number": text(rectification_number)},
            closed=["reply", "proposal_reply"],
        )

    def _on_issue_rectification(self, event: Case.Event) -> None:
        d = event.data
        self.links.append(
            {
                "case_id": d["rectification_case_id"],
                "number": d["rectification_number"],
                "kind": RECTIFICATION_KIND,
                "relation": "rectification",
            }
        )
        self.rectification = {
            "case_id": d["rectification_case_id"],
            "number": d["rectification_number"],
            "issued_at": event.occurred_at,
            "outcome": None,
        }
        self.ladder_step = LADDER_RECTIFICATION
        if self.open_proposal is not None:
            self.open_proposal["status"] = "lapsed"

    def resume_after_rectification(self, ctx: Context) -> None:
        a = self._guard(ctx, "resume_after_rectification")
        self._record(ctx, a, {})

    def _on_resume_after_rectification(self, event: Case.Event) -> None:
        if self.rectification is not None:
            self.rectification["outcome"] = "agreed_to_rectify"

    def refer_to_inspectorate(self, ctx: Context) -> None:
        a = self._guard(ctx, "refer_to_inspectorate")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def _on_refer_to_inspectorate(self, event: Case.Event) -> None:
        if self.rectification is not None:
            self.rectification["outcome"] = "referred"
        self.outcome = "referred_to_inspectorate"

    # -- negotiation ---------------------------------------------------------------

    def submit_proposal(
        self,
        ctx: Context,
        *,
        side: Side,
        wage_increase_pct: Annotated[Any, Percent(signed=True)],
        minimum_wage: Annotated[Any, Money()] = None,
        other_terms: str = "",
    ) -> None:
        a = self._guard(ctx, "submit_proposal")
        bad: dict[str, str] = {}
        require(bad, side in SIDES, "side", f"must be one of {', '.join(SIDES)}")
        pct = to_decimal(wage_increase_pct)
        require(
            bad, pct is not None and -100 <= pct <= 100, "wage_increase_pct", "must be a percentage from -100 to 100"
        )
        minimum = to_decimal(minimum_wage, CENTS) if minimum_wage is not None else None
        require(
            bad,
            minimum_wage is None or (minimum is not None and minimum > 0),
            "minimum_wage",
            "must be a positive amount in CNY",
        )
        require(bad, other_terms is None or isinstance(other_terms, str), "other_terms", "must be text")
        if bad:
            raise self._invalid("submit_proposal", **bad)
        last = self.open_proposal
        if last is not None and last["side"] == side:
            raise self._refuse(
                "submit_proposal",
                f"proposal {last['no']} by the {side} side awaits the other side's answer; "
                "only the other side may counter it",
                ctx,
            )
        data = {
            "no": len(self.proposals) + 1,
            "side": side,
            "wage_increase_pct": pct,
            "minimum_wage": minimum,
            "other_terms": text(other_terms),
        }
        reply = new_clock(ctx, "proposal_reply", "negotiation.proposal_reply")
        self._record(ctx, a, data, opened={"proposal_reply": reply}, closed=["proposal_reply"])

    def _on_submit_proposal(self, event: Case.Event) -> None:
        if self.open_proposal is not None:
            self.open_proposal["status"] = "countered"
        self.proposals.append({**event.data, "submitted_at": event.occurred_at, "status": "open"})

    def accept_proposal(self, ctx: Context, *, side: Side) -> None:
        a = self._guard(ctx, "accept_proposal")
        if side not in SIDES:
            raise self._invalid("accept_proposal", side=f"must be one of {', '.join(SIDES)}")
        last = self.open_proposal
        assert last is not None
        if last["side"] == side:
            raise self._refuse(
                "accept_proposal",
                f"proposal {last['no']} came from the {side} side; only the other side may accept it",
                ctx,
            )
        terms = {
            "proposal_no": last["no"],
            "proposed_by": last["side"],
            "wage_increase_pct": last["wage_increase_pct"],
            "minimum_wage": last["minimum_wage"],
            "other_terms": last["other_terms"],
        }
        self._record(ctx, a, {"side": side, "terms": terms}, closed=["proposal_reply"])

    def _on_accept_proposal(self, event: Case.Event) -> None:
        self.proposals[-1]["status"] = "accepted"
        self.agreed_terms = {**event.data["terms"], "agreed_at": event.occurred_at}

    def declare_impasse(self, ctx: Context) -> None:
        a = self._guard(ctx, "declare_impasse")
        self._record(ctx, a, {}, closed=["proposal_reply"])

    def _on_declare_impasse(self, event: Case.Event) -> None:
        if self.open_proposal is not None:
            self.open_proposal["status"] = "lapsed"

    def request_coordination(self, ctx: Context, *, authority: Annotated[str, Text(max=200)]) -> None:
        a = self._guard(ctx, "request_coordination")
        if not text(authority):
            raise self._invalid("request_coordination", authority="is required")
        self._record(ctx, a, {"authority": text(authority)})

    def _on_request_coordination(self, event: Case.Event) -> None:
        self.coordination = {"authority": event.data["authority"], "requested_at": event.occurred_at}

    def resume_negotiation(self, ctx: Context) -> None:
        a = self._guard(ctx, "resume_negotiation")
        self._record(ctx, a, {})

    def close(self, ctx: Context) -> None:
        a = self._guard(ctx, "close")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def _on_close(self, event: Case.Event) -> None:
        self.outcome = "closed"

    # -- from agreement to an effective contract ------------------------------------

    def approve_by_congress(self, ctx: Context, *, votes_for: int, votes_against: int, representatives: int) -> None:
        a = self._guard(ctx, "approve_by_congress")
        bad: dict[str, str] = {}
        require(
            bad,
            is_whole(representatives) and representatives >= 1,
            "representatives",
            "must be a whole number, at least 1",
        )
        require(bad, is_whole(votes_for) and votes_for >= 0, "votes_for", "must be a whole number, zero or more")
        require(
            bad, is_whole(votes_against) and votes_against >= 0, "votes_against", "must be a whole number, zero or more"
        )
        if not bad:
            require(
                bad,
                votes_for + votes_against <= representatives,
                "votes_against",
                f"votes for and against ({votes_for + votes_against}) exceed the {representatives} representatives",
            )
            require(
                bad,
                votes_for * 2 > representatives,
                "votes_for",
                f"{votes_for} of {representatives} is not more than half of all representatives",
            )
        if bad:
            raise self._invalid("approve_by_congress", **bad)
        self._record(
            ctx,
            a,
            {
                "votes_for": votes_for,
                "votes_against": votes_against,
                "representatives": representatives,
                "approved_on": ctx.today,
            },
        )

    def _on_approve_by_congress(self, event: Case.Event) -> None:
        self.congress = dict(event.data)

    def reject_by_congress(self, ctx: Context, *, votes_for: int, representatives: int) -> None:
        a = self._guard(ctx, "reject_by_congress")
        bad: dict[str, str] = {}
        require(
            bad,
            is_whole(representatives) and representatives >= 1,
            "representatives",
            "must be a whole number, at least 1",
        )
        require(bad, is_whole(votes_for) and 0 <= votes_for, "votes_for", "must be a whole number, zero or more")
        if not bad:
            require(
                bad,
                votes_for * 2 <= representatives,
                "votes_for",
                f"{votes_for} of {representatives} is a majority: record approve_by_congress instead",
            )
        if bad:
            raise self._invalid("reject_by_congress", **bad)
        self._record(ctx, a, {"votes_for": votes_for, "representatives": representatives})

    def _on_reject_by_congress(self, event: Case.Event) -> None:
        self.agreed_terms = None

    def sign(self, ctx: Context, *, signed_on: date, term_start: date, term_end: date) -> None:
        a = self._guard(ctx, "sign")
        bad: dict[str, str] = {}
        require(bad, is_day(signed_on), "signed_on", "must be a date")
        require(bad, is_day(term_start), "term_start", "must be a date")
        require(bad, is_day(term_end), "term_end", "must be a date")
        if is_day(signed_on):
            require(bad, signed_on <= ctx.today, "signed_on", "may not lie in the future")
            approved_on = (self.congress or {}).get("approved_on")
            require(
                bad,
                approved_on is None or signed_on >= approved_on,
                "signed_on",
                f"may not be before the worker congress approved the draft on {approved_on}",
            )
        if is_day(term_start) and is_day(term_end):
            require(bad, term_end > term_start, "term_end", "must be after term_start")
        if bad:
            raise self._invalid("sign", **bad)
        filing = new_clock(ctx, "filing", "negotiation.filing", start=signed_on)
        self._record(
            ctx, a, {"signed_on": signed_on, "term_start": term_start, "term_end": term_end}, opened={"filing": filing}
        )

    def _on_sign(self, event: Case.Event) -> None:
        self.contract = {**event.data, "bureau": None, "filed_on": None, "effective_on": None}

    def file_with_bureau(self, ctx: Context, *, bureau: Annotated[str, Text(max=200)]) -> None:
        a = self._guard(ctx, "file_with_bureau")
        if not text(bureau):
            raise self._invalid("file_with_bureau", bureau="is required")
        objection = new_clock(ctx, "objection", "negotiation.objection")
        self._record(
            ctx, a, {"bureau": text(bureau), "filed_on": ctx.today}, opened={"objection": objection}, closed=["filing"]
        )

    def _on_file_with_bureau(self, event: Case.Event) -> None:
        assert self.contract is not None
        self.contract["bureau"] = event.data["bureau"]
        self.contract["filed_on"] = event.data["filed_on"]

    def record_objection(self, ctx: Context) -> None:
        a = self._guard(ctx, "record_objection")
        self._record(ctx, a, {"objected_on": ctx.today}, closed=["objection"])

    def _on_record_objection(self, event: Case.Event) -> None:
        self.objections.append(
            {
                "objected_on": event.data["objected_on"],
                "reason": event.reason,
                "contract": self.contract,
                "agreed_terms": self.agreed_terms,
            }
        )
        self.agreed_terms = None
        self.congress = None
        self.contract = None

    def take_effect(self, ctx: Context, *, bureau_confirmed: bool = False) -> None:
        a = self._guard(ctx, "take_effect")
        if not isinstance(bureau_confirmed, bool):
            raise self._invalid("take_effect", bureau_confirmed="must be true or false")
        clock = self.clocks.get("objection")
        if not bureau_confirmed and (clock is None or not clock.is_overdue(ctx.today)):
            state = f"the objection clock is due {clock.due_on}" if clock else "no objection clock is open"
            if clock is not None and clock.paused_on is not None:
                state = f"the objection clock is paused since {clock.paused_on}"
            raise self._refuse(
                "take_effect", f"the labor bureau may still object ({state}) and has not confirmed the contract", ctx
            )
        assert self.contract is not None
        notice = ctx.policy.rule("negotiation.renewal_notice").days
        renewal_due = max(self.contract["term_end"] - timedelta(days=notice), ctx.today)
        renewal = Clock(name="renewal", started_on=ctx.today, due_on=renewal_due)
        self._record(
            ctx,
            a,
            {"bureau_confirmed": bureau_confirmed, "effective_on": ctx.today},
            opened={"renewal": renewal},
            closed=["objection"],
        )

    def _on_take_effect(self, event: Case.Event) -> None:
        assert self.contract is not None
        self.contract["effective_on"] = event.data["effective_on"]
        self.contract["bureau_confirmed"] = event.data["bureau_confirmed"]

    def mark_expiring(self, ctx: Context) -> None:
        a = self._guard(ctx, "mark_expiring")
        assert self.contract is not None
        term_end = Clock(name="term_end", started_on=ctx.today, due_on=max(self.contract["term_end"], ctx.today))
        self._record(ctx, a, {}, opened={"term_end": term_end}, closed=["renewal"])

    def conclude(self, ctx: Context) -> None:
        a = self._guard(ctx, "conclude")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def _on_conclude(self, event: Case.Event) -> None:
        self.outcome = "concluded"

    def withdraw(self, ctx: Context) -> None:
        a = self._guard(ctx, "withdraw")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def _on_withdraw(self, event: Case.Event) -> None:
        self.outcome = "withdrawn"
