"""What every case type keeps, checked on each of the four: its stage table, its refusals, its reasons, its
first clock, the actions they all share, and a long history that replays and hash-chains.

Each type's own test file says how a case of that type is opened, how it reaches every stage of its table
(`STAGE_BUILDERS`), valid data for each of its own commands (`VALID`) and a long history. The table below
adds, one row per type, what its law says in a line each: who may open it, who works it, which of its
actions need a reason, its terminal stages, its first clock, what a withdrawal leaves. A rule every case
type keeps is written here once; a fifth case type is checked by adding its row.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Set
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest

from aggregates.base import Case
from aggregates.chain import GENESIS, event_hash
from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.hardship import HardshipCase
from aggregates.labor_dispute import LaborDispute
from aggregates.policy import DEFAULT_POLICY
from aggregates.rectification import RectificationProposal
from aggregates.stages import ROLES, Action
from aggregates.wage_negotiation import WageNegotiation
from tests.unit import test_hardship as hardship
from tests.unit import test_labor_dispute as labor_dispute
from tests.unit import test_rectification as rectification
from tests.unit import test_wage_negotiation as wage_negotiation
from tests.unit.support import Desk, live_state, replay

START = date(2026, 3, 2)  # the Desk's business date, a Monday
COMMON = (
    "assign",
    "add_note",
    "link_case",
    "pause_clock",
    "resume_clock",
    "extend_clock",
    "raise_alert",
    "erase_personal_data",
)

Build = Callable[[Desk], Any]


@dataclass(frozen=True)
class CaseType:
    """A case type as these tests see it: its class, how to build its cases, and what its law says of it."""

    cls: type[Case]
    number: str  # the number the type's builders give a case
    open: Callable[..., Any]  # open(desk, role=..., **overrides): a new case with valid data
    openers: Set[str]  # the roles that may open one
    workers: Set[str]  # the roles that work it: notes and links
    terminal: Set[str]
    reasons: Set[str]  # its own actions that need a reason
    clock: tuple[str, str, date]  # the clock opening starts: its name, its policy name, its due date
    stages: Mapping[str, Build]  # how a case reaches each stage of the table
    valid: Mapping[str, dict[str, Any]]  # valid data for each of its own commands
    history: Build  # a long history...
    history_ends: tuple[str, int]  # ...its last stage and number of events...
    history_statistics: Mapping[str, Decimal | int]  # ...and what it counts
    withdrawn: Mapping[str, Any]  # what a withdrawn case holds beyond its stage and clocks...
    withdrawn_statistics: Mapping[str, int]  # ...and what a withdrawal counts
    # What has to happen before an action that needs a reason may run at all (a proposal to dismiss).
    before_reason: Mapping[str, Callable[[Any, Desk], None]] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.cls.KIND

    def opening(self) -> Action:
        return next(a for a in self.cls.TABLE.actions.values() if a.creates)

    def own_actions(self) -> list[Action]:
        """The type's own commands: neither the opening one nor those every case type shares."""
        return [a for a in self.cls.TABLE.actions.values() if not a.creates and a.name not in COMMON]

    def overdue(self) -> int:
        """Days from opening until the first clock has run out."""
        return (self.clock[2] - START).days + 1


