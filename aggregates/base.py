"""The case aggregate base: command context, legal clocks, hash-chained events.

Every case type subclasses `Case`, declares a `StageTable`, and writes command methods
that call `_guard` (stage, role, reason, business time) and then `_record` (one event).
Event classes are generated from the table by `case_type`, so each action has exactly
one past-tense event class and no second copy of the transition rules exists.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from aggregates.chain import GENESIS, event_hash
from aggregates.errors import ActionNotAllowed, InvalidCommand
from aggregates.fields import Text
from aggregates.policy import CALENDAR_OFFICIAL, CALENDAR_WEEKENDS_ONLY, DEFAULT_POLICY, DeadlinePolicy
from aggregates.stages import ANY_OPEN, ANY_STAGE, Action, StageTable, action

DEFAULT_TZ = ZoneInfo("Asia/Shanghai")

SUPERVISING = ("supervisor",)

ERASURE_EVENT = "PersonalDataErased"
"""The event of every case type that records an erasure of a person's data (engine/erasure.py)."""

ClockName = Annotated[str, Text(max=48)]
"""A clock's name as commands give it ("reply", "mediation", "item-3")."""


@dataclass(frozen=True)
class Context:
    """Who runs a command, when, why, and under which policy."""

    actor_id: str
    actor_role: str
    command_id: str
    recorded_at: datetime
    occurred_at: datetime | None = None
    reason: str | None = None
    policy: DeadlinePolicy = DEFAULT_POLICY
    tz: tzinfo = DEFAULT_TZ
    flow_run_id: str | None = None

    @property
    def business_time(self) -> datetime:
        return self.occurred_at or self.recorded_at

    @property
    def today(self) -> date:
        """The business date in the federation's time zone."""
        return self.business_time.astimezone(self.tz).date()

    @property
    def now(self) -> Now:
        """The moment the command's state guards judge."""
        return Now(self.today, self.actor_id, self.policy)


@dataclass(frozen=True)
class Now:
    """What an action's state guard looks at besides the case: the business date, who would act (None:
    anyone) and the policy. A command is judged at its own; a list of the actions allowed now, at the
    reader's."""

    today: date
    actor_id: str | None = None
    policy: DeadlinePolicy = DEFAULT_POLICY


@dataclass(frozen=True)
class Clock:
    """An open legal clock; overdue once the business date is past `due_on`.

    A working-day clock records so (`working_days`), and which calendar counted its due date (`calendar`:
    CALENDAR_OFFICIAL, or CALENDAR_WEEKENDS_ONLY past the published one), so that pausing it counts working days
    and a reader is told when a due date was counted without the official holidays."""

    name: str
    started_on: date
    due_on: date
    paused_on: date | None = None
    extensions: int = 0
    working_days: bool = False
    calendar: str | None = None

    def is_overdue(self, today: date) -> bool:
        return self.paused_on is None and today > self.due_on

    def to_data(self) -> dict[str, Any]:
        """The clock as its opening event records it; a calendar-day clock's data has kept the shape it always had."""
        data: dict[str, Any] = {
            "started_on": self.started_on,
            "due_on": self.due_on,
            "paused_on": self.paused_on,
            "extensions": self.extensions,
        }
        if self.working_days:
            data.update(working_days=True, calendar=self.calendar)
        return data


def new_clock(ctx: Context, name: str, policy_clock: str, start: date | None = None) -> Clock:
    """A clock starting on `start` (default: the business date) with the policy's length; a working-day clock
    notes which calendar counted it."""
    start = start or ctx.today
    rule = ctx.policy.rule(policy_clock)
    due = ctx.policy.add_days(start, rule.days, working_days=rule.working_days)
    if not rule.working_days:
        return Clock(name=name, started_on=start, due_on=due)
    calendar = ctx.policy.calendar_between(start, due)
    return Clock(name=name, started_on=start, due_on=due, working_days=True, calendar=calendar)


def _needs_a_running_clock(case: Case, now: Now) -> str | None:
    if any(c.paused_on is None for c in case.clocks.values()):
        return None
    return (
        "; ".join(f"clock {c.name!r} is already paused since {c.paused_on}" for c in case.clocks.values())
        or "no clock is open"
    )


def _needs_a_paused_clock(case: Case, now: Now) -> str | None:
    return None if any(c.paused_on is not None for c in case.clocks.values()) else "no clock is paused"


