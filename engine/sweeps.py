"""Level-triggered sweeps: what the scheduler does about every clock that ran out.

A sweep lists, from the read model, every open clock past due (the `open_clocks` index on
(paused, due_on) keeps the cost with what is overdue, not with what is open) and every stage
that calls for a next step by itself (a refused offer, a refused rectification proposal, a
proposal whose outcome the negotiation has not followed yet). Each becomes one engine command
whose id is derived from the case, the trigger and the due date, so a late, repeated, retried
or concurrent sweep changes nothing twice: the command log answers a repeated id, and the
stage tables refuse a step that has already happened.

Two sweeps share this module: `escalation` (the negotiation ladder and the cross-case
reactions) and `legal` (every other legal clock: docs/domain.md, "Legal clocks").
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
from engine.case_types import Planned
from engine.case_types import wage_negotiation as ladder
from engine.errors import CaseIntegrityError, NothingDue, VersionConflict
from engine.organisation import supervisors_of
from engine.tables import case_index, command_log, open_clocks
from engine.unit_of_work import UnitOfWork

if TYPE_CHECKING:
    from engine.service import Actor, Casework

ESCALATION, LEGAL = "escalation", "legal"
SWEEPS = (ESCALATION, LEGAL)
ALERT = "alert"
"""A step that is not an action of the case type: an alert to supervisors."""
StepPlanner = Callable[[UnitOfWork, Case, str | None, date | None], Planned]
"""Decides the step on the loaded case, given the clock that ran out (None: the stage called for it) and its due
date: the negotiation's next rung (engine/case_types/wage_negotiation.py)."""
ESCALATE: StepPlanner = ladder.next_rung


@dataclass(frozen=True)
class Rule:
    """What a sweep does when a clock runs out (or a case sits in a stage): `step` is an action name, ALERT, or a
    StepPlanner; `why` becomes the event's reason ({due_on}, {clock} and {item} are filled in)."""

    sweep: str
    step: str | StepPlanner
    why: str = ""


CLOCK_RULES: dict[tuple[str, str], Rule] = {
    ("wage_negotiation", "reply"): Rule(ESCALATION, ESCALATE),
    ("wage_negotiation", "proposal_reply"): Rule(ESCALATION, ESCALATE),
    ("labor_dispute", "acceptance"): Rule(
        LEGAL, ALERT, "the application was neither accepted nor declined by {due_on} (3 working days)"
    ),
    ("labor_dispute", "mediation"): Rule(
        LEGAL, "deem_failed", "mediation did not end by {due_on}: deemed failed (视为调解不成)"
    ),
    ("labor_dispute", "performance"): Rule(
        LEGAL, ALERT, "the mediation agreement was not confirmed as performed by {due_on}"
    ),
    ("wage_negotiation", "filing"): Rule(
        LEGAL, ALERT, "the signed contract was not filed with the labor bureau by {due_on}"
    ),
    ("wage_negotiation", "objection"): Rule(
        LEGAL, "take_effect", "the labor bureau raised no objection by {due_on}: the contract is in effect"
    ),
    ("wage_negotiation", "renewal"): Rule(
        LEGAL, "mark_expiring", "the contract's term is ending: the renewal offer was due by {due_on}"
    ),
    ("wage_negotiation", "term_end"): Rule(
        LEGAL, ALERT, "the contract's term ended on {due_on}: conclude it or renew it"
    ),
    ("rectification_proposal", "reply"): Rule(
        LEGAL, "refer_to_inspectorate", "the enterprise did not reply to the rectification proposal by {due_on}"
    ),
    ("rectification_proposal", "item-*"): Rule(
        LEGAL, "refer_to_inspectorate", "item {item} was not rectified by its deadline {due_on}"
    ),
    ("hardship", "verification"): Rule(LEGAL, ALERT, "the home visit (入户核实) was not recorded by {due_on}"),
    ("hardship", "review"): Rule(LEGAL, ALERT, "the annual review (动态管理) was due on {due_on}"),
}
STAGE_RULES: dict[tuple[str, str], Rule] = {
    ("wage_negotiation", "offer_refused"): Rule(ESCALATION, ESCALATE),
    ("rectification_proposal", "refused"): Rule(
        LEGAL, "refer_to_inspectorate", "the enterprise refused to rectify (拒绝整改)"
    ),
}