CASE_TYPES = [
    CaseType(
        LaborDispute,
        labor_dispute.NUMBER,
        labor_dispute.file_dispute,
        openers={"mediator", "supervisor", "caseworker"},
        workers={"mediator", "supervisor"},
        terminal={"declined", "resolved", "referred_to_arbitration", "withdrawn"},
        reasons={"decline", "extend_mediation", "fail_mediation", "withdraw"},
        clock=("acceptance", "dispute.acceptance", date(2026, 3, 5)),  # 3 working days
        stages=labor_dispute.STAGE_BUILDERS,
        valid=labor_dispute.VALID,
        history=labor_dispute.long_path,
        history_ends=("resolved", 12),
        history_statistics={
            "disputes_filed": 1,
            "disputes_accepted": 1,
            "dispute_workers_involved": 12,
            "collective_disputes_accepted": 1,
            "disputes_mediated": 1,
            "dispute_agreed_amount": Decimal("15000.25"),
            "disputes_resolved": 1,
        },
        withdrawn={},
        withdrawn_statistics={"disputes_withdrawn": 1},
    ),
    CaseType(
        WageNegotiation,
        wage_negotiation.NUMBER,
        wage_negotiation.issue,
        openers={"negotiator", "supervisor", "system"},  # the system issues the offers of a campaign
        workers={"negotiator", "supervisor"},
        terminal={"referred_to_inspectorate", "concluded", "closed", "withdrawn"},
        reasons={
            "refuse_offer",
            "escalate_to_acting_offer",
            "issue_rectification",
            "refer_to_inspectorate",
            "declare_impasse",
            "close",
            "record_objection",
            "conclude",
            "withdraw",
            "reject_by_congress",
            "propose_escalation",
            "dismiss_escalation",
        },
        clock=("reply", "negotiation.reply", date(2026, 3, 22)),  # 20 days
        stages=wage_negotiation.STAGE_BUILDERS,
        valid=wage_negotiation.VALID,
        history=wage_negotiation.long_history,
        history_ends=("concluded", 28),
        history_statistics={
            "enterprises_covered": 1,
            "offers_written": 1,
            "acting_offers": 1,
            "offers_refused": 1,
            "rectification_proposals": 1,
            "agreed_to_rectify": 1,
            "contracts_signed": 2,
            "contract_workers_covered": 320,
            "contracts_effective": 1,
        },
        withdrawn={"outcome": "withdrawn"},
        withdrawn_statistics={},
        before_reason={
            "dismiss_escalation": lambda case, desk: case.propose_escalation(
                desk.ctx("system", reason="the enterprise did not answer")
            )
        },
    ),
    CaseType(
        RectificationProposal,
        rectification.NUMBER,
        rectification.issue,
        openers={"inspector", "supervisor", "system"},  # the system issues one on the negotiation's ladder
        workers={"inspector", "supervisor"},
        terminal={"rectified", "closed", "withdrawn"},
        reasons={"refuse", "refer_to_inspectorate", "withdraw", "propose_referral", "dismiss_referral"},
        clock=("reply", "rectification.reply", date(2026, 3, 17)),  # 15 days
        stages=rectification.STAGE_BUILDERS,
        valid=rectification.VALID,
        history=rectification.long_history,
        history_ends=("closed", 9),
        history_statistics={
            "rectifications_issued": 1,
            "rectifications_accepted": 1,
            "items_verified": 2,
            "rectifications_referred": 1,
            "enforcement_penalty_amount": Decimal("5000.50"),
        },
        withdrawn={},
        withdrawn_statistics={},
        before_reason={
            "dismiss_referral": lambda case, desk: case.propose_referral(
                desk.ctx("system", reason="the enterprise did not reply"), trigger="reply"
            )
        },
    ),
    CaseType(
        HardshipCase,
        hardship.NUMBER,
        hardship.apply,
        openers={"caseworker", "supervisor"},
        workers={"caseworker", "supervisor"},
        terminal={"rejected", "exited", "withdrawn"},
        reasons={"reject", "exit", "withdraw"},
        clock=("verification", "hardship.verification", date(2026, 3, 17)),  # 15 days
        stages=hardship.STAGE_BUILDERS,
        valid=hardship.VALID,
        history=hardship.long_path,
        history_ends=("exited", 14),
        history_statistics={
            "hardship_applications": 1,
            "hardship_registered": 1,
            "hardship_registered_deep": 1,
            "disbursements": 3,
            "disbursements_living": 1,
            "disbursed_amount_living": Decimal("1000"),
            "disbursements_medical": 1,
            "disbursed_amount_medical": Decimal("8000"),
            "disbursements_holiday": 1,
            "disbursed_amount_holiday": Decimal("800"),
            "hardship_reviews": 2,
            "hardship_exited": 1,
        },
        withdrawn={"releases_person": True},
        withdrawn_statistics={},  # the person may apply again
    ),
]