def _needs_an_extendable_clock(case: Case, now: Now) -> str | None:
    if any(name not in case.DEDICATED_EXTENSIONS for name in case.clocks):
        return None
    if not case.clocks:
        return "no clock is open"
    return "; ".join(f"clock {name!r} is extended with '{case.DEDICATED_EXTENSIONS[name]}'" for name in case.clocks)


def _needs_an_overdue_clock(case: Case, now: Now) -> str | None:
    def state(c: Clock) -> str:
        if c.paused_on is not None:
            return f"clock {c.name!r} has not run out (paused since {c.paused_on})"
        if not c.is_overdue(now.today):
            return f"clock {c.name!r} has not run out (due {c.due_on})"
        return f"an alert for clock {c.name!r} due {c.due_on} was already raised"

    if any(c.is_overdue(now.today) and not case.alerted(c) for c in case.clocks.values()):
        return None
    return "; ".join(state(c) for c in case.clocks.values()) or "no clock is open"


def common_actions(working_roles: Iterable[str]) -> list[Action]:
    """Actions every case type has in every open stage."""
    working = tuple(working_roles)
    return [
        action(
            "assign",
            "CaseAssigned",
            source=ANY_OPEN,
            roles=SUPERVISING,
            help="Assign or reassign the case to a caseworker.",
        ),
        action(
            "add_note",
            "NoteAdded",
            source=ANY_OPEN,
            roles=(*working, *SUPERVISING),
            help="Record what happened, without changing the stage.",
        ),
        action("link_case", "CaseLinked", source=ANY_OPEN, roles=(*working, *SUPERVISING), help="Link a related case."),
        action(
            "pause_clock",
            "ClockPaused",
            source=ANY_OPEN,
            roles=SUPERVISING,
            reason=True,
            guard=_needs_a_running_clock,
            help="Stop a legal clock from running, e.g. while a party is unreachable.",
        ),
        action(
            "resume_clock",
            "ClockResumed",
            source=ANY_OPEN,
            roles=SUPERVISING,
            guard=_needs_a_paused_clock,
            help="Restart a paused clock; its due date moves by the days it was paused.",
        ),
        action(
            "extend_clock",
            "ClockExtended",
            source=ANY_OPEN,
            roles=SUPERVISING,
            reason=True,
            guard=_needs_an_extendable_clock,
            help="Move a clock's due date later.",
        ),
        action(
            "raise_alert",
            "DeadlineAlertRaised",
            source=ANY_OPEN,
            roles=("system",),
            guard=_needs_an_overdue_clock,
            help="A legal clock ran out and no step follows by itself: tell the people responsible.",
        ),
        action(
            "erase_personal_data",
            ERASURE_EVENT,
            source=ANY_STAGE,
            roles=SUPERVISING,
            reason=True,
            internal=True,
            help="A person's data was erased (PIPL art. 47): their key is destroyed; the event says who, when, why.",
        ),
    ]


TCase = TypeVar("TCase", bound="Case")