def clock_rule(kind: str, clock: str) -> Rule | None:
    return CLOCK_RULES.get((kind, clock)) or (CLOCK_RULES.get((kind, "item-*")) if clock.startswith("item-") else None)


# -- triggers: what a sweep acts on, each with the key its command ids are made of (stored: never change one) --

STAGE, REACTION = "stage:", "reaction:"


@dataclass(frozen=True)
class ClockRanOut:
    """An open clock past its due date (the date is the Due's)."""

    clock: str

    def key(self) -> str:
        return self.clock

    __str__ = key


@dataclass(frozen=True)
class InStage:
    """A stage that calls for a step by itself, as the case stood at `version` (a case that leaves the stage and
    comes back is due again)."""

    stage: str
    version: int

    def key(self) -> str:
        return f"{STAGE}{self.stage}@{self.version}"

    __str__ = key


@dataclass(frozen=True)
class FollowUp:
    """Another case's settled outcome that the case has not followed yet (a negotiation's rectification
    proposal): that case and the step its outcome calls for (None in ids recorded before the step was named)."""

    source_id: UUID
    step: str | None = None

    def key(self) -> str:
        return f"{REACTION}{self.source_id}" + (f"@{self.step}" if self.step else "")

    __str__ = key


Trigger = ClockRanOut | InStage | FollowUp
FOLLOW_UP = Rule(ESCALATION, "follow_up")


def trigger_from_key(key: str) -> Trigger:
    """The trigger whose `key()` is `key` (a Due passes between flow tasks as JSON)."""
    if key.startswith(STAGE):
        stage, _, version = key.removeprefix(STAGE).rpartition("@")
        return InStage(stage, int(version))
    if key.startswith(REACTION):
        source, _, step = key.removeprefix(REACTION).partition("@")
        return FollowUp(UUID(source), step or None)
    return ClockRanOut(key)


@dataclass(frozen=True)
class Due:
    """One thing a sweep found: a clock past due, a stage that calls for a step, or an outcome to follow."""

    case_id: UUID
    kind: str
    trigger: Trigger
    due_on: date | None = None

    @property
    def command_id(self) -> str:
        return f"sweep/{self.case_id}/{self.trigger.key()}/{self.due_on.isoformat() if self.due_on else '-'}"

    @property
    def rule(self) -> Rule:
        match self.trigger:
            case FollowUp():
                return FOLLOW_UP
            case InStage(stage=stage):
                return STAGE_RULES[(self.kind, stage)]
            case ClockRanOut(clock=clock):
                rule = clock_rule(self.kind, clock)
                assert rule is not None, clock
                return rule

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": str(self.case_id),
            "kind": self.kind,
            "trigger": self.trigger.key(),
            "due_on": self.due_on.isoformat() if self.due_on else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Due:
        return cls(
            UUID(data["case_id"]),
            data["kind"],
            trigger_from_key(data["trigger"]),
            date.fromisoformat(data["due_on"]) if data.get("due_on") else None,
        )


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
        return {
            "case": self.number or str(self.due.case_id),
            "trigger": self.due.trigger.key(),
            "status": self.status,
            "action": self.action,
            "detail": self.detail,
            "linked": self.linked,
            "notify": self.notify,
        }


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
    terms = [
        and_(c.kind == kind, c.clock.like("item-%") if clock == "item-*" else c.clock == clock)
        for (kind, clock), rule in CLOCK_RULES.items()
        if rule.sweep == sweep
    ]
    return or_(*terms)