EACH_TYPE = pytest.mark.parametrize("ct", CASE_TYPES, ids=str)


def each_action(which: Callable[[CaseType, Action], bool] = lambda ct, a: True) -> pytest.MarkDecorator:
    """Parametrise over (case type, own action), for the actions `which` picks."""
    return pytest.mark.parametrize(
        ("ct", "a"),
        [pytest.param(ct, a, id=f"{ct}-{a.name}") for ct in CASE_TYPES for a in ct.own_actions() if which(ct, a)],
    )


def run(case: Any, name: str, ctx: Any, kwargs: Mapping[str, Any]) -> None:
    getattr(case, name)(ctx, **kwargs)


# -- the stage table -------------------------------------------------------------------------------


@EACH_TYPE
def test_the_stage_table_names_every_stage_in_both_languages_and_each_action_has_its_event(ct: CaseType) -> None:
    table = ct.cls.TABLE
    assert set(table.terminal) == ct.terminal
    for label in table.stages.values():
        assert any("\u4e00" <= ch <= "\u9fff" for ch in label), label
        assert any(ch.isascii() and ch.isalpha() for ch in label), label
    for a in table.actions.values():
        event = getattr(ct.cls, a.event)
        assert event.ACTION == a.name
        assert issubclass(event, ct.cls.Event)
    # A generated opening event is the type's own Opened; a hand-written, versioned one (HardshipApplied)
    # subclasses Case.Opened, as the type's own does not exist yet inside its class body.
    opened = getattr(ct.cls, ct.opening().event)
    assert issubclass(opened, ct.cls.Opened if getattr(opened, "class_version", 1) == 1 else Case.Opened)


@EACH_TYPE
def test_every_action_of_the_table_is_exercised_here(ct: CaseType) -> None:
    assert set(ct.valid) == {a.name for a in ct.own_actions()}
    assert set(COMMON) <= set(ct.cls.TABLE.actions)
    assert set(ct.stages) == set(ct.cls.TABLE.stages)


@pytest.mark.parametrize(
    ("ct", "stage"), [pytest.param(ct, stage, id=f"{ct}-{stage}") for ct in CASE_TYPES for stage in ct.cls.TABLE.stages]
)
def test_every_stage_is_reached_and_an_auditor_may_only_read_it(ct: CaseType, stage: str) -> None:
    desk = Desk()
    case = ct.stages[stage](desk)
    assert case.stage == stage and case.number == ct.number
    assert case.allowed_actions("auditor") == []
    assert case.allowed_actions("auditor", desk.ctx("auditor").now) == []


@EACH_TYPE
def test_who_may_open_a_case(ct: CaseType) -> None:
    for role in ROLES:
        if role in ct.openers:
            case = ct.open(Desk(), role=role)
            assert (case.stage, case.version, case.opened_by) == (ct.cls.TABLE.initial, 1, f"{role}-1")
            continue
        with pytest.raises(ActionNotAllowed) as err:
            ct.open(Desk(), role=role)
        assert (err.value.stage, err.value.action) == ("(new)", ct.opening().name)
        assert role in str(err.value)


@EACH_TYPE
def test_a_case_needs_an_org_unit(ct: CaseType) -> None:
    with pytest.raises(InvalidCommand) as err:
        ct.open(Desk(), org_unit="")
    assert err.value.fields == {"org_unit": "is required"}


# -- refusals, driven by the table -------------------------------------------------------------------


@each_action()
def test_every_action_refuses_a_role_that_may_not_run_it(ct: CaseType, a: Action) -> None:
    for stage in a.sources:
        desk = Desk()
        case = ct.stages[stage](desk)
        version = case.version
        for role in (r for r in ROLES if r not in a.roles):
            with pytest.raises(ActionNotAllowed) as err:
                run(case, a.name, desk.ctx(role, reason="because"), ct.valid[a.name])
            e = err.value
            assert (e.action, e.stage) == (a.name, stage)
            assert f"role '{role}'" in str(e)
            assert e.allowed == case.allowed_actions(role)
            assert (case.version, case.stage) == (version, stage)


