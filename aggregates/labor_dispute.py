"""Labor dispute mediation (劳动争议调解).

Basis: 劳动争议调解仲裁法 arts. 10-16; 企业劳动争议协商调解规定 (2011).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
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
from aggregates.fields import Nested, Text
from aggregates.stages import StageTable, action
from aggregates.values import checked_credit_code, checked_resident_id, is_day, money

CLAIM_CATEGORIES = ("wages", "overtime", "social_insurance", "termination", "work_injury", "contract", "other")
COLLECTIVE_THRESHOLD = 10
MEDIATING = ("mediator", "supervisor")


def _not_extended_yet(case: LaborDispute, now: Now) -> str | None:
    if case.mediation_extended:
        return "mediation may be extended only once"
    return None if "mediation" in case.clocks else "no mediation clock is open"


def _mediation_ran_out(case: LaborDispute, now: Now) -> str | None:
    clock = case.clocks.get("mediation")
    if clock is not None and clock.is_overdue(now.today):
        return None
    state = (
        "no mediation clock"
        if clock is None
        else f"paused since {clock.paused_on}"
        if clock.paused_on
        else f"due {clock.due_on}"
    )
    return f"the mediation clock has not run out ({state})"


TABLE = StageTable(
    stages={
        "filed": "申请 filed, awaiting acceptance",
        "accepted": "受理 accepted",
        "declined": "不予受理 declined",
        "in_mediation": "调解中 in mediation",
        "agreement_reached": "达成调解协议 agreement reached",
        "resolved": "履行完毕 resolved",
        "mediation_failed": "调解不成 mediation failed",
        "referred_to_arbitration": "告知申请仲裁 referred to arbitration",
        "withdrawn": "撤回 withdrawn",
    },
    terminal=("declined", "resolved", "referred_to_arbitration", "withdrawn"),
    actions=[
        action(
            "file",
            "DisputeFiled",
            target="filed",
            roles=(*MEDIATING, "caseworker"),
            counts=("disputes_filed",),
            help="Record a worker's application for mediation.",
        ),
        action(
            "accept",
            "DisputeAccepted",
            source="filed",
            target="accepted",
            roles=MEDIATING,
            counts=("disputes_accepted",),
            help="Accept the application (受理); starts the 15-day mediation clock.",
        ),
        action(
            "decline",
            "DisputeDeclined",
            source="filed",
            target="declined",
            roles=MEDIATING,
            reason=True,
            counts=("disputes_declined",),
            help="Decline the application (不予受理) with the reason.",
        ),
        action(
            "start_mediation",
            "MediationStarted",
            source="accepted",
            target="in_mediation",
            roles=MEDIATING,
            help="Assign the mediator and open mediation.",
        ),
        action(
            "record_session",
            "MediationSessionRecorded",
            source="in_mediation",
            roles=MEDIATING,
            help="Record a mediation session.",
        ),
        action(
            "extend_mediation",
            "MediationExtended",
            source=("accepted", "in_mediation"),
            roles=MEDIATING,
            reason=True,
            guard=_not_extended_yet,
            help="Extend mediation once, with both parties' consent.",
        ),
        action(
            "reach_agreement",
            "AgreementReached",
            source="in_mediation",
            target="agreement_reached",
            roles=MEDIATING,
            counts=("disputes_mediated",),
            help="Record the mediation agreement (调解协议) and its performance due date.",
        ),
        action(
            "confirm_performance",
            "AgreementPerformed",
            source="agreement_reached",
            target="resolved",
            roles=MEDIATING,
            counts=("disputes_resolved",),
            help="Confirm the agreement was performed.",
        ),
        action(
            "fail_mediation",
            "MediationFailed",
            source=("accepted", "in_mediation"),
            target="mediation_failed",
            roles=MEDIATING,
            reason=True,
            counts=("disputes_failed",),
            help="Record that mediation failed (调解不成).",
        ),
        action(
            "deem_failed",
            "MediationDeemedFailed",
            source=("accepted", "in_mediation"),
            target="mediation_failed",
            roles=("system", "supervisor"),
            counts=("disputes_failed",),
            guard=_mediation_ran_out,
            help="The mediation clock ran out: deemed failed (视为调解不成).",
        ),
        action(
            "refer_to_arbitration",
            "ReferredToArbitration",
            source=("mediation_failed", "agreement_reached"),
            target="referred_to_arbitration",
            roles=MEDIATING,
            counts=("disputes_referred",),
            help="Inform the worker of the right to arbitration (告知申请仲裁).",
        ),
        action(
            "withdraw",
            "DisputeWithdrawn",
            source=("filed", "accepted", "in_mediation", "mediation_failed"),
            target="withdrawn",
            roles=(*MEDIATING, "caseworker"),
            reason=True,
            counts=("disputes_withdrawn",),
            help="The applicant withdraws (撤回).",
        ),
        *common_actions(MEDIATING),
    ],
)


@case_type
class LaborDispute(Case):
    TABLE = TABLE
    PREFIX = "LD"
    KIND = "labor_dispute"
    DEDICATED_EXTENSIONS = {"mediation": "extend_mediation"}
    PERSONAL_DATA = tuple(f"applicants.*.{k}" for k in ("name", "id_number", "phone", "address"))

    @classmethod
    def file(
        cls,
        ctx: Context,
        *,
        case_id: UUID,
        number: str,
        org_unit: str,
        employer: Annotated[Mapping[str, Any], Nested("employer")],
        applicants: Annotated[Sequence[Mapping[str, Any]], Nested("person")],
        workers_involved: int,
        claims: Annotated[Sequence[Mapping[str, Any]], Nested("claim")],
        summary: str = "",
        assignee: str | None = None,
    ) -> LaborDispute:
        bad: dict[str, str] = {}
        require(bad, bool(employer and str(employer.get("name", "")).strip()), "employer.name", "is required")
        require(bad, bool(applicants), "applicants", "at least one applicant is required")
        ids = []
        for i, person in enumerate(applicants or ()):
            require(bad, bool(str(person.get("name", "")).strip()), f"applicants[{i}].name", "is required")
            ids.append(checked_resident_id(bad, person.get("id_number"), f"applicants[{i}].id_number"))
        credit_code = checked_credit_code(bad, (employer or {}).get("credit_code"), "employer.credit_code")
        require(
            bad,
            isinstance(workers_involved, int)
            and not isinstance(workers_involved, bool)
            and workers_involved >= max(len(applicants or ()), 1),
            "workers_involved",
            "must be a whole number, at least the number of applicants",
        )
        require(bad, bool(claims), "claims", "at least one claim is required")
        parsed_claims = []
        for i, claim in enumerate(claims or ()):
            category = claim.get("category")
            require(
                bad,
                category in CLAIM_CATEGORIES,
                f"claims[{i}].category",
                f"must be one of {', '.join(CLAIM_CATEGORIES)}",
            )
            amount = money(claim.get("amount", "0"))
            require(bad, amount is not None, f"claims[{i}].amount", "must be a non-negative amount in CNY")
            parsed_claims.append(
                {"category": category, "amount": amount, "description": str(claim.get("description", ""))}
            )
        if bad:
            raise cls._invalid_new(number, bad)
        data = {
            "employer": {"name": str(employer["name"]).strip(), "credit_code": credit_code},
            "applicants": [
                {
                    k: (id_number if k == "id_number" else str(v))
                    for k, v in person.items()
                    if k in ("name", "id_number", "phone", "address")
                }
                for person, id_number in zip(applicants, ids, strict=True)
            ],
            "workers_involved": workers_involved,
            "claims": parsed_claims,
            "summary": summary,
        }
        case = cls._open(
            ctx,
            case_id=case_id,
            number=number,
            org_unit=org_unit,
            assignee=assignee,
            data=data,
            opened={"acceptance": new_clock(ctx, "acceptance", "dispute.acceptance")},
        )
        return case

    def _on_file(self, event: Case.Event) -> None:
        d = event.data
        self.employer = d["employer"]
        self.applicants = d["applicants"]
        self.workers_involved: int = d["workers_involved"]
        self.claims = d["claims"]
        self.summary_text = d["summary"]
        self.mediator: str | None = None
        self.sessions: list[dict[str, Any]] = []
        self.agreement: dict[str, Any] | None = None
        self.mediation_extended = False
        self.outcome: str | None = None

    @property
    def is_collective(self) -> bool:
        return self.workers_involved >= COLLECTIVE_THRESHOLD

    @property
    def claimed_amount(self) -> Decimal:
        return sum((c["amount"] for c in self.claims), Decimal("0"))

    def parties(self) -> list[str]:
        return [self.employer["name"]]

    def flags(self) -> list[str]:
        return ["collective"] if self.is_collective else []

    def statistics(self, event: Case.Event) -> dict[str, Any]:
        stats = super().statistics(event)
        act = type(event).ACTION
        if act == "accept":
            stats["dispute_workers_involved"] = self.workers_involved
            if self.is_collective:
                stats["collective_disputes_accepted"] = 1
        if act == "reach_agreement":
            stats["dispute_agreed_amount"] = event.data["total_amount"]
        return stats

    # -- commands ----------------------------------------------------------------

    def accept(self, ctx: Context) -> None:
        a = self._guard(ctx, "accept")
        mediation = new_clock(ctx, "mediation", "dispute.mediation")
        self._record(ctx, a, {}, opened={"mediation": mediation}, closed=["acceptance"])

    def decline(self, ctx: Context) -> None:
        a = self._guard(ctx, "decline")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def start_mediation(self, ctx: Context, *, mediator: Annotated[str, Text(max=120)]) -> None:
        a = self._guard(ctx, "start_mediation")
        if not mediator or not str(mediator).strip():
            raise self._invalid("start_mediation", mediator="is required")
        self._record(ctx, a, {"mediator": str(mediator).strip()})

    def _on_start_mediation(self, event: Case.Event) -> None:
        self.mediator = event.data["mediator"]
        self.assignee = self.assignee or self.mediator

    def record_session(
        self, ctx: Context, *, held_on: date, summary: str, attendees: Annotated[Sequence[str], Text(max=200)] = ()
    ) -> None:
        a = self._guard(ctx, "record_session")
        bad: dict[str, str] = {}
        require(bad, is_day(held_on), "held_on", "must be a date")
        require(bad, not is_day(held_on) or held_on <= ctx.today, "held_on", "may not lie in the future")
        require(bad, bool(summary and summary.strip()), "summary", "is required")
        if bad:
            raise self._invalid("record_session", **bad)
        self._record(ctx, a, {"held_on": held_on, "summary": summary.strip(), "attendees": list(attendees)})

    def _on_record_session(self, event: Case.Event) -> None:
        self.sessions.append(dict(event.data))

    def extend_mediation(self, ctx: Context, *, parties_consent: bool, days: int | None = None) -> None:
        a = self._guard(ctx, "extend_mediation")
        if parties_consent is not True:
            raise self._invalid("extend_mediation", parties_consent="both parties must consent to an extension")
        clock = self._open_clock("mediation", "extend_mediation")
        days = days if days is not None else ctx.policy.rule("dispute.mediation_extension").days
        due = self._extended_due(clock, days, None, "extend_mediation")
        self._record(
            ctx, a, {"clock": "mediation", "due_on": due, "previous_due_on": clock.due_on, "parties_consent": True}
        )

    def _on_extend_mediation(self, event: Case.Event) -> None:
        self.mediation_extended = True
        self._on_extend_clock(event)

    def reach_agreement(
        self,
        ctx: Context,
        *,
        terms: str,
        amounts: Annotated[Mapping[str, Any] | None, Nested("amounts")] = None,
        performance_due: date,
    ) -> None:
        a = self._guard(ctx, "reach_agreement")
        bad: dict[str, str] = {}
        require(bad, bool(terms and terms.strip()), "terms", "is required")
        require(bad, is_day(performance_due), "performance_due", "must be a date")
        require(
            bad,
            not is_day(performance_due) or performance_due >= ctx.today,
            "performance_due",
            "may not lie in the past",
        )
        parsed: dict[str, Decimal] = {}
        for key, value in (amounts or {}).items():
            amt = money(value)
            require(bad, amt is not None, f"amounts.{key}", "must be a non-negative amount in CNY")
            if amt is not None:
                parsed[str(key)] = amt
        if bad:
            raise self._invalid("reach_agreement", **bad)
        performance = Clock(name="performance", started_on=ctx.today, due_on=performance_due)
        self._record(
            ctx,
            a,
            {
                "terms": terms.strip(),
                "amounts": parsed,
                "total_amount": sum(parsed.values(), Decimal("0.00")),
                "performance_due": performance_due,
            },
            opened={"performance": performance},
            closed=["mediation"],
        )

    def _on_reach_agreement(self, event: Case.Event) -> None:
        self.agreement = dict(event.data)

    def confirm_performance(self, ctx: Context) -> None:
        a = self._guard(ctx, "confirm_performance")
        self._record(ctx, a, {}, closed=["performance"])

    def _on_confirm_performance(self, event: Case.Event) -> None:
        self.outcome = "performed"

    def fail_mediation(self, ctx: Context) -> None:
        a = self._guard(ctx, "fail_mediation")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def deem_failed(self, ctx: Context) -> None:
        a = self._guard(ctx, "deem_failed")  # the mediation clock ran out
        clock = self.clocks["mediation"]
        self._record(ctx, a, {"due_on": clock.due_on}, closed=self._closing_all_clocks())

    def refer_to_arbitration(self, ctx: Context) -> None:
        a = self._guard(ctx, "refer_to_arbitration")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def withdraw(self, ctx: Context) -> None:
        a = self._guard(ctx, "withdraw")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())
