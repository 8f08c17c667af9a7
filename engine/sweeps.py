"""Level-triggered sweeps: what the scheduler does about every clock that ran out.

A sweep lists, from the read model, every open clock past due (the `open_clocks` index on
(paused, due_on) keeps the cost with what is overdue, not with what is open) and every stage
that calls for a next step by itself (a refused offer, a refused rectification proposal, a
proposal whose outcome the negotiation has not followed yet). Each becomes one engine command
whose id is derived from the case, the trigger and the due date, so a late, repeated, retried
or concurrent sweep changes nothing twice: the command log answers a repeated id, and the
stage tables refuse a step that has already happened.

Two sweeps share this module: `escalation` (the negotiation ladder and the cross-case
reactions) and `legal` (every other clock of DESIGN section 3).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.errors import DomainError
from aggregates.wage_negotiation import REFERABLE
from engine.errors import CaseIntegrityError, VersionConflict
from engine.organisation import default_rectification_item, higher_union, supervisors_of
from engine.reactions import FOLLOWS_STAGE, WHY, following_negotiation
from engine.tables import case_index, command_log, open_clocks
from engine.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from engine.service import Actor, Casework

ESCALATION, LEGAL = "escalation", "legal"
SWEEPS = (ESCALATION, LEGAL)
ESCALATE, ALERT = "escalate", "alert"
"""Steps that are not one fixed action: the next rung of the ladder, or an alert to supervisors."""
REACTION = "reaction:"


@dataclass(frozen=True)
class Rule:
    """What a sweep does when a clock runs out (or a case sits in a stage): `step` is an action name,
    ESCALATE or ALERT; `why` becomes the event's reason ({due_on}, {clock} and {item} are filled in)."""

    sweep: str
    step: str
    why: str = ""


CLOCK_RULES: dict[tuple[str, str], Rule] = {
    ("wage_negotiation", "reply"): Rule(ESCALATION, ESCALATE),
    ("wage_negotiation", "proposal_reply"): Rule(ESCALATION, ESCALATE),
    ("labor_dispute", "acceptance"): Rule(
        LEGAL, ALERT, "the application was neither accepted nor declined by {due_on} (3 working days)"),
    ("labor_dispute", "mediation"): Rule(
        LEGAL, "deem_failed", "mediation did not end by {due_on}: deemed failed (视为调解不成)"),
    ("labor_dispute", "performance"): Rule(
        LEGAL, ALERT, "the mediation agreement was not confirmed as performed by {due_on}"),
    ("wage_negotiation", "filing"): Rule(
        LEGAL, ALERT, "the signed contract was not filed with the labor bureau by {due_on}"),
    ("wage_negotiation", "objection"): Rule(
        LEGAL, "take_effect", "the labor bureau raised no objection by {due_on}: the contract is in effect"),
    ("wage_negotiation", "renewal"): Rule(
        LEGAL, "mark_expiring", "the contract's term is ending: the renewal offer was due by {due_on}"),
    ("wage_negotiation", "term_end"): Rule(
        LEGAL, ALERT, "the contract's term ended on {due_on}: conclude it or renew it"),
    ("rectification_proposal", "reply"): Rule(
        LEGAL, "refer_to_inspectorate", "the enterprise did not reply to the rectification proposal by {due_on}"),
    ("rectification_proposal", "item-*"): Rule(
        LEGAL, "refer_to_inspectorate", "item {item} was not rectified by its deadline {due_on}"),
    ("hardship", "verification"): Rule(
        LEGAL, ALERT, "the home visit (入户核实) was not recorded by {due_on}"),
    ("hardship", "review"): Rule(
        LEGAL, ALERT, "the annual review (动态管理) was due on {due_on}"),
}
STAGE_RULES: dict[tuple[str, str], Rule] = {
    ("wage_negotiation", "offer_refused"): Rule(ESCALATION, ESCALATE),
    ("rectification_proposal", "refused"): Rule(
        LEGAL, "refer_to_inspectorate", "the enterprise refused to rectify (拒绝整改)"),
}