@each_action()
def test_every_action_refuses_a_stage_it_does_not_run_in(ct: CaseType, a: Action) -> None:
    for stage in (s for s in ct.stages if s not in a.sources):
        desk = Desk()
        case = ct.stages[stage](desk)
        version = case.version
        for role in sorted(a.roles):
            with pytest.raises(ActionNotAllowed) as err:
                run(case, a.name, desk.ctx(role, reason="because"), ct.valid[a.name])
            e = err.value
            assert (e.case, e.stage, e.action) == (f"{ct.cls.__name__} {ct.number}", stage, a.name)
            assert e.allowed == case.allowed_actions(role) and a.name not in e.allowed
            assert e.to_dict()["allowed_actions"] == e.allowed
            message = str(e)
            assert ct.number in message and f"'{stage}'" in message and f"'{a.name}'" in message
            assert "allowed now: " + (", ".join(e.allowed) or "none") in message
            assert (case.version, case.stage) == (version, stage)


@each_action(lambda ct, a: a.reason_required)
def test_every_action_that_needs_a_reason_refuses_without_one(ct: CaseType, a: Action) -> None:
    desk = Desk()
    stage = a.sources[0]
    case = ct.stages[stage](desk)
    desk.advance(days=ct.overdue())  # the first clock has run out, so each step that waits for it may run
    if a.name in ct.before_reason:
        ct.before_reason[a.name](case, desk)
    version = case.version
    usual = "supervisor" if "supervisor" in a.roles else sorted(a.roles)[0]
    assert a.name in case.allowed_actions(usual, desk.ctx(usual).now)  # only the reason is missing
    for role in (r for r in sorted(a.roles) if a.name in case.allowed_actions(r, desk.ctx(r).now)):
        for reason in (None, "", "  ", "   "):
            with pytest.raises(InvalidCommand) as err:
                run(case, a.name, desk.ctx(role, reason=reason), ct.valid[a.name])
            assert set(err.value.fields) == {"reason"}
            assert err.value.action == a.name
    assert (case.version, case.stage) == (version, stage)


@EACH_TYPE
def test_reasons_are_required_exactly_where_the_law_says(ct: CaseType) -> None:
    assert {a.name for a in ct.own_actions() if a.reason_required} == ct.reasons


@EACH_TYPE
def test_a_terminal_stage_allows_nothing_not_even_the_common_actions(ct: CaseType) -> None:
    name, _, _ = ct.clock
    common: dict[str, dict[str, Any]] = {
        "assign": {"assignee": "x"},
        "add_note": {"text": "x"},
        "link_case": {"case_id": uuid4(), "number": "n", "kind": "k", "relation": "r"},
        "pause_clock": {"clock": name},
        "resume_clock": {"clock": name},
        "extend_clock": {"clock": name, "days": 1},
        "raise_alert": {"clock": name},
    }
    for stage in sorted(ct.terminal):
        desk = Desk()
        case = ct.stages[stage](desk)
        assert not case.is_open and case.clocks == {}
        assert case.allowed_actions() == []
        for role in ROLES:
            assert case.allowed_actions(role) == []
            for action, kwargs in common.items():
                with pytest.raises(ActionNotAllowed) as err:
                    run(case, action, desk.ctx(role, reason="x"), kwargs)
                assert (err.value.stage, err.value.allowed) == (stage, [])
                assert "allowed now: none" in str(err.value)


