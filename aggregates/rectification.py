"""Rectification proposal (整改建议书 / 工会劳动法律监督).

Basis: 工会法 on demanding that an employer correct violations of workers' rights; the
provincial regulations on trade-union labor-law supervision. Its outcome drives the linked
negotiation, if any: acceptance resumes it, referral refers it to the inspectorate.
"""

from __future__ import annotations

import dataclasses
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
from aggregates.fields import Choice, Money, Nested, Text
from aggregates.stages import StageTable, action
from aggregates.values import as_uuid, checked_credit_code, is_day, is_whole, money, text

SUPERVISING_LAW = ("inspector", "supervisor")
SOURCE_KINDS = ("negotiation", "dispute", "inspection")
ITEM_CATEGORIES = (
    "wages",
    "working_hours",
    "social_insurance",
    "contract",
    "safety",
    "collective_contract",
    "union_rights",
    "other",
)
RESULTS = ("passed", "failed")
REFERRING = ("issued", "refused", "rectifying")
"""Stages from which the enterprise may be referred to the labor inspectorate."""


def _grounds_for_referral(case: RectificationProposal, now: Now) -> str | None:
    """A proposal is referred once its reply is overdue, or when an item is overdue or failed its follow-up
    check; a refusal is grounds at once."""
    if case.stage == "issued":
        reply = case.clocks.get("reply")
        if reply is None or not reply.is_overdue(now.today):
            state = (
                "no reply clock"
                if reply is None
                else f"paused since {reply.paused_on}"
                if reply.paused_on
                else f"due {reply.due_on}"
            )
            return f"the enterprise still has time to reply ({state})"
    if case.stage == "rectifying" and not case.referral_grounds(now.today):
        return "no item is overdue or failed its follow-up check; rectification is on track"
    return None


def _referral_to_propose(case: RectificationProposal, now: Now) -> str | None:
    if case.pending_referral is not None:
        return f"a referral is already pending ({case.pending_referral['trigger']})"
    if not case.referral_triggers(now.today):
        return "nothing calls for a referral now that a supervisor has not dismissed"
    return None


def _referral_pending(case: RectificationProposal, now: Now) -> str | None:
    return None if case.pending_referral is not None else "no referral is pending"


def _pending_referral_applies(case: RectificationProposal, now: Now) -> str | None:
    """Confirming records the referral itself, so its own guard must let it run too."""
    return _referral_pending(case, now) or case.why_not("refer_to_inspectorate", now)