class Case(Aggregate):
    """Base of the four case types."""

    TABLE: ClassVar[StageTable]
    PREFIX: ClassVar[str]
    KIND: ClassVar[str]
    # Clocks that only a dedicated action may extend (clock -> action name).
    DEDICATED_EXTENSIONS: ClassVar[Mapping[str, str]] = {}
    # Personal data, as paths into the case's state and its events' data ("*" = every list item):
    # masked for roles that may not see it.
    PERSONAL_DATA: ClassVar[tuple[str, ...]] = ()
    # State lists whose items no event changes once appended (events only append to them): a command's copy of a
    # case its process holds shares their items instead of copying each (engine/case_cache.py), so a case's notes
    # and alerts do not make every command on it slower as they grow.
    APPEND_ONLY: ClassVar[tuple[str, ...]] = ("notes", "alerts")

    class Event(Aggregate.Event):
        # The stage-table action this event class records; set on each class by `case_type`.
        ACTION: ClassVar[str]
        actor_id: str
        actor_role: str
        command_id: str
        occurred_at: datetime
        reason: str | None
        stage: str
        data: dict[str, Any]
        clocks_opened: dict[str, Any]
        clocks_closed: list[str]
        flow_run_id: str | None
        prev_hash: str
        hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate._apply_event(self)

    class Opened(Event, Aggregate.Created):
        pass

    # -- state -------------------------------------------------------------------

    def _init_state(self, event: Case.Event) -> None:
        data = event.data
        self.number: str = data["number"]
        self.org_unit: str = data["org_unit"]
        self.assignee: str | None = data.get("assignee")
        self.opened_at: datetime = event.occurred_at
        self.opened_by: str = event.actor_id
        self.clocks: dict[str, Clock] = {}
        self.links: list[dict[str, Any]] = []
        self.notes: list[dict[str, Any]] = []
        self.alerts: list[dict[str, Any]] = []

    def _apply_event(self, event: Case.Event) -> None:
        if isinstance(event, Case.Opened):
            self._init_state(event)
        self.stage: str = event.stage
        self.updated_at: datetime = event.occurred_at
        self.head_hash: str = event.hash
        for name in event.clocks_closed:
            self.clocks.pop(name, None)
        for name, spec in event.clocks_opened.items():
            self.clocks[name] = Clock(name=name, **spec)
        handler = getattr(self, f"_on_{type(event).ACTION}", None)
        if handler is not None:
            handler(event)

    @property
    def label(self) -> str:
        number = getattr(self, "number", None)
        return f"{type(self).__name__} {number or self.id}"

    @property
    def is_open(self) -> bool:
        return not self.TABLE.is_terminal(self.stage)

    def allowed_actions(self, role: str | None = None, now: Now | None = None) -> list[str]:
        """The actions `role` (any role, when None) may run now: those the stage table allows in this stage
        whose state guard lets them run. Exactly these are accepted, given valid input. `now` defaults to the
        business date of the case's last event, with no particular actor and the default policy."""
        now = now or Now(self.updated_at.astimezone(DEFAULT_TZ).date())
        return [name for name in self.TABLE.allowed(self.stage, role) if self.why_not(name, now) is None]

    def why_not(self, name: str, now: Now) -> str | None:
        """Why the state of the case keeps action `name` from running now (its state guard), or None."""
        guard = self.TABLE.actions[name].guard
        return guard(self, now) if guard is not None else None

    def parties(self) -> list[str]:
        """Names the case index may show and search (never personal data)."""
        return []

    def index_reference(self) -> str | None:
        """A reference the case index keeps and searches: a negotiation's document number, a proposal's source."""
        return None

    def flags(self) -> list[str]:
        """The case type's own flags (collective dispute, acting offer, ...)."""
        return []

    @property
    def active_alerts(self) -> list[dict[str, Any]]:
        """Alerts whose clock is still open on the same due date: nobody has acted on them yet."""
        return [
            a
            for a in getattr(self, "alerts", ())
            if (c := self.clocks.get(a["clock"])) is not None and c.due_on == a["due_on"]
        ]

    def all_flags(self) -> list[str]:
        return [*self.flags(), *(["deadline_alert"] if self.active_alerts else [])]

    def statistics(self, event: Case.Event) -> dict[str, Any]:
        """Counter increments an event contributes to the federation's statistics."""
        counts = self.TABLE.actions[type(event).ACTION].counts
        return {name: 1 for name in counts}

    def summary(self) -> dict[str, Any]:
        """The case-index row."""
        return {
            "case_id": self.id,
            "kind": self.KIND,
            "number": self.number,
            "stage": self.stage,
            "org_unit": self.org_unit,
            "assignee": self.assignee,
            "parties": " | ".join(self.parties()),
            "flags": ",".join(self.all_flags()),
            "opened_at": self.opened_at,
            "updated_at": self.updated_at,
            "version": self.version,
            "head_hash": self.head_hash,
        }

    # -- commands: guards and recording ------------------------------------------

    @classmethod
    def _check_context(cls, ctx: Context, a: Action, label: str, not_before: datetime | None) -> None:
        if a.reason_required and not (ctx.reason and ctx.reason.strip()):
            raise InvalidCommand(label, a.name, {"reason": "a reason is required for this action"})
        if ctx.occurred_at is not None:
            if ctx.occurred_at > ctx.recorded_at:
                raise InvalidCommand(label, a.name, {"occurred_at": "may not lie in the future"})
            limit = ctx.recorded_at - timedelta(days=ctx.policy.max_backdate_days)
            if ctx.occurred_at < limit:
                raise InvalidCommand(
                    label,
                    a.name,
                    {"occurred_at": f"may be back-dated at most {ctx.policy.max_backdate_days} days"},
                )
            if not_before is not None and ctx.occurred_at < not_before:
                raise InvalidCommand(label, a.name, {"occurred_at": "may not be earlier than the case's last event"})

    def _guard(self, ctx: Context, name: str) -> Action:
        """The action, if its stage, the caller's role and its state guard let it run, and the command's reason
        and business time are acceptable; refused naming why and what the caller may do now."""
        try:
            a = self.TABLE.check(self.label, self.stage, name, ctx.actor_role)
        except ActionNotAllowed as e:
            raise self._refuse(name, e.why, ctx) from None
        why = self.why_not(name, ctx.now)
        if why is not None:
            raise self._refuse(name, why, ctx)
        self._check_context(ctx, a, self.label, self.updated_at)
        return a

    def _refuse(self, name: str, why: str | None, ctx: Context) -> ActionNotAllowed:
        """A refusal naming why, and what the command's caller may do now instead."""
        allowed = self.allowed_actions(ctx.actor_role, ctx.now)
        return ActionNotAllowed(case=self.label, stage=self.stage, action=name, allowed=allowed, why=why)

    def _invalid(self, name: str, **fields: str) -> InvalidCommand:
        return InvalidCommand(self.label, name, fields)

    @staticmethod
    def _event_fields(
        ctx: Context,
        a: Action,
        stage: str,
        data: Mapping[str, Any],
        opened: Mapping[str, Clock],
        closed: Iterable[str],
        prev_hash: str,
    ) -> dict[str, Any]:
        return {
            "actor_id": ctx.actor_id,
            "actor_role": ctx.actor_role,
            "command_id": ctx.command_id,
            "occurred_at": ctx.business_time,
            "reason": ctx.reason,
            "stage": stage,
            "data": dict(data),
            "clocks_opened": {name: c.to_data() for name, c in opened.items()},
            "clocks_closed": list(closed),
            "flow_run_id": ctx.flow_run_id,
            "prev_hash": prev_hash,
        }

    @classmethod
    def check_opener(cls, ctx: Context, number: str) -> Action:
        """Role, reason and business time of a command that opens a case; checked before its data."""
        a = cls.TABLE.creating
        label = f"{cls.__name__} {number}"
        if ctx.actor_role not in a.roles:
            raise ActionNotAllowed(
                case=label,
                stage="(new)",
                action=a.name,
                allowed=[],
                why=f"role '{ctx.actor_role}' may not open this case type",
            )
        cls._check_context(ctx, a, label, None)
        return a

    @classmethod
    def _open(
        cls: type[TCase],
        ctx: Context,
        *,
        case_id: UUID,
        number: str,
        org_unit: str,
        assignee: str | None,
        data: Mapping[str, Any],
        opened: Mapping[str, Clock] = {},
    ) -> TCase:
        a = cls.check_opener(ctx, number)
        label = f"{cls.__name__} {number}"
        if not org_unit:
            raise InvalidCommand(label, a.name, {"org_unit": "is required"})
        event_cls = getattr(cls, a.event)
        fields = cls._event_fields(
            ctx,
            a,
            a.targets[0],
            {**data, "number": number, "org_unit": org_unit, "assignee": assignee},
            opened,
            (),
            GENESIS,
        )
        digest = event_hash(
            event_cls.__qualname__,
            {
                "originator_id": case_id,
                "originator_version": cls.INITIAL_VERSION,
                "timestamp": ctx.recorded_at,
                **fields,
            },
        )
        return cls._create(event_cls, id=case_id, timestamp=ctx.recorded_at, hash=digest, **fields)

    def _record(
        self,
        ctx: Context,
        a: Action,
        data: Mapping[str, Any] | None = None,
        *,
        stage: str | None = None,
        opened: Mapping[str, Clock] = {},
        closed: Iterable[str] = (),
    ) -> None:
        if stage is None:
            if len(a.targets) > 1:
                raise AssertionError(f"{a.name}: choose one of {a.targets}")
            stage = a.targets[0] if a.targets else self.stage
        elif stage not in a.targets:
            raise AssertionError(f"{a.name}: {stage!r} is not one of {a.targets}")
        closed = [c for c in closed if c in self.clocks]
        event_cls = getattr(type(self), a.event)
        fields = self._event_fields(ctx, a, stage, data or {}, opened, closed, self.head_hash)
        digest = event_hash(
            event_cls.__qualname__,
            {"originator_id": self.id, "originator_version": self.version + 1, "timestamp": ctx.recorded_at, **fields},
        )
        self.trigger_event(event_cls, timestamp=ctx.recorded_at, hash=digest, **fields)

    @classmethod
    def _invalid_new(cls, number: str, fields: Mapping[str, str]) -> InvalidCommand:
        return InvalidCommand(f"{cls.__name__} {number}", cls.TABLE.creating.name, fields)

    def _closing_all_clocks(self) -> list[str]:
        return list(self.clocks)

    # -- common commands -----------------------------------------------------------

    def assign(self, ctx: Context, *, assignee: Annotated[str, Text(max=120)]) -> None:
        a = self._guard(ctx, "assign")
        if not assignee or not assignee.strip():
            raise self._invalid("assign", assignee="is required")
        self._record(ctx, a, {"assignee": assignee.strip(), "previous": self.assignee})

    def _on_assign(self, event: Case.Event) -> None:
        self.assignee = event.data["assignee"]

    def add_note(self, ctx: Context, *, text: str) -> None:
        a = self._guard(ctx, "add_note")
        if not text or not text.strip():
            raise self._invalid("add_note", text="is required")
        self._record(ctx, a, {"text": text.strip()})

    def _on_add_note(self, event: Case.Event) -> None:
        self.notes.append({"at": event.occurred_at, "by": event.actor_id, "text": event.data["text"]})

    def link_case(self, ctx: Context, *, case_id: UUID, number: str, kind: str, relation: str) -> None:
        a = self._guard(ctx, "link_case")
        if case_id == self.id:
            raise self._invalid("link_case", case_id="a case cannot be linked to itself")
        if any(link["case_id"] == case_id for link in self.links):
            raise self._invalid("link_case", case_id=f"already linked to {number}")
        self._record(ctx, a, {"case_id": case_id, "number": number, "kind": kind, "relation": relation})

    def _on_link_case(self, event: Case.Event) -> None:
        self.links.append(dict(event.data))

    def _open_clock(self, name: str, action_name: str) -> Clock:
        clock = self.clocks.get(name)
        if clock is None:
            raise self._invalid(
                action_name,
                clock=f"no open clock {name!r}; open clocks: {', '.join(self.clocks) or 'none'}",
            )
        return clock

    def pause_clock(self, ctx: Context, *, clock: ClockName) -> None:
        a = self._guard(ctx, "pause_clock")
        current = self._open_clock(clock, "pause_clock")
        if current.paused_on is not None:
            raise self._invalid("pause_clock", clock=f"{clock!r} is already paused since {current.paused_on}")
        self._record(ctx, a, {"clock": clock, "paused_on": ctx.today})

    def _on_pause_clock(self, event: Case.Event) -> None:
        name = event.data["clock"]
        self.clocks[name] = dataclasses.replace(self.clocks[name], paused_on=event.data["paused_on"])

    def resume_clock(self, ctx: Context, *, clock: ClockName) -> None:
        a = self._guard(ctx, "resume_clock")
        current = self._open_clock(clock, "resume_clock")
        if current.paused_on is None:
            raise self._invalid("resume_clock", clock=f"{clock!r} is not paused")
        if not current.working_days:
            paused_days = max((ctx.today - current.paused_on).days, 0)
            data = {"clock": clock, "due_on": current.due_on + timedelta(days=paused_days), "paused_days": paused_days}
        else:  # a working-day clock stood still for the working days it was paused, and moves by as many
            policy = ctx.policy
            paused_days = policy.working_days_between(current.paused_on, ctx.today)
            due = policy.add_days(current.due_on, paused_days, working_days=True)
            official = current.calendar == CALENDAR_OFFICIAL
            official = official and policy.calendar_between(current.paused_on, due) == CALENDAR_OFFICIAL
            calendar = CALENDAR_OFFICIAL if official else CALENDAR_WEEKENDS_ONLY
            data = {
                "clock": clock,
                "due_on": due,
                "paused_days": paused_days,
                "working_days": True,
                "calendar": calendar,
            }
        self._record(ctx, a, data)

    def _on_resume_clock(self, event: Case.Event) -> None:
        name = event.data["clock"]
        moved = {"paused_on": None, "due_on": event.data["due_on"]}
        if "calendar" in event.data:
            moved["calendar"] = event.data["calendar"]
        self.clocks[name] = dataclasses.replace(self.clocks[name], **moved)

    def extend_clock(
        self, ctx: Context, *, clock: ClockName, days: int | None = None, due_on: date | None = None
    ) -> None:
        a = self._guard(ctx, "extend_clock")
        if clock in self.DEDICATED_EXTENSIONS:
            raise self._refuse(
                "extend_clock", f"clock {clock!r} is extended with '{self.DEDICATED_EXTENSIONS[clock]}'", ctx
            )
        current = self._open_clock(clock, "extend_clock")
        new_due = self._extended_due(current, days, due_on, "extend_clock")
        self._record(ctx, a, {"clock": clock, "due_on": new_due, "previous_due_on": current.due_on})

    def alerted(self, clock: Clock) -> bool:
        """An alert was already raised for `clock` on its current due date."""
        return any(x["clock"] == clock.name and x["due_on"] == clock.due_on for x in self.alerts)

    def raise_alert(
        self, ctx: Context, *, clock: ClockName, notify: Annotated[Sequence[str], Text(max=200)] = ()
    ) -> None:
        """Record, once per clock and due date, that a clock ran out and whom it was reported to."""
        a = self._guard(ctx, "raise_alert")
        current = self._open_clock(clock, "raise_alert")
        if not current.is_overdue(ctx.today):
            raise self._refuse("raise_alert", f"clock {clock!r} has not run out (due {current.due_on})", ctx)
        if self.alerted(current):
            raise self._refuse(
                "raise_alert", f"an alert for clock {clock!r} due {current.due_on} was already raised", ctx
            )
        if isinstance(notify, str) or not all(isinstance(n, str) and n.strip() for n in notify):
            raise self._invalid("raise_alert", notify="must be a list of user ids")
        self._record(ctx, a, {"clock": clock, "due_on": current.due_on, "notify": [n.strip() for n in notify]})

    def _on_raise_alert(self, event: Case.Event) -> None:
        self.alerts.append({**event.data, "raised_at": event.occurred_at})

    def _extended_due(self, current: Clock, days: int | None, due_on: date | None, name: str) -> date:
        if (days is None) == (due_on is None):
            raise self._invalid(name, days="give either days or due_on")
        if days is not None:
            if isinstance(days, bool) or not isinstance(days, int) or days < 1 or days > 366:
                raise self._invalid(name, days="must be a whole number of days from 1 to 366")
            return current.due_on + timedelta(days=days)
        if not isinstance(due_on, date) or isinstance(due_on, datetime):
            raise self._invalid(name, due_on="must be a date")
        if due_on <= current.due_on:
            raise self._invalid(name, due_on=f"must be after the current due date {current.due_on}")
        return due_on

    def _on_extend_clock(self, event: Case.Event) -> None:
        name = event.data["clock"]
        c = self.clocks[name]
        self.clocks[name] = dataclasses.replace(c, due_on=event.data["due_on"], extensions=c.extensions + 1)

    def erase_personal_data(self, ctx: Context, *, persons: Sequence[str]) -> None:
        """Record the erasure of the personal data of `persons` (where they are in the case: "worker",
        "applicants.1"). The engine destroys their keys in the same transaction (engine/erasure.py); this event is
        what the case's history keeps of it: who, when and why, and never the data."""
        a = self._guard(ctx, "erase_personal_data")
        if not persons:
            raise self._invalid("erase_personal_data", persons="name at least one person")
        self._record(ctx, a, {"persons": list(persons)})


