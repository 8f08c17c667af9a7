"""Hardship assistance (困难职工帮扶).

A worker applies (or is found on a visit), a caseworker verifies the household on a home visit
(入户核实), a supervisor who is not the verifier registers the case (建档), aid is disbursed within
the policy's annual caps, and the case is reviewed every year (动态管理) until the worker exits
hardship (脱困).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

from aggregates.base import (
    SUPERVISING,
    Case,
    Context,
    Now,
    case_type,
    common_actions,
    new_clock,
    require,
)
from aggregates.fields import Choice, Money, Nested, Text
from aggregates.stages import StageTable, action
from aggregates.values import checked_resident_id, identifier, money, text

ASSISTING = ("caseworker", "supervisor")

CATEGORIES = ("deep", "relative", "sudden")
LEGACY_CATEGORIES: dict[str, str] = {"特困": "deep", "困难": "relative"}
"""The seeds' older terms, as stored by version 1 of HardshipApplied."""
CATEGORY_ALIASES: dict[str, str] = {
    **LEGACY_CATEGORIES,
    "深度困难": "deep",
    "相对困难": "relative",
    "意外致困": "sudden",
}
CAUSES = ("illness", "disability", "unemployment", "disaster", "education", "low_income", "other")
AID_TYPES = ("living", "medical", "education", "holiday", "employment")
OUTCOMES = ("continue", "reclassify", "exit")
REVIEW_WINDOW_DAYS = 30
"""An annual review may be recorded once the review clock is due within this many days."""
Category = Annotated[str, Text(max=40)]
"""A hardship category as commands give it: one of CATEGORIES, or an older or Chinese term for one."""

_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


def _not_the_verifier(case: HardshipCase, now: Now) -> str | None:
    if now.actor_id is not None and now.actor_id == case.verifier:
        return "the supervisor who registers the case may not be the one who verified it"
    return None


def _room_under_a_cap(case: HardshipCase, now: Now) -> str | None:
    year = now.today.year
    if any(case.disbursed(year, aid_type) < cap for aid_type, cap in now.policy.annual_caps.items()):
        return None
    return f"every aid type has reached its annual cap for {year}"


def _review_window_open(case: HardshipCase, now: Now) -> str | None:
    clock = case.clocks.get("review")
    if clock is None:
        return "no review clock is open"
    if (clock.due_on - now.today).days > REVIEW_WINDOW_DAYS:
        opens = clock.due_on - timedelta(days=REVIEW_WINDOW_DAYS)
        return f"the annual review is due on {clock.due_on} and may be recorded from {opens}"
    return None


TABLE = StageTable(
    stages={
        "applied": "申请 applied, awaiting the home visit",
        "verified": "入户核实 verified on a home visit",
        "registered": "建档 registered, receiving aid",
        "rejected": "不予建档 rejected",
        "exited": "脱困 exited hardship",
        "withdrawn": "撤回 withdrawn",
    },
    terminal=("rejected", "exited", "withdrawn"),
    actions=[
        action(
            "apply",
            "HardshipApplied",
            target="applied",
            roles=ASSISTING,
            counts=("hardship_applications",),
            help="Record an application for hardship assistance, or a worker found on a visit.",
        ),
        action(
            "verify",
            "HomeVisitVerified",
            source="applied",
            target="verified",
            roles=ASSISTING,
            help="Record the home visit (入户核实) and its findings.",
        ),
        action(
            "approve",
            "HardshipRegistered",
            source="verified",
            target="registered",
            roles=SUPERVISING,
            counts=("hardship_registered",),
            guard=_not_the_verifier,
            help="Register the worker (建档); the approver may not be the verifier.",
        ),
        action(
            "reject",
            "HardshipRejected",
            source=("applied", "verified"),
            target="rejected",
            roles=SUPERVISING,
            reason=True,
            counts=("hardship_rejected",),
            help="Reject the application with the reason.",
        ),
        action(
            "disburse",
            "AidDisbursed",
            source="registered",
            roles=ASSISTING,
            counts=("disbursements",),
            guard=_room_under_a_cap,
            help="Record aid paid out, within the policy's annual cap for the aid type.",
        ),
        action(
            "review",
            "HardshipReviewed",
            source="registered",
            target=("registered", "exited"),
            roles=ASSISTING,
            counts=("hardship_reviews",),
            guard=_review_window_open,
            help="The annual review (动态管理): continue, reclassify or exit.",
        ),
        action(
            "exit",
            "HardshipExited",
            source="registered",
            target="exited",
            roles=SUPERVISING,
            reason=True,
            counts=("hardship_exited",),
            help="The worker has left hardship (脱困).",
        ),
        action(
            "withdraw",
            "HardshipWithdrawn",
            source=("applied", "verified"),
            target="withdrawn",
            roles=ASSISTING,
            reason=True,
            help="The application is withdrawn (撤回).",
        ),
        *common_actions(ASSISTING),
    ],
)