TABLE = StageTable(
    stages={
        "issued": "发出整改建议书 issued, awaiting the reply",
        "rectifying": "整改中 rectifying",
        "refused": "拒绝整改 refused",
        "referred": "提交人社部门执法检查 referred to the labor inspectorate",
        "rectified": "整改完成 rectified",
        "closed": "执法结果已记录 closed with the enforcement outcome",
        "withdrawn": "撤回 withdrawn",
    },
    terminal=("rectified", "closed", "withdrawn"),
    actions=[
        action(
            "issue",
            "RectificationIssued",
            target="issued",
            roles=(*SUPERVISING_LAW, "system"),
            counts=("rectifications_issued",),
            help="Issue the rectification proposal (整改建议书); the enterprise has 15 days to reply.",
        ),
        action(
            "accept_plan",
            "RectificationAccepted",
            source="issued",
            target="rectifying",
            roles=SUPERVISING_LAW,
            counts=("rectifications_accepted",),
            help="The enterprise agrees to rectify (同意整改) with a plan; each item's clock starts, "
            "on its deadline or a new one the plan sets (required where the deadline has passed).",
        ),
        action(
            "refuse",
            "RectificationRefused",
            source="issued",
            target="refused",
            roles=SUPERVISING_LAW,
            reason=True,
            counts=("rectifications_refused",),
            help="The enterprise refuses to rectify.",
        ),
        action(
            "verify_item",
            "ItemVerified",
            source="rectifying",
            target=("rectifying", "rectified"),
            roles=SUPERVISING_LAW,
            help="Record the follow-up check (复查) of one item.",
        ),
        action(
            "refer_to_inspectorate",
            "RectificationReferred",
            source=REFERRING,
            target="referred",
            roles=(*SUPERVISING_LAW, "system"),
            reason=True,
            counts=("rectifications_referred",),
            guard=_grounds_for_referral,
            help="Refer the enterprise to the labor inspectorate (提交人社部门执法检查).",
        ),
        action(
            "propose_referral",
            "ReferralProposed",
            source=REFERRING,
            roles=("system",),
            reason=True,
            guard=_referral_to_propose,
            help="Where the policy says 'confirm' for referrals: record that the reply or an item ran out, or the "
            "enterprise refused, for a supervisor to confirm or dismiss the referral.",
        ),
        action(
            "confirm_referral",
            "ReferralConfirmed",
            source=REFERRING,
            target="referred",
            roles=("supervisor",),
            guard=_pending_referral_applies,
            help="Refer the enterprise as the scheduler proposed; recorded as the referral itself, by the "
            "confirming supervisor.",
        ),
        action(
            "dismiss_referral",
            "ReferralDismissed",
            source=REFERRING,
            roles=("supervisor",),
            reason=True,
            guard=_referral_pending,
            help="Decline the proposed referral; the scheduler does not propose it again for this deadline.",
        ),
        action(
            "record_enforcement",
            "EnforcementRecorded",
            source="referred",
            target="closed",
            roles=SUPERVISING_LAW,
            help="Record the inspectorate's enforcement outcome.",
        ),
        action(
            "withdraw",
            "RectificationWithdrawn",
            source="issued",
            target="withdrawn",
            roles=("supervisor",),
            reason=True,
            help="Withdraw the proposal (撤回).",
        ),
        *common_actions(SUPERVISING_LAW),
    ],
)


def item_clock(no: int) -> str:
    return f"item-{no}"