def clock_rule(kind: str, clock: str) -> Rule | None:
    return CLOCK_RULES.get((kind, clock)) or (
        CLOCK_RULES.get((kind, "item-*")) if clock.startswith("item-") else None)


class NothingDue(DomainError):
    """The case no longer calls for the step (answered, extended or moved on since it was listed)."""

    code = "nothing_due"


@dataclass(frozen=True)
class Due:
    """One thing a sweep found: a clock past due, a stage that calls for a step, or a reaction."""

    case_id: UUID
    kind: str
    trigger: str
    """A clock name, "stage:<stage>@<version>", or "reaction:<proposal id>@<step>"."""
    due_on: date | None = None

    @property
    def command_id(self) -> str:
        return f"sweep/{self.case_id}/{self.trigger}/{self.due_on.isoformat() if self.due_on else '-'}"

    @property
    def rule(self) -> Rule:
        if self.trigger.startswith(REACTION):
            return Rule(ESCALATION, "react")
        if self.trigger.startswith("stage:"):
            return STAGE_RULES[(self.kind, self.trigger[6:].partition("@")[0])]
        rule = clock_rule(self.kind, self.trigger)
        assert rule is not None, self.trigger
        return rule

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": str(self.case_id), "kind": self.kind, "trigger": self.trigger,
                "due_on": self.due_on.isoformat() if self.due_on else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Due:
        return cls(UUID(data["case_id"]), data["kind"], data["trigger"],
                   date.fromisoformat(data["due_on"]) if data.get("due_on") else None)


@dataclass(frozen=True)
class Outcome:
    due: Due
    status: str
    """applied, proposed (awaiting a supervisor), alerted, already_done, skipped, or broken (the case, or a case the
    step needs, fails its hash chain: nothing was recorded)."""
    action: str | None = None
    number: str | None = None
    detail: str = ""
    linked: list[str] = field(default_factory=list)
    notify: list[str] = field(default_factory=list)
    """For a broken case: the supervisors of its unit, who are to be told."""

    def to_dict(self) -> dict[str, Any]:
        return {"case": self.number or str(self.due.case_id), "trigger": self.due.trigger, "status": self.status,
                "action": self.action, "detail": self.detail, "linked": self.linked, "notify": self.notify}


@dataclass
class SweepReport:
    sweep: str
    today: date
    found: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(o.status for o in self.outcomes))

    @property
    def broken(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == BROKEN]

    def add(self, outcomes: Iterable[Outcome]) -> None:
        self.outcomes.extend(outcomes)


# -- listing ---------------------------------------------------------------------------------


def _clock_condition(sweep: str) -> Any:
    c = open_clocks.c
    terms = [and_(c.kind == kind, c.clock.like("item-%") if clock == "item-*" else c.clock == clock)
             for (kind, clock), rule in CLOCK_RULES.items() if rule.sweep == sweep]
    return or_(*terms)


def list_due(cw: Casework, sweep: str, today: date | None = None) -> list[Due]:
    """Everything `sweep` should act on as of `today` (default: the engine's business date),
    oldest due date first, leaving out what an earlier run already did."""
    if sweep not in SWEEPS:
        raise ValueError(f"unknown sweep {sweep!r}; known: {', '.join(SWEEPS)}")
    today = today or business_date(cw)
    c, i = open_clocks.c, case_index.c
    with cw.read_transaction() as session:
        found = [Due(r.case_id, r.kind, r.clock, r.due_on) for r in session.execute(
            select(c.case_id, c.kind, c.clock, c.due_on)
            .where(c.paused == false(), c.due_on < today, _clock_condition(sweep))
            .order_by(c.due_on, c.case_id)
        )]
        stages = [key for key, rule in STAGE_RULES.items() if rule.sweep == sweep]
        if stages:
            found += [Due(r.case_id, r.kind, f"stage:{r.stage}@{r.version}") for r in session.execute(
                select(i.case_id, i.kind, i.stage, i.version)
                .where(or_(*[and_(i.kind == kind, i.stage == stage) for kind, stage in stages]))
                .order_by(i.updated_at, i.case_id)
            )]
        if sweep == ESCALATION:
            found += _pending_reactions(session)
        done = _already_done(session, [d.command_id for d in found])
    return [d for d in found if d.command_id not in done]


