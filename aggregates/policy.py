"""Deadline and assistance policy: legal defaults that a federation may override.

The aggregates compute due dates with it when a clock opens and record the result in
the event, so a later policy change never rewrites the past.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal


@dataclass(frozen=True)
class ClockRule:
    """How long a legal clock runs: `days` calendar days, or working days."""

    days: int
    working_days: bool = False


DEFAULT_CLOCKS: Mapping[str, ClockRule] = {
    # 劳动争议调解仲裁法 / 企业劳动争议协商调解规定
    "dispute.acceptance": ClockRule(3, working_days=True),
    "dispute.mediation": ClockRule(15),
    "dispute.mediation_extension": ClockRule(15),
    # 集体合同规定 arts. 32, 42, 47
    "negotiation.reply": ClockRule(20),
    "negotiation.proposal_reply": ClockRule(20),
    "negotiation.filing": ClockRule(10),
    "negotiation.objection": ClockRule(15),
    "negotiation.renewal_notice": ClockRule(90),
    # 工会劳动法律监督
    "rectification.reply": ClockRule(15),
    "rectification.item": ClockRule(30),  # deadline of the item a scheduled rectification proposal names
    # 困难职工帮扶
    "hardship.verification": ClockRule(15),
    "hardship.review": ClockRule(365),
}

ESCALATION_RUNGS = ("acting_offer", "rectification", "referral")
"""The steps the scheduler takes when an enterprise does not answer: the acting offer by the higher-level union,
the rectification proposal, and the referral to the labor inspectorate."""
ESCALATION_MODES = ("auto", "confirm")
"""Per rung: the scheduler takes the step itself, or proposes it for a supervisor to confirm or dismiss."""


def escalation_modes(value: str | Mapping[str, str]) -> dict[str, str]:
    """The mode of every rung: one mode is shorthand for all of them; a mapping names rungs (any left out: "auto").
    Anything else is a ValueError naming the setting (`escalation` or `escalation.<rung>`) and the value."""
    if isinstance(value, str):
        return {rung: _mode("escalation", value) for rung in ESCALATION_RUNGS}
    if isinstance(value, Mapping):
        unknown = [rung for rung in value if rung not in ESCALATION_RUNGS]
        if unknown:
            raise ValueError(f"escalation: unknown rung {unknown[0]!r}; rungs: {', '.join(ESCALATION_RUNGS)}")
        return {rung: _mode(f"escalation.{rung}", value.get(rung, "auto")) for rung in ESCALATION_RUNGS}
    raise ValueError(
        f"escalation must be 'auto', 'confirm', or a table of rungs ({', '.join(ESCALATION_RUNGS)}) "
        f"each 'auto' or 'confirm', got {value!r}"
    )


def _mode(setting: str, mode: object) -> str:
    if mode not in ESCALATION_MODES:
        raise ValueError(f"{setting} must be 'auto' or 'confirm', got {mode!r}")
    return str(mode)


DEFAULT_ANNUAL_CAPS: Mapping[str, Decimal] = {
    "living": Decimal("12000"),
    "medical": Decimal("30000"),
    "education": Decimal("10000"),
    "holiday": Decimal("2000"),
    "employment": Decimal("5000"),
}


CALENDAR_OFFICIAL = "official"
"""A working-day clock's due date counted wholly on the published calendar."""
CALENDAR_WEEKENDS_ONLY = "weekends_only"
"""A working-day clock's due date counted, at least in part, past the published calendar: there only Saturdays,
Sundays and the policy file's own days are days off, so a holiday not yet published is counted as worked."""


@dataclass(frozen=True)
class WorkCalendar:
    """A published working-day calendar (the State Council's holiday arrangements): weekdays off and weekend days
    worked in exchange (调休), for the days from `first` to `last`. Outside them nothing is published and only
    Saturdays and Sundays are days off. The engine fills it from the official data; here it is only data."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    first: date | None = None
    last: date | None = None

    def covers(self, day: date) -> bool:
        return self.first is not None and self.last is not None and self.first <= day <= self.last

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


WEEKENDS_ONLY = WorkCalendar()
"""No published calendar: Monday to Friday are working days."""


@dataclass(frozen=True)
class DeadlinePolicy:
    """Clock lengths, the working-day calendar, back-dating limit and aid caps.

    A day is a working day by `calendar` (the official one, as the engine builds it), unless the policy file
    names it: its `extra_workdays` are worked and its `holidays` are not, whatever the calendar says."""

    clocks: Mapping[str, ClockRule] = field(default_factory=lambda: dict(DEFAULT_CLOCKS))
    holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    calendar: WorkCalendar = WEEKENDS_ONLY
    max_backdate_days: int = 30
    annual_caps: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_ANNUAL_CAPS))
    escalation: Mapping[str, str] | str = "auto"
    """Per rung of ESCALATION_RUNGS, "auto" or "confirm"; given as one mode, it applies to every rung."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "escalation", escalation_modes(self.escalation))

    def confirms(self, rung: str) -> bool:
        """Whether the scheduler only proposes this rung of the escalation ladder, for a supervisor to confirm."""
        modes = self.escalation
        assert not isinstance(modes, str)  # made a mapping when the policy is made
        return modes[rung] == "confirm"

    def rule(self, clock: str) -> ClockRule:
        try:
            return self.clocks[clock]
        except KeyError:
            raise KeyError(f"no deadline policy for clock {clock!r}") from None

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.holidays:
            return False
        return self.calendar.is_working_day(day)

    def calendar_between(self, start: date, end: date) -> str:
        """Which calendar counted the working days after `start` up to `end`: CALENDAR_OFFICIAL when the published
        calendar covers them all, else CALENDAR_WEEKENDS_ONLY (recorded on the clock and shown beside its date)."""
        first = min(start + timedelta(days=1), end)
        covered = self.calendar.covers(first) and self.calendar.covers(end)
        return CALENDAR_OFFICIAL if covered else CALENDAR_WEEKENDS_ONLY

    def working_days_between(self, start: date, end: date) -> int:
        """The working days after `start` up to and including `end` (0 when `end` is not after `start`)."""
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))

    def add_days(self, start: date, days: int, *, working_days: bool) -> date:
        """The day `days` days after `start` (the start day itself not counted)."""
        if not working_days:
            return start + timedelta(days=days)
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def due(self, clock: str, start: date) -> date:
        rule = self.rule(clock)
        return self.add_days(start, rule.days, working_days=rule.working_days)

    def with_clock(self, clock: str, days: int, working_days: bool = False) -> DeadlinePolicy:
        return replace(self, clocks={**self.clocks, clock: ClockRule(days, working_days)})


DEFAULT_POLICY = DeadlinePolicy()