@case_type
class RectificationProposal(Case):
    TABLE = TABLE
    PREFIX = "RP"
    KIND = "rectification_proposal"

    @classmethod
    def issue(
        cls,
        ctx: Context,
        *,
        case_id: UUID,
        number: str,
        org_unit: str,
        enterprise: Annotated[Mapping[str, Any], Nested("enterprise")],
        issuing_union: Annotated[str, Text(max=200)],
        source: Annotated[Mapping[str, Any], Nested("source")],
        items: Annotated[Sequence[Mapping[str, Any]], Nested("item")],
        assignee: str | None = None,
    ) -> RectificationProposal:
        bad: dict[str, str] = {}
        enterprise = enterprise or {}
        require(bad, bool(text(enterprise.get("name"))), "enterprise.name", "is required")
        credit_code = checked_credit_code(bad, enterprise.get("credit_code"), "enterprise.credit_code")
        require(bad, bool(text(issuing_union)), "issuing_union", "is required")
        source = source or {}
        kind = source.get("kind")
        require(bad, kind in SOURCE_KINDS, "source.kind", f"must be one of {', '.join(SOURCE_KINDS)}")
        source_id = source.get("case_id")
        parsed_id = as_uuid(source_id) if source_id is not None else None
        require(bad, source_id is None or parsed_id is not None, "source.case_id", "must be a case id (UUID)")
        require(
            bad,
            kind != "negotiation" or source_id is not None,
            "source.case_id",
            "is required when the source is a negotiation",
        )
        require(bad, parsed_id is None or parsed_id != case_id, "source.case_id", "may not be this case")
        require(bad, bool(items), "items", "at least one violation item is required")
        parsed_items = []
        for i, item in enumerate(items or (), start=1):
            category = item.get("category")
            require(
                bad,
                category in ITEM_CATEGORIES,
                f"items[{i - 1}].category",
                f"must be one of {', '.join(ITEM_CATEGORIES)}",
            )
            require(bad, bool(text(item.get("description"))), f"items[{i - 1}].description", "is required")
            require(bad, bool(text(item.get("legal_basis"))), f"items[{i - 1}].legal_basis", "is required")
            deadline = item.get("deadline")
            require(bad, is_day(deadline), f"items[{i - 1}].deadline", "must be a date")
            require(
                bad, not is_day(deadline) or deadline > ctx.today, f"items[{i - 1}].deadline", "must be after today"
            )
            parsed_items.append(
                {
                    "no": i,
                    "category": category,
                    "description": text(item.get("description")),
                    "legal_basis": text(item.get("legal_basis")),
                    "deadline": deadline,
                }
            )
        if bad:
            raise cls._invalid_new(number, bad)
        data = {
            "enterprise": {"name": text(enterprise["name"]), "credit_code": credit_code},
            "issuing_union": text(issuing_union),
            "source": {"kind": kind, "case_id": parsed_id, "number": text(source.get("number")) or None},
            "items": parsed_items,
        }
        return cls._open(
            ctx,
            case_id=case_id,
            number=number,
            org_unit=org_unit,
            assignee=assignee,
            data=data,
            opened={"reply": new_clock(ctx, "reply", "rectification.reply")},
        )

    def _on_issue(self, event: Case.Event) -> None:
        d = event.data
        self.enterprise: dict[str, Any] = dict(d["enterprise"])
        self.issuing_union: str = d["issuing_union"]
        self.source: dict[str, Any] = dict(d["source"])
        self.items: list[dict[str, Any]] = [{**item, "status": "open"} for item in d["items"]]
        self.verifications: list[dict[str, Any]] = []
        self.plan: str | None = None
        self.outcome: str | None = None
        self.penalty: Decimal | None = None
        self.pending_referral: dict[str, Any] | None = None
        self.dismissed_referrals: list[dict[str, Any]] = []

    def _apply_event(self, event: Case.Event) -> None:
        super()._apply_event(event)
        pending = getattr(self, "pending_referral", None)
        if pending is not None and (pending["trigger"], pending["due_on"]) not in self._referral_basis():
            self.pending_referral = None  # answered, verified, extended, withdrawn or referred: no longer pending

    # -- queries -------------------------------------------------------------------

    @property
    def source_case_id(self) -> UUID | None:
        """The case this proposal came from (e.g. the refusing negotiation), if any."""
        return self.source.get("case_id")

    def item(self, no: int) -> dict[str, Any] | None:
        return next((item for item in self.items if item["no"] == no), None)

    def parties(self) -> list[str]:
        return [self.enterprise["name"]]

    def index_reference(self) -> str | None:
        return self.source.get("number")

    def flags(self) -> list[str]:
        flags = [f"from_{self.source['kind']}"]
        if getattr(self, "pending_referral", None) is not None:  # a supervisor's to-do, listed by this flag
            flags.append("referral_pending")
        return flags

    def statistics(self, event: Case.Event) -> dict[str, Any]:
        stats = super().statistics(event)
        act = type(event).ACTION
        if act == "verify_item":
            stats["items_verified"] = 1
            if event.stage == "rectified":
                stats["rectifications_completed"] = 1
        if act == "record_enforcement" and event.data.get("penalty") is not None:
            stats["enforcement_penalty_amount"] = event.data["penalty"]
        return stats

    # -- commands ----------------------------------------------------------------

    def accept_plan(
        self,
        ctx: Context,
        *,
        plan: str,
        item_deadlines: Annotated[Sequence[Mapping[str, Any]], Nested("item_deadline")] = (),
    ) -> None:
        """Start one clock per item; the plan may move deadlines and must move those already past."""
        a = self._guard(ctx, "accept_plan")
        bad: dict[str, str] = {}
        require(bad, bool(text(plan)), "plan", "is required")
        moved: dict[int, Any] = {}
        entries = item_deadlines or ()
        if isinstance(entries, str) or not isinstance(entries, Sequence):
            require(bad, False, "item_deadlines", "must be a list of {item_no, deadline}")
            entries = ()
        for i, entry in enumerate(entries):
            where = f"item_deadlines[{i}]"
            no = entry.get("item_no") if isinstance(entry, Mapping) else None
            deadline = entry.get("deadline") if isinstance(entry, Mapping) else None
            require(
                bad,
                is_whole(no) and self.item(no) is not None,
                f"{where}.item_no",
                f"no such item; items are numbered 1 to {len(self.items)}",
            )
            require(bad, not is_whole(no) or no not in moved, f"{where}.item_no", f"item {no} is given twice")
            require(bad, is_day(deadline) and deadline > ctx.today, f"{where}.deadline", "must be a date after today")
            if is_whole(no):
                moved[no] = deadline
        for item in self.items:
            if item["no"] not in moved and item["deadline"] < ctx.today:
                require(
                    bad,
                    False,
                    "item_deadlines",
                    f"item {item['no']}'s deadline {item['deadline']} has passed; the plan must give it a new one",
                )
        if bad:
            raise self._invalid("accept_plan", **bad)
        deadlines = {item["no"]: moved.get(item["no"], item["deadline"]) for item in self.items}
        opened = {
            item_clock(no): Clock(name=item_clock(no), started_on=ctx.today, due_on=due)
            for no, due in deadlines.items()
        }
        data = {"plan": text(plan), "item_deadlines": [{"item_no": no, "deadline": d} for no, d in moved.items()]}
        self._record(ctx, a, data, opened=opened, closed=["reply"])

    def _on_accept_plan(self, event: Case.Event) -> None:
        self.plan = event.data["plan"]
        for moved in event.data.get("item_deadlines", ()):
            item = self.item(moved["item_no"])
            assert item is not None
            item["original_deadline"] = item.get("original_deadline", item["deadline"])
            item["deadline"] = moved["deadline"]

    def refuse(self, ctx: Context) -> None:
        a = self._guard(ctx, "refuse")
        self._record(ctx, a, {}, closed=["reply"])

    def verify_item(
        self, ctx: Context, *, item_no: int, result: Annotated[str, Choice(RESULTS), Text(max=20)], findings: str = ""
    ) -> None:
        a = self._guard(ctx, "verify_item")
        bad: dict[str, str] = {}
        item = self.item(item_no) if isinstance(item_no, int) and not isinstance(item_no, bool) else None
        require(bad, item is not None, "item_no", f"no such item; items are numbered 1 to {len(self.items)}")
        require(bad, item is None or item["status"] != "passed", "item_no", f"item {item_no} has already passed")
        require(bad, result in RESULTS, "result", f"must be one of {', '.join(RESULTS)}")
        require(bad, findings is None or isinstance(findings, str), "findings", "must be text")
        require(
            bad, result != "failed" or bool(text(findings)), "findings", "say what is still wrong when an item fails"
        )
        if bad:
            raise self._invalid("verify_item", **bad)
        data = {"item_no": item_no, "result": result, "findings": text(findings), "verified_on": ctx.today}
        if result == "failed":
            self._record(ctx, a, data, stage="rectifying")
            return
        still_open = [i for i in self.items if i["status"] != "passed" and i["no"] != item_no]
        if still_open:
            self._record(ctx, a, data, stage="rectifying", closed=[item_clock(item_no)])
        else:
            self._record(ctx, a, data, stage="rectified", closed=self._closing_all_clocks())

    def _on_verify_item(self, event: Case.Event) -> None:
        d = event.data
        item = self.item(d["item_no"])
        assert item is not None
        item["status"] = d["result"]
        self.verifications.append({**d, "by": event.actor_id})

    def referral_grounds(self, today: date) -> list[str]:
        """While rectifying: the items overdue on `today` or failed at their follow-up check."""
        overdue = [
            i["no"]
            for i in self.items
            if (c := self.clocks.get(item_clock(i["no"]))) is not None and c.is_overdue(today)
        ]
        failed = [i["no"] for i in self.items if i["status"] == "failed"]
        return [*(f"item {n} overdue" for n in overdue), *(f"item {n} failed" for n in failed)]

    def _referral_basis(self) -> list[tuple[str, date | None]]:
        """What may lead to a referral in this stage, whether or not it has run out yet: (clock or "refused",
        its due date)."""
        if self.stage == "refused":
            return [("refused", None)]
        if self.stage == "issued" and "reply" in self.clocks:
            return [("reply", self.clocks["reply"].due_on)]
        if self.stage == "rectifying":
            return [(name, c.due_on) for name, c in self.clocks.items() if name.startswith("item-")]
        return []

    def referral_triggers(self, today: date) -> list[tuple[str, date | None]]:
        """What the scheduler refers the enterprise for on `today`: the refusal, or an overdue reply or item, less
        what a supervisor dismissed."""
        dismissed = {(d["trigger"], d["due_on"]) for d in self.dismissed_referrals}
        return [
            (trigger, due)
            for trigger, due in self._referral_basis()
            if (trigger == "refused" or self.clocks[trigger].is_overdue(today)) and (trigger, due) not in dismissed
        ]

    def propose_referral(self, ctx: Context, *, trigger: str) -> None:
        """Record, for a supervisor to confirm or dismiss, that `trigger` (an overdue clock, or "refused") calls for
        a referral."""
        a = self._guard(ctx, "propose_referral")
        grounds = dict(self.referral_triggers(ctx.today))
        if not isinstance(trigger, str) or trigger not in grounds:
            raise self._invalid(
                "propose_referral",
                trigger=f"{trigger!r} does not call for a referral now; what does: {', '.join(grounds)}",
            )
        self._record(ctx, a, {"trigger": trigger, "due_on": grounds[trigger]})

    def _on_propose_referral(self, event: Case.Event) -> None:
        self.pending_referral = {
            **event.data,
            "why": event.reason,
            "proposed_at": event.occurred_at,
            "proposed_by": event.actor_id,
        }

    def confirm_referral(self, ctx: Context) -> None:
        """Refer the enterprise as proposed, as the confirming supervisor; the event is the referral's own."""
        self._guard(ctx, "confirm_referral")  # a referral is pending and may be made
        pending = self.pending_referral
        assert pending is not None
        reason = ctx.reason or f"referral confirmed: {pending['why']}"
        self.refer_to_inspectorate(dataclasses.replace(ctx, reason=reason))

    def dismiss_referral(self, ctx: Context) -> None:
        a = self._guard(ctx, "dismiss_referral")
        assert self.pending_referral is not None
        self._record(ctx, a, {k: self.pending_referral[k] for k in ("trigger", "due_on")})

    def _on_dismiss_referral(self, event: Case.Event) -> None:
        self.dismissed_referrals.append(
            {**event.data, "dismissed_at": event.occurred_at, "dismissed_by": event.actor_id, "reason": event.reason}
        )
        self.pending_referral = None

    def refer_to_inspectorate(self, ctx: Context) -> None:
        a = self._guard(ctx, "refer_to_inspectorate")
        grounds = self.referral_grounds(ctx.today) if self.stage == "rectifying" else []
        self._record(ctx, a, {"grounds": grounds, "from_stage": self.stage}, closed=self._closing_all_clocks())

    def record_enforcement(self, ctx: Context, *, outcome: str, penalty: Annotated[Any, Money()] = None) -> None:
        a = self._guard(ctx, "record_enforcement")
        bad: dict[str, str] = {}
        require(bad, bool(text(outcome)), "outcome", "is required")
        amount = money(penalty) if penalty is not None else None
        require(bad, penalty is None or amount is not None, "penalty", "must be a non-negative amount in CNY")
        if bad:
            raise self._invalid("record_enforcement", **bad)
        self._record(ctx, a, {"outcome": text(outcome), "penalty": amount})

    def _on_record_enforcement(self, event: Case.Event) -> None:
        self.outcome = event.data["outcome"]
        self.penalty = event.data["penalty"]

    def withdraw(self, ctx: Context) -> None:
        a = self._guard(ctx, "withdraw")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())