def case_type(cls: type[TCase]) -> type[TCase]:
    """Class decorator: generate one event class per action of the stage table."""
    for a in cls.TABLE.actions.values():
        if a.event in cls.__dict__:
            event_cls = cls.__dict__[a.event]  # hand-written (e.g. versioned) event class
        else:
            base = cls.Opened if a.creates else cls.Event
            event_cls = type(a.event, (base,), {"__module__": cls.__module__})
            event_cls.__qualname__ = f"{cls.__qualname__}.{a.event}"
            setattr(cls, a.event, event_cls)
        event_cls.ACTION = a.name
    return cls


def event_action(event: Case.Event) -> str:
    return type(event).ACTION


def case_event(event: object) -> Case.Event:
    """`event` as the case event it is: the library hands events out typed as any domain event."""
    if not isinstance(event, Case.Event):
        raise TypeError(f"{type(event).__qualname__} is not a case's event")
    return event


def require(fields: dict[str, str], condition: bool, name: str, problem: str) -> None:
    """Collect a field problem so one refusal names every bad field."""
    if not condition:
        fields.setdefault(name, problem)


__all__ = [
    "Case",
    "Clock",
    "Context",
    "case_event",
    "case_type",
    "common_actions",
    "event_action",
    "new_clock",
    "require",
    "DeadlinePolicy",
    "DEFAULT_POLICY",
    "field",
]