def _pending_reactions(session: Session) -> list[Due]:
    """Negotiations that have not followed their rectification proposal's settled outcome: still waiting on it,
    or, once it was referred, in any stage a referral can find them in (back at the table after agreeing to
    rectify). The trigger names the proposal and the step, so each step has its own command id."""
    n, rp = case_index.alias("n"), case_index.alias("rp")
    referred = [stage for stage, step in FOLLOWS_STAGE.items() if step == "refer_to_inspectorate"]
    rows = session.execute(
        select(n.c.case_id, rp.c.case_id.label("proposal_id"), rp.c.stage.label("proposal_stage"))
        .join(rp, and_(rp.c.reference == n.c.number, rp.c.kind == "rectification_proposal"))
        .where(n.c.kind == "wage_negotiation",
               or_(and_(n.c.stage == "rectification_pending", rp.c.stage.in_(list(FOLLOWS_STAGE))),
                   and_(n.c.stage.in_(REFERABLE), rp.c.stage.in_(referred))))
        .order_by(n.c.case_id)
    )
    return [Due(r.case_id, "wage_negotiation", f"{REACTION}{r.proposal_id}@{FOLLOWS_STAGE[r.proposal_stage]}")
            for r in rows]


def _already_done(session: Session, command_ids: list[str], chunk: int = 500) -> set[str]:
    done: set[str] = set()
    for start in range(0, len(command_ids), chunk):
        part = command_ids[start:start + chunk]
        done.update(session.execute(select(command_log.c.command_id).where(command_log.c.command_id.in_(part)))
                    .scalars())
    return done


def business_date(cw: Casework) -> date:
    return cw.clock.now().astimezone(cw.settings.tz).date()


# -- acting ----------------------------------------------------------------------------------


def plan(uow: UnitOfWork, case: Case, due: Due) -> tuple[Case, str, dict[str, Any], str]:
    """The (case, action, parameters, reason) that `due` calls for, decided on the loaded case."""
    rule, ctx, session = due.rule, uow.ctx, uow.session
    if due.trigger.startswith(REACTION):
        proposal_id, _, listed_step = due.trigger[len(REACTION):].partition("@")
        proposal = uow.load(UUID(proposal_id))
        step = FOLLOWS_STAGE.get(proposal.stage)
        if step is None or listed_step not in ("", step) or following_negotiation(uow, proposal, step) is not case:
            raise NothingDue(f"{case.label} has nothing to follow in {proposal.number}'s outcome")
        return case, step, {}, WHY[step].format(number=proposal.number)
    if due.trigger.startswith("stage:"):
        stage = due.trigger[6:].partition("@")[0]
        if case.stage != stage:
            raise NothingDue(f"{case.label} has left stage {stage} (now {case.stage})")
    else:
        clock = case.clocks.get(due.trigger)
        if clock is None or clock.due_on != due.due_on or not clock.is_overdue(ctx.today):
            raise NothingDue(f"{case.label}: clock {due.trigger} due {due.due_on} is no longer overdue")
    if rule.step == ESCALATE:
        step = case.next_escalation(ctx.today)  # type: ignore[attr-defined]
        if step is None:
            if due.trigger == "proposal_reply":  # the enterprise's proposal awaits the union: tell supervisors
                return case, "raise_alert", {"clock": due.trigger, "notify": supervisors_of(session, case.org_unit)}, \
                    f"the union did not answer the enterprise's proposal by {due.due_on}"
            raise NothingDue(f"{case.label} has no escalation due")
        if ctx.policy.confirms(step.rung):
            return case, "propose_escalation", {}, f"{step.why}; awaiting a supervisor's confirmation"
        if step.action == "escalate_to_acting_offer":
            return case, step.action, {"acting_union": higher_union(session, case.org_unit)}, step.why
        return case, step.action, {"items": [default_rectification_item(ctx)]}, step.why
    why = rule.why.format(due_on=due.due_on, clock=due.trigger, item=due.trigger.removeprefix("item-"))
    if rule.step == "refer_to_inspectorate" and ctx.policy.confirms("referral"):
        trigger = "refused" if due.trigger.startswith("stage:") else due.trigger
        return case, "propose_referral", {"trigger": trigger}, f"{why}; awaiting a supervisor's confirmation"
    if rule.step == ALERT:
        return case, "raise_alert", {"clock": due.trigger, "notify": supervisors_of(session, case.org_unit)}, why
    return case, rule.step, {"bureau_confirmed": False} if rule.step == "take_effect" else {}, why


