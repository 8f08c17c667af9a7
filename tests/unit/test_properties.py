"""Property-based tests: random command sequences never break an invariant, and replay gives the live state.

For each of the four case types a hypothesis state machine opens one case with valid data, then
repeatedly draws an action from the whole stage table (not only the allowed ones, so refusals are
exercised), a role, an actor, a number of days to move the business clock (0-40), a reason or none,
now and then a back-dated or future `occurred_at`, and arguments for that action: mostly valid ones,
sometimes wrong ones (wrong side, negative or huge amounts, unknown item numbers, dates in the past or
the future, datetimes where a date is expected, missing text).

Every command must either record exactly one event or raise ActionNotAllowed / InvalidCommand;
any other exception is a bug. After each step:

- a refused command changed nothing (the case's state and its pending events are as before);
- a successful command appended exactly one event of that action, the version rose by one, the
  event's prev_hash is the previous head, the head is the event's hash, and event_hash recomputed
  over the event's fields gives that hash;
- it ran in a stage the table allows, by a role the table allows, with a reason when one is required,
  and led to one of its targets (or stayed put when it has none);
- in a terminal stage nothing is allowed, every command (with drawn arguments) is refused and no
  clock is open; every open clock is due on or after the day it started;
- per type: mediation extended at most once (LaborDispute); the escalation ladder never goes down and
  stays <= 2 (WageNegotiation); rectified only when every item passed, and a passed item stays passed
  (RectificationProposal); per-year totals per aid type within the policy's annual caps, and the
  supervisor who registered the case did not verify it (HardshipCase);
- replay(case), rebuilt from every event, equals the live case.

Listed means accepted (the web workspace draws `allowed_actions` as buttons): a command for an action
the case does not list for that role and moment is refused with ActionNotAllowed, whatever its
arguments; and a `probe` rule takes the case as the walk left it, in whatever stage, and for every
role runs each action the stage table lets it run there on a copy, with valid arguments for the
case's current state (the VALID builders): each listed action is accepted, each unlisted one refused
as not allowed.

The four machines take tens of seconds each and are marked slow: `pytest -m "not slow"` leaves them out.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, precondition, rule

from aggregates.base import DEFAULT_TZ, Case
from aggregates.chain import GENESIS, event_hash
from aggregates.errors import ActionNotAllowed, DomainError, InvalidCommand
from aggregates.hardship import AID_TYPES, CATEGORIES, HardshipCase
from aggregates.labor_dispute import CLAIM_CATEGORIES, LaborDispute
from aggregates.policy import DEFAULT_POLICY
from aggregates.rectification import ITEM_CATEGORIES, RectificationProposal, item_clock
from aggregates.stages import ROLES
from aggregates.wage_negotiation import LADDER_RECTIFICATION, WageNegotiation
from tests.unit.support import Desk, replay
from tests.unit.test_every_case_type import COMMON  # the actions every case type shares

PROFILE = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    # The explain phase re-runs a failure hundreds of times; the shrunk script is explanation enough.
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# The fields an event records (and its hash covers): its annotations, less the hash and any class variable.
EVENT_FIELDS = tuple(
    name
    for name, hint in Case.Event.__annotations__.items()
    if name != "hash" and not str(hint).startswith(("ClassVar", "typing.ClassVar"))
)
OTHER_CASES = (UUID(int=1), UUID(int=2), UUID(int=3))
HUGE = "1e30"  # a number too large to quantize to cents
ADVANCE_DAYS = (0, 0, 0, 1, 3, 7, 15, 16, 30, 40)


class Pick:
    """Draws from hypothesis' `data` with short labels, so a failing example reads like a script."""

    def __init__(self, data: st.DataObject) -> None:
        self.data = data

    def __call__(self, options: Sequence[Any], label: str) -> Any:
        return self.data.draw(st.sampled_from(list(options)), label=label)

    def int(self, lo: int, hi: int, label: str) -> int:
        return self.data.draw(st.integers(lo, hi), label=label)

    def either(self, valid: Sequence[Any], invalid: Sequence[Any], label: str) -> Any:
        """Mostly (about 3 in 4) one of `valid`, otherwise one of `invalid`; shrinks towards valid[0]."""
        if not invalid:
            return self(valid, label)
        copies = max(1, math.ceil(3 * len(invalid) / len(valid)))
        return self([*valid] * copies + [*invalid], label)


def at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=DEFAULT_TZ)


Builder = Callable[[Pick, Any, date], dict[str, Any]]


def state_of(case: Case) -> dict[str, Any]:
    return {k: v for k, v in case.__dict__.items() if k != "_pending_events"}


def clone(case: Case) -> Any:
    """A copy of the case to try a command on, without its recorded events (cheap, and the copy's own are new)."""
    return copy.deepcopy(case, {id(case._pending_events): []})


Valid = Callable[[Any, date], dict[str, Any]]
"""Arguments an action accepts in the case's current state, on the given business date."""


def no_args(pick: Pick, case: Case, today: date) -> dict[str, Any]:
    return {}


def required_text(pick: Pick, valid: str, label: str) -> str | None:
    return pick.either((valid,), ("", "   ", None), label)


# -- argument builders for the common actions ---------------------------------------------