@pytest.mark.parametrize(
    ("ct", "stage"),
    [
        pytest.param(ct, stage, id=f"{ct}-{stage}")
        for ct in CASE_TYPES
        for stage in ct.cls.TABLE.actions["withdraw"].sources
    ],
)
def test_a_withdrawal_needs_a_reason_and_closes_every_clock(ct: CaseType, stage: str) -> None:
    for role in sorted(ct.cls.TABLE.actions["withdraw"].roles):
        desk = Desk()
        case = ct.stages[stage](desk)
        open_clocks = list(case.clocks)
        with pytest.raises(InvalidCommand) as err:
            case.withdraw(desk.ctx(role))
        assert set(err.value.fields) == {"reason"}
        case.withdraw(desk.ctx(role, reason="the workers settled it themselves"))
        event = case.pending_events[-1]
        assert case.stage == "withdrawn" and case.clocks == {} and not case.is_open
        assert event.clocks_closed == open_clocks
        assert case.statistics(event) == ct.withdrawn_statistics
        for attribute, value in ct.withdrawn.items():
            assert getattr(case, attribute) == value, attribute


# -- the first clock and the actions every case type shares ---------------------------------------------


@EACH_TYPE
def test_the_first_clock_runs_from_the_opening_day_as_long_as_the_policy_says(ct: CaseType) -> None:
    name, policy_name, due_on = ct.clock
    case = ct.open(Desk())
    assert list(case.clocks) == [name]
    assert (case.clocks[name].started_on, case.clocks[name].due_on) == (START, due_on)
    longer = ct.open(Desk(policy=DEFAULT_POLICY.with_clock(policy_name, 30)))
    assert longer.clocks[name].due_on == START + timedelta(days=30)


@EACH_TYPE
def test_the_working_roles_add_notes_and_link_cases_and_no_one_else(ct: CaseType) -> None:
    desk = Desk()
    case = ct.open(desk)
    for role in ROLES:
        ctx = desk.ctx(role)
        if role in ct.workers:
            case.add_note(ctx, text=f"{role} called the other side")
            case.link_case(ctx, case_id=uuid4(), number="LD-2026-000009", kind="labor_dispute", relation="related")
            assert (case.notes[-1]["by"], case.notes[-1]["text"]) == (f"{role}-1", f"{role} called the other side")
            assert case.links[-1]["number"] == "LD-2026-000009"
            continue
        version = case.version
        with pytest.raises(ActionNotAllowed):
            case.add_note(ctx, text="not my case")
        with pytest.raises(ActionNotAllowed):
            case.link_case(ctx, case_id=uuid4(), number="LD-2026-000009", kind="labor_dispute", relation="related")
        assert case.version == version
    assert len(case.notes) == len(ct.workers)


@EACH_TYPE
def test_a_supervisor_assigns_the_case_and_extends_its_clock(ct: CaseType) -> None:
    name, _, due_on = ct.clock
    desk = Desk()
    case = ct.open(desk)
    case.assign(desk.ctx("supervisor"), assignee="worker-7")
    assert case.assignee == "worker-7"
    case.extend_clock(desk.ctx("supervisor", reason="holiday week"), clock=name, days=7)
    assert (case.clocks[name].due_on, case.clocks[name].extensions) == (due_on + timedelta(days=7), 1)
    assert case.statistics(case.pending_events[-1]) == {}


@EACH_TYPE
def test_an_alert_is_raised_once_the_first_clock_has_run_out(ct: CaseType) -> None:
    name, _, due_on = ct.clock
    desk = Desk()
    case = ct.open(desk)
    desk.advance(days=ct.overdue() - 1)  # the due day itself
    with pytest.raises(ActionNotAllowed) as err:
        case.raise_alert(desk.ctx("system"), clock=name)
    assert err.value.why == f"clock '{name}' has not run out (due {due_on})"
    desk.advance(days=1)
    case.raise_alert(desk.ctx("system"), clock=name, notify=["supervisor-1"])
    assert [(alert["clock"], alert["due_on"]) for alert in case.alerts] == [(name, due_on)]
    assert "deadline_alert" in case.all_flags()


# -- a long history: replay, the hash chain, the statistics --------------------------------------------


@EACH_TYPE
def test_a_long_history_replays_to_the_same_state(ct: CaseType) -> None:
    case = ct.history(Desk())
    stage, events = ct.history_ends
    assert case.stage == stage
    assert case.version == len(case.pending_events) == events
    rebuilt = replay(case)
    assert type(rebuilt) is ct.cls
    assert live_state(rebuilt) == live_state(case)