STATUS = {"propose_escalation": "proposed", "propose_referral": "proposed", "raise_alert": "alerted"}
BROKEN = "broken"


def apply_due(cw: Casework, due: Due, actor: Actor) -> Outcome:
    """Act on one `due` in one transaction; a step that no longer applies is skipped, not an error."""

    def work(uow: UnitOfWork) -> Case:
        case, action, data, reason = plan(uow, uow.load(due.case_id), due)
        uow.ctx = dataclasses.replace(uow.ctx, reason=reason)
        cw.apply(uow, case, action, data)
        return case

    try:
        result = cw.transact(actor, None, work, command_id=due.command_id)
    except VersionConflict:
        raise  # concurrent writers kept winning: fail the batch so it is retried
    except CaseIntegrityError as e:  # one corrupted case must not stop the sweep: leave it, name it, go on
        return broken_outcome(cw, due, e)
    except DomainError as e:  # nothing due any more, or a guard refused: the case moved on meanwhile
        return Outcome(due, "skipped", detail=str(e))
    status = "already_done" if result.replayed else STATUS.get(result.action, "applied")
    return Outcome(due, status, result.action, result.number, linked=[c["number"] for c in result.linked])


def broken_outcome(cw: Casework, due: Due, error: CaseIntegrityError) -> Outcome:
    """A due step that met a broken case. Not even an alert can be recorded on a case whose history cannot be
    trusted, so the outcome names the case, the version and the supervisors of its unit for the run to report."""
    with cw.read_transaction() as session:
        unit = session.execute(select(case_index.c.org_unit).where(case_index.c.case_id == error.case_id)).scalar()
        notify = supervisors_of(session, unit) if unit else []
    return Outcome(due, BROKEN, number=error.number if error.case_id == due.case_id else None, detail=str(error),
                   notify=notify)


def apply_all(cw: Casework, dues: Iterable[Due], actor: Actor) -> list[Outcome]:
    return [apply_due(cw, due, actor) for due in dues]


def batches(items: list[Due], size: int) -> Iterator[list[Due]]:
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_sweep(cw: Casework, sweep: str, actor: Actor, *, today: date | None = None, batch_size: int = 200,
              on_batch: Callable[[list[Outcome]], None] | None = None) -> SweepReport:
    """List and act on everything due, batch by batch (the command line's sweep; flows batch as tasks)."""
    today = today or business_date(cw)
    dues = list_due(cw, sweep, today)
    report = SweepReport(sweep, today, found=len(dues))
    for part in batches(dues, batch_size):
        outcomes = apply_all(cw, part, actor)
        report.add(outcomes)
        if on_batch:
            on_batch(outcomes)
    return report