def normalise_category(value: Any) -> str | None:
    """The category in the current terms, or None when it is not one."""
    if not isinstance(value, str):
        return None
    name = value.strip()
    if name in CATEGORIES:
        return name
    return CATEGORY_ALIASES.get(name)


def _household(bad: dict[str, str], household: Any, prefix: str = "household") -> dict[str, Any] | None:
    """The validated household, or None (with every problem collected in `bad`)."""
    if not isinstance(household, Mapping):
        require(bad, False, prefix, "must give members, monthly_income_per_capita and local_minimum")
        return None
    members = household.get("members")
    require(
        bad,
        isinstance(members, int) and not isinstance(members, bool) and members >= 1,
        f"{prefix}.members",
        "must be a whole number, at least 1",
    )
    income = money(household.get("monthly_income_per_capita"))
    require(bad, income is not None, f"{prefix}.monthly_income_per_capita", "must be a non-negative amount in CNY")
    minimum = money(household.get("local_minimum"))
    require(bad, minimum is not None and minimum > 0, f"{prefix}.local_minimum", "must be a positive amount in CNY")
    return {"members": members, "monthly_income_per_capita": income, "local_minimum": minimum}


@case_type
class HardshipCase(Case):
    TABLE = TABLE
    PREFIX = "HS"
    KIND = "hardship"
    PERSONAL_DATA = tuple(f"worker.{k}" for k in ("name", "id_number", "phone", "address"))

    class HardshipApplied(Case.Opened):
        """The application. Version 1 stored the category in the seeds' older terms (特困/困难); versions 1
        and 2 stored `person_key`, a keyed hash of the ID number that is the engine's alone and must never be
        read back out of a case (its key is a secret of the installation)."""

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            data = dict(state["data"])
            category = data.get("category")
            if category in LEGACY_CATEGORIES:
                data["category"] = LEGACY_CATEGORIES[category]
            state["data"] = data

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            data = dict(state["data"])
            data.pop("person_key", None)
            state["data"] = data

    @classmethod
    def apply(
        cls,
        ctx: Context,
        *,
        case_id: UUID,
        number: str,
        org_unit: str,
        worker: Annotated[Mapping[str, Any], Nested("person")],
        household: Annotated[Mapping[str, Any], Nested("household")],
        causes: Annotated[Sequence[str], Choice(CAUSES), Text(max=200)],
        category: Category,
        found_on_visit: bool = False,
        employer: Annotated[str | None, Text(max=200)] = None,
        assignee: str | None = None,
    ) -> HardshipCase:
        bad: dict[str, str] = {}
        worker = worker if isinstance(worker, Mapping) else {}
        name = text(worker.get("name"))
        require(bad, bool(name), "worker.name", "is required")
        id_number = checked_resident_id(bad, worker.get("id_number"), "worker.id_number", required=True)
        parsed_household = _household(bad, household)
        causes_ok = isinstance(causes, Sequence) and not isinstance(causes, str)
        require(bad, causes_ok and bool(causes), "causes", "at least one cause is required")
        for i, cause in enumerate(causes if causes_ok else ()):
            require(bad, cause in CAUSES, f"causes[{i}]", f"must be one of {', '.join(CAUSES)}")
        normalised = normalise_category(category)
        require(
            bad,
            normalised is not None,
            "category",
            f"must be one of {', '.join(CATEGORIES)} (or the older terms 特困, 困难)",
        )
        require(bad, isinstance(found_on_visit, bool), "found_on_visit", "must be true or false")
        require(bad, employer is None or isinstance(employer, str), "employer", "must be text")
        if bad:
            raise cls._invalid_new(number, bad)
        data = {
            "worker": {
                "name": name,
                "id_number": id_number,
                "phone": text(worker.get("phone")),
                "address": text(worker.get("address")),
            },
            "household": parsed_household,
            "causes": list(dict.fromkeys(causes)),
            "category": normalised,
            "found_on_visit": found_on_visit,
            "employer": text(employer) or None,
        }
        return cls._open(
            ctx,
            case_id=case_id,
            number=number,
            org_unit=org_unit,
            assignee=assignee,
            data=data,
            opened={"verification": new_clock(ctx, "verification", "hardship.verification")},
        )

    def _on_apply(self, event: Case.Event) -> None:
        d = event.data
        self.worker: dict[str, str] = dict(d["worker"])
        self.household: dict[str, Any] = dict(d["household"])
        self.causes: list[str] = list(d["causes"])
        self.category: str = d["category"]
        self.found_on_visit: bool = d["found_on_visit"]
        self.employer: str | None = d["employer"]
        self.verifier: str | None = None
        self.visit: dict[str, Any] | None = None
        self.recommended_category: str | None = None
        self.registered_on: date | None = None
        self.disbursements: list[dict[str, Any]] = []
        self.totals: dict[tuple[int, str], Decimal] = {}
        self.reviews: list[dict[str, Any]] = []

    # -- queries -----------------------------------------------------------------

    @property
    def person_identity(self) -> str:
        """The worker's ID number as the one-open-case-per-person rule keys it (also for cases recorded
        before numbers were normalised)."""
        return identifier(self.worker.get("id_number"))

    @property
    def releases_person(self) -> bool:
        """True once the case is closed: the person may then open a new case."""
        return not self.is_open

    def disbursed(self, year: int, aid_type: str) -> Decimal:
        """Total paid out of one aid type in one calendar year."""
        return self.totals.get((year, aid_type), Decimal("0.00"))

    def parties(self) -> list[str]:
        return []  # the worker's name is personal data and never goes into the case index

    def flags(self) -> list[str]:
        return ["deep"] if self.category == "deep" else []

    def statistics(self, event: Case.Event) -> dict[str, Any]:
        stats = super().statistics(event)
        act = type(event).ACTION
        if act == "approve":
            stats[f"hardship_registered_{event.data['category']}"] = 1
        if act == "disburse":
            aid_type = event.data["aid_type"]
            stats[f"disbursements_{aid_type}"] = 1
            stats[f"disbursed_amount_{aid_type}"] = event.data["amount"]
        if act == "review" and event.data["outcome"] == "exit":
            stats["hardship_exited"] = 1
        return stats

    # -- commands ----------------------------------------------------------------

    def verify(
        self,
        ctx: Context,
        *,
        visited_on: date,
        findings: str,
        household: Annotated[Mapping[str, Any] | None, Nested("household")] = None,
        recommended_category: Category | None = None,
    ) -> None:
        a = self._guard(ctx, "verify")
        bad: dict[str, str] = {}
        is_date = isinstance(visited_on, date) and not isinstance(visited_on, datetime)
        require(bad, is_date, "visited_on", "must be a date")
        require(bad, not is_date or visited_on <= ctx.today, "visited_on", "may not lie in the future")
        applied_on = self.opened_at.astimezone(ctx.tz).date()
        require(
            bad,
            not is_date or visited_on >= applied_on,
            "visited_on",
            f"may not be earlier than the application ({applied_on})",
        )
        require(bad, bool(text(findings)), "findings", "is required")
        corrected = _household(bad, household) if household is not None else None
        recommended = normalise_category(recommended_category) if recommended_category is not None else None
        require(
            bad,
            recommended_category is None or recommended is not None,
            "recommended_category",
            f"must be one of {', '.join(CATEGORIES)}",
        )
        if bad:
            raise self._invalid("verify", **bad)
        self._record(
            ctx,
            a,
            {
                "visited_on": visited_on,
                "findings": text(findings),
                "household": corrected,
                "recommended_category": recommended,
            },
            closed=["verification"],
        )

    def _on_verify(self, event: Case.Event) -> None:
        d = event.data
        self.verifier = event.actor_id
        self.visit = dict(d)
        if d["household"] is not None:
            self.household = dict(d["household"])
        self.recommended_category = d["recommended_category"]

    def approve(self, ctx: Context, *, category: Category | None = None) -> None:
        a = self._guard(ctx, "approve")
        chosen = normalise_category(category) if category is not None else None
        if category is not None and chosen is None:
            raise self._invalid("approve", category=f"must be one of {', '.join(CATEGORIES)}")
        chosen = chosen or self.recommended_category or self.category
        review = new_clock(ctx, "review", "hardship.review")
        self._record(ctx, a, {"category": chosen, "previous_category": self.category}, opened={"review": review})

    def _on_approve(self, event: Case.Event) -> None:
        self.category = event.data["category"]
        self.registered_on = event.clocks_opened["review"]["started_on"]

    def reject(self, ctx: Context) -> None:
        a = self._guard(ctx, "reject")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def disburse(
        self,
        ctx: Context,
        *,
        aid_type: Annotated[str, Text(max=20)],
        amount: Annotated[Any, Money()],
        fund: Annotated[str, Text(max=200)],
        period: Annotated[str, Text(max=40)],
    ) -> None:
        a = self._guard(ctx, "disburse")
        bad: dict[str, str] = {}
        caps = ctx.policy.annual_caps
        require(bad, aid_type in caps, "aid_type", f"must be one of {', '.join(caps)}")
        parsed = money(amount)
        require(bad, parsed is not None and parsed > 0, "amount", "must be a positive amount in CNY")
        require(bad, bool(text(fund)), "fund", "is required")
        require(
            bad, _PERIOD.match(text(period)) is not None, "period", "is required, as a year or a month (2026, 2026-03)"
        )
        if bad:
            raise self._invalid("disburse", **bad)
        assert parsed is not None
        year = ctx.today.year
        cap = caps[aid_type]
        spent = self.disbursed(year, aid_type)
        if spent + parsed > cap:
            remaining = max(cap - spent, Decimal("0")).quantize(Decimal("0.01"))
            raise self._invalid(
                "disburse",
                amount=f"exceeds the annual cap of {cap} CNY for {aid_type} aid in {year}; {remaining} CNY remains",
            )
        self._record(
            ctx,
            a,
            {
                "aid_type": aid_type,
                "amount": parsed,
                "fund": text(fund),
                "period": text(period),
                "year": year,
                "disbursed_on": ctx.today,
            },
        )

    def _on_disburse(self, event: Case.Event) -> None:
        d = event.data
        self.disbursements.append(dict(d))
        key = (d["year"], d["aid_type"])
        self.totals[key] = self.totals.get(key, Decimal("0.00")) + d["amount"]

    def review(
        self,
        ctx: Context,
        *,
        outcome: Annotated[str, Choice(OUTCOMES), Text(max=20)],
        category: Category | None = None,
        notes: str = "",
    ) -> None:
        a = self._guard(ctx, "review")
        bad: dict[str, str] = {}
        require(bad, outcome in OUTCOMES, "outcome", f"must be one of {', '.join(OUTCOMES)}")
        chosen = normalise_category(category) if category is not None else None
        if outcome == "reclassify":
            require(bad, chosen is not None, "category", f"must be one of {', '.join(CATEGORIES)}")
            require(bad, chosen != self.category, "category", f"is already {self.category}")
        else:
            require(bad, category is None, "category", "is given only when the outcome is 'reclassify'")
        require(bad, notes is None or isinstance(notes, str), "notes", "must be text")
        if outcome == "exit":
            require(bad, bool(text(ctx.reason)), "reason", "a reason is required to exit hardship")
        if bad:
            raise self._invalid("review", **bad)
        data = {
            "outcome": outcome,
            "category": chosen,
            "previous_category": self.category,
            "notes": text(notes),
            "reviewed_on": ctx.today,
        }
        if outcome == "exit":
            self._record(ctx, a, data, stage="exited", closed=self._closing_all_clocks())
        else:
            self._record(
                ctx,
                a,
                data,
                stage="registered",
                closed=["review"],
                opened={"review": new_clock(ctx, "review", "hardship.review")},
            )

    def _on_review(self, event: Case.Event) -> None:
        d = event.data
        self.reviews.append(dict(d))
        if d["outcome"] == "reclassify":
            self.category = d["category"]

    def exit(self, ctx: Context) -> None:
        a = self._guard(ctx, "exit")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())

    def withdraw(self, ctx: Context) -> None:
        a = self._guard(ctx, "withdraw")
        self._record(ctx, a, {}, closed=self._closing_all_clocks())