@EACH_TYPE
def test_the_events_of_a_long_history_form_a_hash_chain(ct: CaseType) -> None:
    case = ct.history(Desk())
    events = list(case.pending_events)
    assert events[0].prev_hash == GENESIS == "0" * 64
    for previous, event in zip(events, events[1:], strict=False):
        assert event.prev_hash == previous.hash
    assert len({e.hash for e in events}) == len(events)
    assert case.head_hash == events[-1].hash


@EACH_TYPE
def test_each_hash_commits_to_its_event_and_no_handler_changes_recorded_data(ct: CaseType) -> None:
    # Recomputed after the whole history was applied: a handler that changed event data in place (instead of
    # copying it into state) breaks it. The creating event's hash is taken before eventsourcing adds
    # `originator_topic`.
    case = ct.history(Desk())
    for event in case.pending_events:
        fields = {k: v for k, v in event.__dict__.items() if k != "originator_topic"}
        assert event_hash(type(event).__qualname__, fields) == event.hash, type(event).__name__
    first = case.pending_events[0]
    for key in first.data:
        tampered = {k: v for k, v in first.__dict__.items() if k != "originator_topic"}
        tampered["data"] = {**first.data, key: "tampered"}
        assert event_hash(type(first).__qualname__, tampered) != first.hash, key


@EACH_TYPE
def test_event_data_is_json_native_or_a_known_scalar(ct: CaseType) -> None:
    def check(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, str)
                check(v)
        elif isinstance(value, list):
            for v in value:
                check(v)
        else:
            assert value is None or isinstance(value, (str, int, bool, Decimal, date, UUID)), value

    for event in ct.history(Desk()).pending_events:
        check(event.data)
        check(event.clocks_opened)


@EACH_TYPE
def test_the_statistics_of_a_long_history(ct: CaseType) -> None:
    case = ct.history(Desk())
    totals: dict[str, Decimal] = {}
    for event in case.pending_events:
        for metric, value in case.statistics(event).items():
            totals[metric] = totals.get(metric, Decimal(0)) + Decimal(value)
    assert totals == ct.history_statistics


# -- the lists events only append to -------------------------------------------------------------------


def _sentinels(case: Case, now: Any) -> dict[str, dict[str, Any]]:
    """An item of each `Case.APPEND_ONLY` list, shaped as the case's own (a note, an alert)."""
    clock = next(iter(case.clocks), "acceptance")
    return {
        "notes": {"at": now, "by": "mediator-9", "text": "哨兵"},
        "alerts": {"clock": clock, "due_on": date(2026, 3, 5), "notify": ["s-1"], "raised_at": now},
    }


@pytest.mark.parametrize(
    ("ct", "path"),
    [pytest.param(ct, p, id=f"{ct}-{p}") for ct in CASE_TYPES for p in ["history", *ct.cls.TABLE.stages]],
)
def test_no_event_changes_an_item_of_a_list_it_may_only_append_to(ct: CaseType, path: str) -> None:
    """A command's copy of a case its process holds shares the items of these lists with the cached case
    (engine/case_cache.py): every event of every path through every case type is applied here to a case whose
    lists already hold an item, which must come out as it went in."""
    desk = Desk()
    built = ct.history(desk) if path == "history" else ct.stages[path](desk)
    assert set(Case.APPEND_ONLY) == {"notes", "alerts"}
    events = built.pending_events
    case = events[0].mutate(None)
    for event in events[1:]:
        items = _sentinels(case, desk.now)
        kept = copy.deepcopy(items)
        for name, item in items.items():
            getattr(case, name).append(item)
        case = event.mutate(case)
        for name, item in items.items():
            held = getattr(case, name)
            at = next((i for i, x in enumerate(held) if x is item), None)
            assert at is not None and item == kept[name], (name, type(event).__name__)
            del held[at]
    assert live_state(case) == live_state(built)