def common_builders(clock_names: Sequence[str]) -> dict[str, Builder]:
    def clock(pick: Pick, case: Case) -> str:
        return pick.either(list(case.clocks) or list(clock_names), (*clock_names, "no-such-clock"), "clock")

    def assign(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        return {"assignee": pick.either(("caseworker-3", "mediator-2"), ("", "   "), "assignee")}

    def add_note(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        return {"text": pick.either(("called the employer",), ("", "  "), "text")}

    def link_case(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        linked = [link["case_id"] for link in case.links]
        return {
            "case_id": pick.either(OTHER_CASES, (case.id, *linked), "case_id"),
            "number": pick(("LD-2026-000009", "RP-2026-000002"), "number"),
            "kind": pick(("labor_dispute", "rectification_proposal"), "kind"),
            "relation": pick(("related", "follow_up"), "relation"),
        }

    def pause_or_resume(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        return {"clock": clock(pick, case)}

    def extend_clock(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        name = clock(pick, case)
        current = case.clocks.get(name)
        base = current.due_on if current else today
        shape = pick.either(("days", "due_on"), ("both", "neither"), "extend.shape")
        kwargs: dict[str, Any] = {"clock": name}
        if shape in ("days", "both"):
            kwargs["days"] = pick.either((1, 10, 366), (0, -3, 367, True), "days")
        if shape in ("due_on", "both"):
            kwargs["due_on"] = pick.either(
                (base + timedelta(days=5),),
                (base, base - timedelta(days=1), at_nine(base + timedelta(days=5))),
                "due_on",
            )
        return kwargs

    def raise_alert(pick: Pick, case: Case, today: date) -> dict[str, Any]:
        return {
            "clock": clock(pick, case),
            "notify": pick.either(
                ((), ("supervisor-1",), ["mediator-2", " supervisor-1 "]),
                ("supervisor-1", [""], ["  "], [None], [7]),
                "notify",
            ),
        }

    return {
        "assign": assign,
        "add_note": add_note,
        "link_case": link_case,
        "pause_clock": pause_or_resume,
        "resume_clock": pause_or_resume,
        "extend_clock": extend_clock,
        "raise_alert": raise_alert,
    }


def common_valid() -> dict[str, Valid]:
    """Valid arguments for the common actions in the case's current state (a clock the action can act on)."""

    def first_clock(case: Case, fits: Callable[[Any], bool]) -> str:
        return next((name for name, c in case.clocks.items() if fits(c)), "no-such-clock")

    return {
        "assign": lambda case, today: {"assignee": "caseworker-3"},
        "add_note": lambda case, today: {"text": "called the employer"},
        "link_case": lambda case, today: {
            "case_id": UUID(int=9000 + case.version),
            "number": "LD-2026-000009",
            "kind": "labor_dispute",
            "relation": "related",
        },
        "pause_clock": lambda case, today: {"clock": first_clock(case, lambda c: c.paused_on is None)},
        "resume_clock": lambda case, today: {"clock": first_clock(case, lambda c: c.paused_on is not None)},
        "extend_clock": lambda case, today: {
            "clock": first_clock(case, lambda c: c.name not in case.DEDICATED_EXTENSIONS),
            "days": 10,
        },
        "raise_alert": lambda case, today: {
            "clock": first_clock(case, lambda c: c.is_overdue(today) and not case.alerted(c)),
            "notify": ["supervisor-1"],
        },
    }


def takes_nothing(case: Any, today: date) -> dict[str, Any]:
    return {}


# -- the machine every case type shares -------------------------------------------------------------


class CaseMachine(RuleBasedStateMachine):
    """Opens one case, then runs random commands and checks every invariant after each."""

    CASE: type[Case]
    BUILDERS: dict[str, Builder]
    VALID: dict[str, Valid]

    def __init__(self) -> None:
        super().__init__()
        self.desk = Desk()
        self.case: Any = None
        self.swept_terminal = False
        self.settled = False  # the last rule ran to its end (else teardown would mask its failure)
        self.steps_since_probe = 0

    # -- hooks -------------------------------------------------------------------------------

    def open(self, pick: Pick) -> Case:
        raise NotImplementedError

    def check_type_invariants(self, before: dict[str, Any] | None) -> None:
        """Invariants of one case type; `before` is the state before the step (None right after opening)."""

    def recorded_action(self, name: str) -> str:
        """The action whose event `name` records when it succeeds (asked before it runs): itself, by default."""
        return name

    # -- rules -------------------------------------------------------------------------------

    @initialize(data=st.data())
    def open_case(self, data: st.DataObject) -> None:
        self.settled = False
        self.case = self.open(Pick(data))
        events = self.case.pending_events
        assert len(events) == 1
        assert events[0].prev_hash == GENESIS
        assert events[0].originator_version == self.case.version
        assert self.case.head_hash == events[0].hash
        assert self.case.stage == self.CASE.TABLE.initial
        self.check_event(events[0])
        self.check_state(None)
        self.check_replay()
        self.settled = True

    @rule(data=st.data())
    def step(self, data: st.DataObject) -> None:
        self.settled = False
        self.steps_since_probe += 1
        pick = Pick(data)
        table = self.CASE.TABLE
        commands = [name for name, a in table.commands.items() if not a.creates]
        if table.is_terminal(self.case.stage):
            if not self.swept_terminal:
                # In a terminal stage every command is refused: try each one, by any role, with drawn arguments.
                self.swept_terminal = True
                for name in commands:
                    ctx = self.desk.ctx(pick(ROLES, "role"), reason="closing remarks")
                    self.run(name, ctx, self.BUILDERS[name](pick, self.case, ctx.today))
            self.settled = True
            return
        allowed = self.case.allowed_actions()
        # Mostly move the case along (so deep stages are reached), sometimes anything the stage allows,
        # sometimes any action of the table at all (refusals). Moving along: an action of this case type
        # that stays put or leads to an open stage no earlier in the table's order.
        order = list(table.stages)
        here = order.index(self.case.stage)
        forward = [
            name
            for name in allowed
            if name not in COMMON
            and (
                not table.actions[name].targets
                or any(not table.is_terminal(t) and order.index(t) >= here for t in table.actions[name].targets)
            )
        ]
        mode = pick(("forward", "forward", "allowed", "any"), "mode")
        if mode == "forward" and forward:
            name = pick(forward, "action")
        elif mode == "any":
            name = pick(commands, "action")
        else:
            name = pick(allowed, "action")
        a = table.actions[name]
        role = pick.either(sorted(a.roles), ROLES, "role")
        actor = pick((f"{role}-1", f"{role}-2"), "actor")
        self.desk.advance(days=pick(ADVANCE_DAYS, "advance_days"))
        occurred_at = None
        when = pick(("now", "now", "now", "now", "back", "future"), "occurred_at")
        if when == "back":
            occurred_at = self.desk.now - timedelta(days=pick((0, 1, 5, 30, 31, 40), "back_days"))
        elif when == "future":
            occurred_at = self.desk.now + timedelta(hours=1)
        reason = pick.either(("the parties agreed in writing",), (None, "", "   "), "reason")
        ctx = self.desk.ctx(role, actor=actor, reason=reason, occurred_at=occurred_at)
        self.run(name, ctx, self.BUILDERS[name](pick, self.case, ctx.today))
        self.settled = True

    @precondition(lambda self: self.steps_since_probe >= 2)  # mostly walk, so that deep stages are reached
    @rule(data=st.data())
    def probe(self, data: st.DataObject) -> None:
        """For every role now, each action the stage table lets that role run in this stage: listed, it runs with
        valid arguments; not listed (its state guard says no), it is refused as not allowed."""
        self.settled = False
        self.steps_since_probe = 0
        pick = Pick(data)
        stage, version = self.case.stage, self.case.version
        for role in ROLES:
            ctx = self.desk.ctx(role, actor=pick((f"{role}-1", f"{role}-2"), "probe.actor"), reason="because")
            listed = self.case.allowed_actions(role, ctx.now)
            for name in self.CASE.TABLE.allowed(stage, role):
                trial = clone(self.case)
                kwargs = self.VALID[name](trial, ctx.today)
                if name in listed:
                    try:
                        getattr(trial, name)(ctx, **kwargs)
                    except DomainError as e:
                        raise AssertionError(
                            f"{name} is listed for {role} in {stage} but refused {kwargs}: {e!r}"
                        ) from e
                    assert trial.version == version + 1, f"{name} was accepted but recorded nothing"
                    tally(f"probe: listed {name} accepted")
                else:
                    with pytest.raises(ActionNotAllowed):
                        getattr(trial, name)(ctx, **kwargs)
                    assert trial.version == version
                    tally(f"probe: unlisted {name} refused")
        self.settled = True

    # -- running one command -----------------------------------------------------------------

    def run(self, name: str, ctx: Any, kwargs: dict[str, Any]) -> None:
        case = self.case
        table = self.CASE.TABLE
        a = table.actions[name]
        before = copy.deepcopy(state_of(case))
        stage, version, head, updated_at = case.stage, case.version, case.head_hash, case.updated_at
        n_events = len(case.pending_events)
        was_terminal = table.is_terminal(stage)
        recorded = table.actions[self.recorded_action(name)]
        listed = name in case.allowed_actions(ctx.actor_role, ctx.now)
        try:
            getattr(case, name)(ctx, **kwargs)
        except DomainError as e:
            tally(f"refused {type(e).__name__}")
            assert isinstance(e, (ActionNotAllowed, InvalidCommand)), f"unexpected DomainError {type(e)}"
            # An action the case does not list now is refused as not allowed, whatever was sent with it.
            assert listed or isinstance(e, ActionNotAllowed), f"unlisted {name} in {stage} refused with {e!r}"
            # A refused command changed nothing.
            assert len(case.pending_events) == n_events, f"{name} was refused but recorded an event"
            assert state_of(case) == before, f"{name} was refused ({e}) but changed the case"
            if was_terminal or not table.runs_in(a, stage) or ctx.actor_role not in a.roles:
                assert isinstance(e, ActionNotAllowed), f"{name} in {stage} by {ctx.actor_role}: {e!r}"
            self.check_state(before)
            return
        tally(f"ok {name}")
        assert listed, f"{name} ran in {stage} by {ctx.actor_role} but was not listed as allowed"
        # A successful command appended exactly one event, chained to the previous head.
        assert not was_terminal, f"{name} succeeded in terminal stage {stage}"
        assert len(case.pending_events) == n_events + 1
        assert case.version == version + 1
        event = case.pending_events[-1]
        assert type(event).ACTION == recorded.name, f"{name} recorded {type(event).__name__}"
        assert event.originator_version == case.version
        assert event.prev_hash == head
        assert case.head_hash == event.hash
        # It ran where the table allows, by a role the table allows, with a reason when one is required...
        # (An action that applies another one, like confirm_escalation, must also satisfy that one's row.)
        for row in {a, recorded}:
            assert table.runs_in(row, stage), f"{row.name} ran in stage {stage}"
            assert ctx.actor_role in row.roles, f"{row.name} ran by role {ctx.actor_role}"
        if a.reason_required:
            assert ctx.reason and ctx.reason.strip(), f"{name} ran without a reason"
        if recorded.reason_required:
            assert event.reason and event.reason.strip(), f"{type(event).__name__} was recorded without a reason"
        # ...and led where the table says.
        if recorded.targets:
            assert case.stage in recorded.targets, f"{name} led to {case.stage}, not one of {recorded.targets}"
        else:
            assert case.stage == stage, f"{name} has no target but moved {stage} -> {case.stage}"
        assert event.stage == case.stage
        assert updated_at <= event.occurred_at <= event.timestamp
        self.check_event(event)
        self.check_state(before)
        self.check_replay()

    # -- checks ----------------------------------------------------------------------------------

    def check_event(self, event: Case.Event) -> None:
        fields = {
            "originator_id": event.originator_id,
            "originator_version": event.originator_version,
            "timestamp": event.timestamp,
            **{k: getattr(event, k) for k in EVENT_FIELDS},
        }
        assert event_hash(type(event).__qualname__, fields) == event.hash, "event hash does not match its fields"

    def check_state(self, before: dict[str, Any] | None) -> None:
        case = self.case
        table = self.CASE.TABLE
        assert case.stage in table.stages
        for name, clock in case.clocks.items():
            assert clock.name == name
            assert clock.due_on >= clock.started_on, f"clock {name} is due {clock.due_on} before it started"
            if clock.paused_on is not None:
                assert clock.paused_on >= clock.started_on
        if table.is_terminal(case.stage):
            assert not case.is_open
            assert case.clocks == {}, f"clocks {sorted(case.clocks)} still open in terminal stage {case.stage}"
            assert case.allowed_actions() == []
            for role in ROLES:
                assert case.allowed_actions(role) == []
                for name, a in table.commands.items():
                    if not a.creates:
                        with pytest.raises(ActionNotAllowed):
                            table.check(case.label, case.stage, name, role)
        else:
            assert case.is_open
        # At most one alert per clock and due date; the deadline_alert flag shows exactly while one is active.
        alert_keys = [(x["clock"], x["due_on"]) for x in case.alerts]
        assert len(alert_keys) == len(set(alert_keys)), f"an alert was raised twice: {alert_keys}"
        for x in case.alerts:
            assert x["due_on"] < x["raised_at"].astimezone(DEFAULT_TZ).date(), "alert raised before the clock ran out"
        expected_flags = [*case.flags(), *(["deadline_alert"] if case.active_alerts else [])]
        assert case.all_flags() == expected_flags
        self.check_type_invariants(before)

    def check_replay(self) -> None:
        rebuilt = replay(self.case)
        assert type(rebuilt) is type(self.case)
        assert state_of(rebuilt) == state_of(self.case), "replaying the events does not give the live state"

    def teardown(self) -> None:
        if self.case is None or not self.settled:
            return
        self.check_replay()
        events = self.case.pending_events
        for previous, event in zip(events, events[1:], strict=False):
            assert event.prev_hash == previous.hash
            assert event.originator_version == previous.originator_version + 1
        tally(f"final stage {self.case.stage}")


# -- LaborDispute ----------------------------------------------------------------------------------


def ld_start_mediation(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"mediator": required_text(pick, "mediator-7", "mediator")}


def ld_record_session(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {
        "held_on": pick.either(
            (today, today - timedelta(days=3)), (today + timedelta(days=1), at_nine(today), None), "held_on"
        ),
        "summary": required_text(pick, "both sides heard", "summary"),
        "attendees": pick(((), ("Wang Fang", "HR manager")), "attendees"),
    }


def ld_extend_mediation(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {
        "parties_consent": pick.either((True,), (False, None, "yes"), "parties_consent"),
        "days": pick.either((None, 1, 15), (0, -3, 400, True), "days"),
    }


def ld_reach_agreement(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {
        "terms": required_text(pick, "employer pays arrears in two instalments", "terms"),
        "amounts": pick.either(
            (None, {}, {"wages": "5200.50", "overtime": 800}),
            ({"wages": "-1"}, {"wages": "lots"}, {"wages": "NaN"}, {"wages": HUGE}),
            "amounts",
        ),
        "performance_due": pick.either(
            (today, today + timedelta(days=30)), (today - timedelta(days=1), at_nine(today), None), "performance_due"
        ),
    }


class LaborDisputeMachine(CaseMachine):
    CASE = LaborDispute
    BUILDERS = {
        **common_builders(("acceptance", "mediation", "performance")),
        "accept": no_args,
        "decline": no_args,
        "start_mediation": ld_start_mediation,
        "record_session": ld_record_session,
        "extend_mediation": ld_extend_mediation,
        "reach_agreement": ld_reach_agreement,
        "confirm_performance": no_args,
        "fail_mediation": no_args,
        "deem_failed": no_args,
        "refer_to_arbitration": no_args,
        "withdraw": no_args,
    }
    VALID = {
        **common_valid(),
        **dict.fromkeys(
            (
                "accept",
                "decline",
                "confirm_performance",
                "fail_mediation",
                "deem_failed",
                "refer_to_arbitration",
                "withdraw",
            ),
            takes_nothing,
        ),
        "start_mediation": lambda case, today: {"mediator": "mediator-7"},
        "record_session": lambda case, today: {"held_on": today, "summary": "both sides heard"},
        "extend_mediation": lambda case, today: {"parties_consent": True},
        "reach_agreement": lambda case, today: {"terms": "employer pays arrears", "performance_due": today},
    }

    def open(self, pick: Pick) -> Case:
        applicants = [
            {"name": f"Worker {i}", "id_number": f"32050119900101{i:03d}" + "642"[i - 1]}
            for i in range(1, pick.int(1, 3, "applicants") + 1)
        ]
        claims = [
            {
                "category": pick(CLAIM_CATEGORIES, "claim.category"),
                "amount": pick(("0", "800", "5200.5", 1200), "claim.amount"),
            }
            for _ in range(pick.int(1, 3, "claims"))
        ]
        role = pick(("mediator", "supervisor", "caseworker"), "open.role")
        return LaborDispute.file(
            self.desk.ctx(role),
            case_id=uuid4(),
            number="LD-2026-000001",
            org_unit="suzhou-industrial-park",
            employer={"name": "Suzhou Precision Parts Co.", "credit_code": "91320594MA1XXXXXXH"},
            applicants=applicants,
            workers_involved=len(applicants) + pick.int(0, 20, "more_workers"),
            claims=claims,
            summary="unpaid wages",
        )

    def check_type_invariants(self, before: dict[str, Any] | None) -> None:
        case = self.case
        extensions = [e for e in case.pending_events if type(e).ACTION == "extend_mediation"]
        assert len(extensions) <= 1, "mediation was extended more than once"
        assert case.mediation_extended == bool(extensions)
        mediation = case.clocks.get("mediation")
        if mediation is not None:
            assert mediation.extensions <= 1


TestLaborDisputeProperties = pytest.mark.slow(LaborDisputeMachine.TestCase)
TestLaborDisputeProperties.settings = PROFILE


# -- WageNegotiation -------------------------------------------------------------------------------

SIDES = ("union", "enterprise")


def wn_escalate(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"acting_union": required_text(pick, "苏州市总工会", "acting_union")}


def wn_issue_rectification(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    linked = [link["case_id"] for link in case.links]
    fresh = UUID(int=1000 + case.version)
    return {
        "rectification_case_id": pick.either((fresh,), (case.id, "not-a-uuid", None, *linked), "rp_case_id"),
        "rectification_number": required_text(pick, "RP-2026-000001", "rp_number"),
    }


def wn_confirm_escalation(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    """The pending step's own arguments (sometimes wrong ones); with nothing pending, any of them."""
    pending = case.pending_escalation
    if pending is not None and pending["action"] == "escalate_to_acting_offer":
        return wn_escalate(pick, case, today)
    if pending is not None:
        return wn_issue_rectification(pick, case, today)
    return pick(
        (
            {},
            {"acting_union": "苏州市总工会"},
            {"rectification_case_id": UUID(int=1000 + case.version), "rectification_number": "RP-2026-000001"},
        ),
        "confirm.args",
    )


def wn_submit_proposal(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {
        "side": pick.either(SIDES, ("government", None), "side"),
        "wage_increase_pct": pick.either(
            ("5", "3.5", 0, -2, 100), ("-150", "150", "abc", None, True, "Infinity", HUGE), "pct"
        ),
        "minimum_wage": pick.either((None, "2490", 2600), ("0", "-1", "x", HUGE), "minimum_wage"),
        "other_terms": pick.either(("", "meal subsidy", None), (5,), "other_terms"),
    }


def wn_accept_proposal(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    last = case.open_proposal
    valid = [s for s in SIDES if last is None or s != last["side"]]
    return {"side": pick.either(valid, ("government", *SIDES), "side")}


def wn_request_coordination(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"authority": required_text(pick, "姑苏区人社局", "authority")}


def wn_approve_by_congress(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    votes_for, votes_against, representatives = pick.either(
        ((40, 10, 60), (31, 0, 60), (1, 0, 1)),
        ((30, 0, 60), (50, 20, 60), (-1, 0, 60), (True, 0, 1), ("40", 0, 60), (1, 0, 0), (40, -1, 60)),
        "votes",
    )
    return {"votes_for": votes_for, "votes_against": votes_against, "representatives": representatives}


def wn_reject_by_congress(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    votes_for, representatives = pick.either(
        ((20, 60), (0, 1), (30, 60)), ((31, 60), (-1, 60), (True, 1), ("10", 60), (0, 0)), "votes"
    )
    return {"votes_for": votes_for, "representatives": representatives}


def wn_sign(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    one_year = today + timedelta(days=365)
    signed_on, term_start, term_end = pick.either(
        ((today, today, one_year), (today, today + timedelta(days=10), today + timedelta(days=100))),
        (
            (today + timedelta(days=1), today, one_year),
            (today, one_year, today),
            (today - timedelta(days=60), today, one_year),
            (at_nine(today), today, one_year),
            (today, None, one_year),
        ),
        "signing",
    )
    return {"signed_on": signed_on, "term_start": term_start, "term_end": term_end}


def wn_file_with_bureau(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"bureau": required_text(pick, "苏州市人社局", "bureau")}


def wn_take_effect(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"bureau_confirmed": pick.either((True, False), ("yes", None), "bureau_confirmed")}


def wn_valid_rectification(case: Any) -> dict[str, Any]:
    return {"rectification_case_id": UUID(int=5000 + case.version), "rectification_number": "RP-2026-000009"}


def wn_other_side(case: Any) -> str:
    """The side that may answer now: the other side from the open proposal's (either, with none open)."""
    last = case.open_proposal
    return "enterprise" if last is not None and last["side"] == "union" else "union"


class WageNegotiationMachine(CaseMachine):
    CASE = WageNegotiation
    BUILDERS = {
        **common_builders(("reply", "proposal_reply", "filing", "objection", "renewal")),
        "accept_offer": no_args,
        "refuse_offer": no_args,
        "escalate_to_acting_offer": wn_escalate,
        "issue_rectification": wn_issue_rectification,
        "resume_after_rectification": no_args,
        "refer_to_inspectorate": no_args,
        "propose_escalation": no_args,
        "confirm_escalation": wn_confirm_escalation,
        "dismiss_escalation": no_args,
        "submit_proposal": wn_submit_proposal,
        "accept_proposal": wn_accept_proposal,
        "declare_impasse": no_args,
        "request_coordination": wn_request_coordination,
        "resume_negotiation": no_args,
        "close": no_args,
        "approve_by_congress": wn_approve_by_congress,
        "reject_by_congress": wn_reject_by_congress,
        "sign": wn_sign,
        "file_with_bureau": wn_file_with_bureau,
        "record_objection": no_args,
        "take_effect": wn_take_effect,
        "mark_expiring": no_args,
        "conclude": no_args,
        "withdraw": no_args,
    }
    VALID = {
        **common_valid(),
        **dict.fromkeys(
            (
                "accept_offer",
                "refuse_offer",
                "resume_after_rectification",
                "refer_to_inspectorate",
                "propose_escalation",
                "dismiss_escalation",
                "declare_impasse",
                "resume_negotiation",
                "close",
                "record_objection",
                "mark_expiring",
                "conclude",
                "withdraw",
            ),
            takes_nothing,
        ),
        "escalate_to_acting_offer": lambda case, today: {"acting_union": "苏州市总工会"},
        "issue_rectification": lambda case, today: wn_valid_rectification(case),
        "confirm_escalation": lambda case, today: (
            {"acting_union": "苏州市总工会"}
            if (case.pending_escalation or {}).get("action") == "escalate_to_acting_offer"
            else wn_valid_rectification(case)
        ),
        "submit_proposal": lambda case, today: {"side": wn_other_side(case), "wage_increase_pct": "5"},
        "accept_proposal": lambda case, today: {"side": wn_other_side(case)},
        "request_coordination": lambda case, today: {"authority": "姑苏区人社局"},
        "approve_by_congress": lambda case, today: {"votes_for": 40, "votes_against": 10, "representatives": 60},
        "reject_by_congress": lambda case, today: {"votes_for": 20, "representatives": 60},
        "sign": lambda case, today: {"signed_on": today, "term_start": today, "term_end": today + timedelta(days=365)},
        "file_with_bureau": lambda case, today: {"bureau": "苏州市人社局"},
        "take_effect": lambda case, today: {"bureau_confirmed": True},
    }

    def open(self, pick: Pick) -> Case:
        role = pick(("negotiator", "supervisor", "system"), "open.role")
        return WageNegotiation.issue_offer(
            self.desk.ctx(role),
            case_id=uuid4(),
            number="WN-2026-000001",
            org_unit="suzhou/gusu",
            enterprise={"name": "苏州精密机械有限公司", "employees": pick((None, 0, 320), "employees")},
            issuing_union="苏州精密机械有限公司工会",
            document_number="苏工要〔2026〕7号",
            terms=pick((None, {"wage_increase_pct": "5.5", "minimum_wage": "2490"}), "terms"),
            first_of_document=pick((True, False), "first_of_document"),
            covers=pick.int(1, 4, "covers"),
        )

    def check_type_invariants(self, before: dict[str, Any] | None) -> None:
        case = self.case
        assert 0 <= case.ladder_step <= LADDER_RECTIFICATION
        if before is not None:
            assert case.ladder_step >= before["ladder_step"], "the escalation ladder went down"
        open_proposals = [p for p in case.proposals if p["status"] == "open"]
        assert len(open_proposals) <= 1
        if open_proposals:
            assert open_proposals[0] is case.proposals[-1]
        # A pending escalation is the step the case is still exposed to, and never one a supervisor dismissed.
        pending = case.pending_escalation
        dismissed = [(d["action"], d["trigger"], d["due_on"]) for d in case.dismissed_escalations]
        if pending is not None:
            key = (pending["action"], pending["trigger"], pending["due_on"])
            basis = case._escalation_basis()
            assert basis is not None and basis.key() == key, f"stale pending escalation {key} (basis {basis})"
            assert key not in dismissed, f"a dismissed escalation {key} is pending again"
        assert len(dismissed) == len(set(dismissed)), "the same escalation was dismissed twice"

    def recorded_action(self, name: str) -> str:
        pending = self.case.pending_escalation
        if name == "confirm_escalation" and pending is not None:
            return pending["action"]
        return name


TestWageNegotiationProperties = pytest.mark.slow(WageNegotiationMachine.TestCase)
TestWageNegotiationProperties.settings = PROFILE


# -- RectificationProposal ---------------------------------------------------------------------------


def rp_accept_plan(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"plan": required_text(pick, "start negotiating within a month", "plan")}
    lapsed = [item["no"] for item in case.items if item["deadline"] < today]
    shape = pick.either(("lapsed", "all", "none"), ("unknown", "past", "twice"), "deadlines.shape")
    later = today + timedelta(days=pick.int(1, 60, "deadlines.days"))
    numbers = {
        "lapsed": lapsed,
        "all": [item["no"] for item in case.items],
        "none": [],
        "unknown": [len(case.items) + 1],
        "past": [1],
        "twice": [1, 1],
    }[shape]
    if numbers:
        due = today if shape == "past" else later
        kwargs["item_deadlines"] = [{"item_no": no, "deadline": due} for no in numbers]
    return kwargs


def rp_verify_item(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    unpassed = [item["no"] for item in case.items if item["status"] != "passed"]
    passed = [item["no"] for item in case.items if item["status"] == "passed"]
    return {
        "item_no": pick.either(unpassed or [1], (*passed, len(case.items) + 1, 0, -1, True, "1"), "item_no"),
        "result": pick.either(("passed", "passed", "failed"), ("maybe", None), "result"),
        "findings": pick.either(("overtime still unpaid", "", None), (5,), "findings"),
    }


def rp_record_enforcement(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {
        "outcome": required_text(pick, "fined and ordered to pay", "outcome"),
        "penalty": pick.either((None, "5000", 0), ("-1", "abc", True, HUGE), "penalty"),
    }


def rp_propose_referral(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    grounds = [trigger for trigger, _ in case.referral_triggers(today)]
    return {"trigger": pick.either(grounds or ["reply"], ("item-9", "refused", 5, ["reply"]), "trigger")}


class RectificationMachine(CaseMachine):
    CASE = RectificationProposal
    BUILDERS = {
        **common_builders(("reply", "item-1", "item-2")),
        "accept_plan": rp_accept_plan,
        "refuse": no_args,
        "verify_item": rp_verify_item,
        "refer_to_inspectorate": no_args,
        "record_enforcement": rp_record_enforcement,
        "withdraw": no_args,
        "propose_referral": rp_propose_referral,
        "confirm_referral": no_args,
        "dismiss_referral": no_args,
    }
    VALID = {
        **common_valid(),
        **dict.fromkeys(
            ("refuse", "refer_to_inspectorate", "withdraw", "confirm_referral", "dismiss_referral"), takes_nothing
        ),
        "propose_referral": lambda case, today: {
            "trigger": next((trigger for trigger, _ in case.referral_triggers(today)), "reply")
        },
        "accept_plan": lambda case, today: {
            "plan": "pay the arrears",
            "item_deadlines": [{"item_no": item["no"], "deadline": today + timedelta(days=30)} for item in case.items],
        },
        "verify_item": lambda case, today: {
            "item_no": next((i["no"] for i in case.items if i["status"] != "passed"), 1),
            "result": "passed",
        },
        "record_enforcement": lambda case, today: {"outcome": "fined and ordered to pay"},
    }

    def open(self, pick: Pick) -> Case:
        today = self.desk.now.date()
        items = [
            {
                "category": pick(ITEM_CATEGORIES, "item.category"),
                "description": "overtime unpaid",
                "legal_basis": "劳动法第四十四条",
                "deadline": today + timedelta(days=pick.int(1, 60, "deadline")),
            }
            for _ in range(pick.int(1, 3, "items"))
        ]
        source = pick(
            ({"kind": "negotiation", "case_id": OTHER_CASES[0], "number": "WN-2026-000001"}, {"kind": "inspection"}),
            "source",
        )
        role = pick(("inspector", "supervisor", "system"), "open.role")
        return RectificationProposal.issue(
            self.desk.ctx(role),
            case_id=uuid4(),
            number="RP-2026-000001",
            org_unit="suzhou/gusu",
            enterprise={"name": "苏州精密机械有限公司"},
            issuing_union="姑苏区总工会",
            source=source,
            items=items,
        )

    def check_type_invariants(self, before: dict[str, Any] | None) -> None:
        case = self.case
        statuses = {item["status"] for item in case.items}
        assert statuses <= {"open", "passed", "failed"}
        if case.stage == "rectified":
            assert statuses == {"passed"}, f"rectified with items {[i['status'] for i in case.items]}"
        if before is not None:
            for old, new in zip(before["items"], case.items, strict=True):
                if old["status"] == "passed":
                    assert new["status"] == "passed", f"item {old['no']} passed and then changed"
        # A pending referral is one the case can still be referred for, and never one a supervisor dismissed.
        dismissed = [(d["trigger"], d["due_on"]) for d in case.dismissed_referrals]
        if case.pending_referral is not None:
            key = (case.pending_referral["trigger"], case.pending_referral["due_on"])
            assert key in case._referral_basis() and key not in dismissed, f"stale pending referral {key}"
        assert len(dismissed) == len(set(dismissed)), "the same referral was dismissed twice"

    def recorded_action(self, name: str) -> str:
        return "refer_to_inspectorate" if name == "confirm_referral" and self.case.pending_referral else name


TestRectificationProperties = pytest.mark.slow(RectificationMachine.TestCase)
TestRectificationProperties.settings = PROFILE


# -- HardshipCase ------------------------------------------------------------------------------------

HOUSEHOLD = {"members": 3, "monthly_income_per_capita": "820.5", "local_minimum": "1095"}


def hs_verify(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    applied_on = case.opened_at.date()
    return {
        "visited_on": pick.either(
            (today, max(applied_on, today - timedelta(days=3))),
            (today + timedelta(days=1), applied_on - timedelta(days=1), at_nine(today), None),
            "visited_on",
        ),
        "findings": required_text(pick, "medical bills seen", "findings"),
        "household": pick.either(
            (None, HOUSEHOLD, {**HOUSEHOLD, "members": 4}),
            (
                {**HOUSEHOLD, "members": 0},
                {**HOUSEHOLD, "local_minimum": "0"},
                {**HOUSEHOLD, "monthly_income_per_capita": HUGE},
                "three people",
            ),
            "household",
        ),
        "recommended_category": pick.either((None, *CATEGORIES, "特困"), ("bogus", 5), "recommended_category"),
    }


def hs_approve(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    return {"category": pick.either((None, *CATEGORIES, "相对困难"), ("bogus", 5), "category")}


def hs_disburse(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    year = today.year
    return {
        "aid_type": pick.either(AID_TYPES, ("bogus", None), "aid_type"),
        "amount": pick.either(("500", "2000", "4999.99", 300, "12000"), ("0", "-5", "abc", True, HUGE, None), "amount"),
        "fund": required_text(pick, "送温暖资金", "fund"),
        "period": pick.either((str(year), f"{year}-03"), (f"{year}-13", "", "last year", None, year), "period"),
    }


def hs_review(pick: Pick, case: Any, today: date) -> dict[str, Any]:
    outcome = pick.either(("continue", "reclassify", "exit"), ("bogus", None), "outcome")
    others = [c for c in CATEGORIES if c != case.category]
    valid = others if outcome == "reclassify" else [None]
    return {
        "outcome": outcome,
        "category": pick.either(
            valid, (case.category, "bogus", *([None] if outcome == "reclassify" else others)), "category"
        ),
        "notes": pick.either(("", "income recovered", None), (3,), "notes"),
    }


def hs_valid_disbursement(case: Any, today: date) -> dict[str, Any]:
    """Aid of a type with room left under this year's cap (any type, when none has)."""
    caps = DEFAULT_POLICY.annual_caps
    room = {t: caps[t] - case.disbursed(today.year, t) for t in caps}
    aid_type = next((t for t, left in room.items() if left > 0), "living")
    return {
        "aid_type": aid_type,
        "amount": str(min(room[aid_type], Decimal("100")).quantize(Decimal("0.01"))),
        "fund": "送温暖资金",
        "period": str(today.year),
    }


class HardshipMachine(CaseMachine):
    CASE = HardshipCase
    BUILDERS = {
        **common_builders(("verification", "review")),
        "verify": hs_verify,
        "approve": hs_approve,
        "reject": no_args,
        "disburse": hs_disburse,
        "review": hs_review,
        "exit": no_args,
        "withdraw": no_args,
    }
    VALID = {
        **common_valid(),
        **dict.fromkeys(("approve", "reject", "exit", "withdraw"), takes_nothing),
        "verify": lambda case, today: {"visited_on": today, "findings": "medical bills seen"},
        "disburse": lambda case, today: hs_valid_disbursement(case, today),
        "review": lambda case, today: {"outcome": "continue"},
    }

    def open(self, pick: Pick) -> Case:
        role = pick(("caseworker", "supervisor"), "open.role")
        return HardshipCase.apply(
            self.desk.ctx(role),
            case_id=uuid4(),
            number="HS-2026-000007",
            org_unit="suzhou-gusu",
            worker={"name": "Liu Yan", "id_number": "320503198807154324"},
            household=dict(HOUSEHOLD),
            causes=["illness", "low_income"],
            category=pick((*CATEGORIES, "特困", "困难"), "category"),
        )

    def check_type_invariants(self, before: dict[str, Any] | None) -> None:
        case = self.case
        caps = self.desk.policy.annual_caps
        recomputed: dict[tuple[int, str], Decimal] = {}
        for d in case.disbursements:
            key = (d["year"], d["aid_type"])
            recomputed[key] = recomputed.get(key, Decimal("0")) + d["amount"]
        assert recomputed == case.totals
        for (year, aid_type), total in case.totals.items():
            assert total <= caps[aid_type], f"{aid_type} aid in {year}: {total} exceeds the cap {caps[aid_type]}"
        # Four eyes: whoever registered the case did not verify it.
        verifier = None
        for event in case.pending_events:
            if type(event).ACTION == "verify":
                verifier = event.actor_id
            elif type(event).ACTION == "approve":
                assert verifier is not None and event.actor_id != verifier, "the verifier approved the case"
        if case.stage == "registered":
            assert case.verifier is not None and case.verifier != self.registered_by()

    def registered_by(self) -> str:
        return next(e.actor_id for e in reversed(self.case.pending_events) if type(e).ACTION == "approve")


TestHardshipProperties = pytest.mark.slow(HardshipMachine.TestCase)
TestHardshipProperties.settings = PROFILE


# -- plain tests ---------------------------------------------------------------------------------------


def test_every_action_has_an_argument_builder():
    """A new action in a stage table needs a builder here, or the machines above cannot draw it."""
    for machine in (LaborDisputeMachine, WageNegotiationMachine, RectificationMachine, HardshipMachine):
        commands = {name for name, a in machine.CASE.TABLE.commands.items() if not a.creates}
        assert commands == set(machine.BUILDERS), f"{machine.CASE.__name__}: {commands ^ set(machine.BUILDERS)}"
        assert commands == set(machine.VALID), f"{machine.CASE.__name__}: {commands ^ set(machine.VALID)}"


def test_a_plan_accepted_after_an_item_deadline_must_give_that_item_a_new_one():
    """Found by RectificationMachine: a lapsed item deadline used to open a clock due before it started."""
    desk = Desk()
    today = desk.now.date()
    case = RectificationProposal.issue(
        desk.ctx("inspector"),
        case_id=uuid4(),
        number="RP-2026-000001",
        org_unit="suzhou/gusu",
        enterprise={"name": "苏州精密机械有限公司"},
        issuing_union="姑苏区总工会",
        source={"kind": "inspection"},
        items=[
            {
                "category": "wages",
                "description": "overtime unpaid",
                "legal_basis": "劳动法第四十四条",
                "deadline": today + timedelta(days=1),
            }
        ],
    )
    desk.advance(days=3)
    with pytest.raises(InvalidCommand) as err:
        case.accept_plan(desk.ctx("inspector"), plan="pay the arrears")
    assert "item 1" in err.value.fields["item_deadlines"]
    case.accept_plan(
        desk.ctx("inspector"),
        plan="pay the arrears",
        item_deadlines=[{"item_no": 1, "deadline": today + timedelta(days=20)}],
    )
    assert case.clocks[item_clock(1)].started_on == today + timedelta(days=3)
    assert case.clocks[item_clock(1)].due_on == today + timedelta(days=20)