def list_due(cw: Casework, sweep: str, today: date | None = None) -> list[Due]:
    """Everything `sweep` should act on as of `today` (default: the engine's business date),
    oldest due date first, leaving out what an earlier run already did."""
    if sweep not in SWEEPS:
        raise ValueError(f"unknown sweep {sweep!r}; known: {', '.join(SWEEPS)}")
    today = today or business_date(cw)
    c, i = open_clocks.c, case_index.c
    with cw.read_transaction() as session:
        found = [
            Due(r.case_id, r.kind, ClockRanOut(r.clock), r.due_on)
            for r in session.execute(
                select(c.case_id, c.kind, c.clock, c.due_on)
                .where(c.paused == false(), c.due_on < today, _clock_condition(sweep))
                .order_by(c.due_on, c.case_id)
            )
        ]
        stages = [key for key, rule in STAGE_RULES.items() if rule.sweep == sweep]
        if stages:
            found += [
                Due(r.case_id, r.kind, InStage(r.stage, r.version))
                for r in session.execute(
                    select(i.case_id, i.kind, i.stage, i.version)
                    .where(or_(*[and_(i.kind == kind, i.stage == stage) for kind, stage in stages]))
                    .order_by(i.updated_at, i.case_id)
                )
            ]
        if sweep == ESCALATION:
            found += [
                Due(negotiation, ladder.KIND, FollowUp(proposal, step))
                for negotiation, proposal, step in ladder.unfollowed_outcomes(session)
            ]
        done = _already_done(session, [d.command_id for d in found])
    return [d for d in found if d.command_id not in done]


def _already_done(session: Session, command_ids: list[str], chunk: int = 500) -> set[str]:
    done: set[str] = set()
    for start in range(0, len(command_ids), chunk):
        part = command_ids[start : start + chunk]
        done.update(
            session.execute(select(command_log.c.command_id).where(command_log.c.command_id.in_(part))).scalars()
        )
    return done


def business_date(cw: Casework) -> date:
    return cw.clock.now().astimezone(cw.settings.tz).date()


# -- acting ----------------------------------------------------------------------------------


def plan(uow: UnitOfWork, case: Case, due: Due) -> Planned:
    """The step `due` calls for, decided on the loaded case; NothingDue if it calls for none any more."""
    rule, ctx, session, trigger = due.rule, uow.ctx, uow.session, due.trigger
    match trigger:
        case FollowUp(source_id=source_id, step=listed_step):
            return ladder.follow_up(uow, case, source_id, listed_step)
        case InStage(stage=stage):
            if case.stage != stage:
                raise NothingDue(f"{case.label} has left stage {stage} (now {case.stage})")
            clock_name = None
        case ClockRanOut(clock=clock_name):
            clock = case.clocks.get(clock_name)
            if clock is None or clock.due_on != due.due_on or not clock.is_overdue(ctx.today):
                raise NothingDue(f"{case.label}: clock {clock_name} due {due.due_on} is no longer overdue")
    if callable(rule.step):
        return rule.step(uow, case, clock_name, due.due_on)
    key = trigger.key()
    why = rule.why.format(due_on=due.due_on, clock=key, item=key.removeprefix("item-"))
    if rule.step == "refer_to_inspectorate" and ctx.policy.confirms("referral"):
        return Planned(
            "propose_referral", {"trigger": clock_name or "refused"}, f"{why}; awaiting a supervisor's confirmation"
        )
    if rule.step == ALERT:
        return Planned("raise_alert", {"clock": key, "notify": supervisors_of(session, case.org_unit)}, why)
    return Planned(rule.step, {"bureau_confirmed": False} if rule.step == "take_effect" else {}, why)


STATUS = {"propose_escalation": "proposed", "propose_referral": "proposed", "raise_alert": "alerted"}
BROKEN = "broken"


def apply_due(cw: Casework, due: Due, actor: Actor) -> Outcome:
    """Act on one `due` in one transaction; a step that no longer applies is skipped, not an error."""

    def work(uow: UnitOfWork) -> Case:
        case = uow.load(due.case_id)
        step = plan(uow, case, due)
        uow.ctx = dataclasses.replace(uow.ctx, reason=step.reason)
        cw.apply(uow, case, step.action, step.data)
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
    return Outcome(
        due, BROKEN, number=error.number if error.case_id == due.case_id else None, detail=str(error), notify=notify
    )


def apply_all(cw: Casework, dues: Iterable[Due], actor: Actor) -> list[Outcome]:
    return [apply_due(cw, due, actor) for due in dues]


def batches(items: list[Due], size: int) -> Iterator[list[Due]]:
    if size < 1:
        raise ValueError("batch size must be at least 1")
    for start in range(0, len(items), size):
        yield items[start : start + size]


def run_sweep(
    cw: Casework,
    sweep: str,
    actor: Actor,
    *,
    today: date | None = None,
    batch_size: int = 200,
    on_batch: Callable[[list[Outcome]], None] | None = None,
) -> SweepReport:
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
