"""DeadlinePolicy: calendar and working-day arithmetic, holidays, make-up workdays, overrides."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates.base import DEFAULT_TZ
from aggregates.labor_dispute import LaborDispute
from aggregates.policy import (
    CALENDAR_OFFICIAL,
    CALENDAR_WEEKENDS_ONLY,
    DEFAULT_ANNUAL_CAPS,
    DEFAULT_POLICY,
    ESCALATION_RUNGS,
    ClockRule,
    DeadlinePolicy,
    WorkCalendar,
)
from tests.unit.support import Desk

# A holiday calendar in the shape the State Council publishes each year: a block of days off
# and a Saturday worked in exchange (调休). The dates are illustrative test data.
LABOR_DAY = frozenset(date(2026, 5, d) for d in range(1, 6))  # Fri 1 - Tue 5 May
MAKE_UP_SATURDAY = date(2026, 5, 9)
CALENDAR = DeadlinePolicy(holidays=LABOR_DAY | {date(2026, 4, 6)}, extra_workdays=frozenset({MAKE_UP_SATURDAY}))


def test_default_clock_lengths_follow_the_law():
    assert DEFAULT_POLICY.rule("dispute.acceptance") == ClockRule(3, working_days=True)
    assert DEFAULT_POLICY.rule("dispute.mediation") == ClockRule(15)
    assert DEFAULT_POLICY.rule("negotiation.reply") == ClockRule(20)
    assert DEFAULT_POLICY.rule("rectification.reply") == ClockRule(15)
    assert DEFAULT_POLICY.rule("hardship.verification") == ClockRule(15)
    assert DEFAULT_POLICY.rule("hardship.review") == ClockRule(365)
    assert DEFAULT_POLICY.max_backdate_days == 30
    assert DEFAULT_POLICY.annual_caps == DEFAULT_ANNUAL_CAPS


def test_the_escalation_policy_is_per_rung_and_one_mode_is_shorthand_for_every_rung():
    assert DEFAULT_POLICY.escalation == {"acting_offer": "auto", "rectification": "auto", "referral": "auto"}
    everything = replace(DEFAULT_POLICY, escalation="confirm")
    assert all(everything.confirms(rung) for rung in ESCALATION_RUNGS)
    signed = DeadlinePolicy(escalation={"acting_offer": "auto", "rectification": "confirm"})
    assert [signed.confirms(rung) for rung in ESCALATION_RUNGS] == [False, True, False]  # a rung left out: auto


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sometimes", "escalation must be 'auto' or 'confirm', got 'sometimes'"),
        ({"rectification": "yes"}, "escalation.rectification must be 'auto' or 'confirm', got 'yes'"),
        (
            {"acting-offer": "auto"},
            "escalation: unknown rung 'acting-offer'; rungs: acting_offer, rectification, referral",
        ),
        (5, "escalation must be 'auto', 'confirm', or a table of rungs"),
    ],
)
def test_a_wrong_escalation_setting_is_refused_naming_it(value, message):
    with pytest.raises(ValueError) as err:
        DeadlinePolicy(escalation=value)
    assert message in str(err.value)


def test_unknown_clock_names_the_clock():
    with pytest.raises(KeyError, match="no deadline policy for clock 'nope'"):
        DEFAULT_POLICY.due("nope", date(2026, 3, 2))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 3, 6), True),  # Friday
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 3, 8), False),  # Sunday
        (date(2026, 4, 6), False),  # a holiday Monday
        (date(2026, 5, 4), False),  # inside the Labor Day block
        (MAKE_UP_SATURDAY, True),  # a Saturday worked in exchange
    ],
)
def test_is_working_day(day, working):
    assert CALENDAR.is_working_day(day) is working


def test_an_extra_workday_wins_over_a_holiday_on_the_same_day():
    policy = DeadlinePolicy(holidays=frozenset({date(2026, 3, 7)}), extra_workdays=frozenset({date(2026, 3, 7)}))
    assert policy.is_working_day(date(2026, 3, 7))


# A published calendar in the same shape, covering 2026 only: Labor Day 2026 off, Sat 9 May worked.
PUBLISHED_2026 = WorkCalendar(
    holidays=LABOR_DAY, workdays=frozenset({MAKE_UP_SATURDAY}), first=date(2026, 1, 1), last=date(2026, 12, 31)
)


def test_the_published_calendar_decides_unless_the_policy_file_names_the_day():
    policy = DeadlinePolicy(calendar=PUBLISHED_2026)
    assert not policy.is_working_day(date(2026, 5, 4)) and policy.is_working_day(MAKE_UP_SATURDAY)
    assert DEFAULT_POLICY.is_working_day(date(2026, 5, 4)) and not DEFAULT_POLICY.is_working_day(MAKE_UP_SATURDAY)
    # The file's own days win either way: a local holiday on a published make-up Saturday, a day worked in a block.
    local = replace(policy, holidays=frozenset({MAKE_UP_SATURDAY}), extra_workdays=frozenset({date(2026, 5, 4)}))
    assert not local.is_working_day(MAKE_UP_SATURDAY) and local.is_working_day(date(2026, 5, 4))
    # Thu 30 April + 4 working days: Fri 1 to Tue 5 off, Wed 6 (1), Thu 7 (2), Fri 8 (3), the make-up Sat 9 (4);
    # under the local file Mon 4 is worked (1), Wed 6 (2), Thu 7 (3), Fri 8 (4), and Sat 9 is not.
    assert policy.add_days(date(2026, 4, 30), 4, working_days=True) == MAKE_UP_SATURDAY
    assert local.add_days(date(2026, 4, 30), 4, working_days=True) == date(2026, 5, 8)
    assert local.add_days(date(2026, 4, 30), 5, working_days=True) == date(2026, 5, 11)


def test_which_calendar_counted_a_due_date():
    policy = DeadlinePolicy(calendar=PUBLISHED_2026)
    assert policy.calendar_between(date(2026, 12, 28), date(2026, 12, 31)) == CALENDAR_OFFICIAL
    assert policy.calendar_between(date(2026, 12, 30), date(2027, 1, 4)) == CALENDAR_WEEKENDS_ONLY
    assert policy.calendar_between(date(2025, 12, 31), date(2026, 1, 5)) == CALENDAR_OFFICIAL  # start day not counted
    assert policy.calendar_between(date(2025, 12, 30), date(2026, 1, 5)) == CALENDAR_WEEKENDS_ONLY
    assert DEFAULT_POLICY.calendar_between(date(2026, 3, 2), date(2026, 3, 5)) == CALENDAR_WEEKENDS_ONLY
    # Past the published days only weekends are off: Fri 1 January 2027 counts as worked.
    assert policy.add_days(date(2026, 12, 30), 3, working_days=True) == date(2027, 1, 4)


def test_working_days_between_counts_after_the_start_up_to_the_end():
    policy = DeadlinePolicy(calendar=PUBLISHED_2026)
    assert policy.working_days_between(date(2026, 4, 30), date(2026, 5, 11)) == 5  # 6, 7, 8, Sat 9, 11 May
    assert policy.working_days_between(date(2026, 3, 6), date(2026, 3, 9)) == 1
    assert policy.working_days_between(date(2026, 3, 9), date(2026, 3, 9)) == 0
    assert policy.working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == 0


def test_calendar_days_ignore_weekends_and_holidays():
    assert CALENDAR.add_days(date(2026, 4, 30), 5, working_days=False) == date(2026, 5, 5)
    assert CALENDAR.due("dispute.mediation", date(2026, 3, 2)) == date(2026, 3, 17)
    assert CALENDAR.due("hardship.review", date(2026, 3, 2)) == date(2027, 3, 2)


def test_working_days_skip_the_weekend():
    # Filed on Friday 6 March: Mon 9, Tue 10, Wed 11.
    assert DEFAULT_POLICY.due("dispute.acceptance", date(2026, 3, 6)) == date(2026, 3, 11)
    # Filed on Monday: Tue, Wed, Thu.
    assert DEFAULT_POLICY.due("dispute.acceptance", date(2026, 3, 2)) == date(2026, 3, 5)


def test_working_days_skip_a_holiday():
    # Filed on Friday 3 April before a holiday Monday: Tue 7, Wed 8, Thu 9.
    assert CALENDAR.due("dispute.acceptance", date(2026, 4, 3)) == date(2026, 4, 9)
    assert DEFAULT_POLICY.due("dispute.acceptance", date(2026, 4, 3)) == date(2026, 4, 8)


def test_working_days_across_a_holiday_block_and_a_make_up_saturday():
    start = date(2026, 4, 30)  # Thursday before the Labor Day block
    assert CALENDAR.add_days(start, 1, working_days=True) == date(2026, 5, 6)
    assert CALENDAR.add_days(start, 3, working_days=True) == date(2026, 5, 8)
    assert CALENDAR.add_days(start, 4, working_days=True) == MAKE_UP_SATURDAY
    assert CALENDAR.add_days(start, 5, working_days=True) == date(2026, 5, 11)


def test_the_start_day_is_not_counted_even_when_it_is_not_a_working_day():
    assert DEFAULT_POLICY.add_days(date(2026, 3, 7), 1, working_days=True) == date(2026, 3, 9)
    assert DEFAULT_POLICY.add_days(date(2026, 3, 6), 0, working_days=True) == date(2026, 3, 6)
    assert DEFAULT_POLICY.add_days(date(2026, 3, 6), 0, working_days=False) == date(2026, 3, 6)


def test_with_clock_overrides_one_clock_without_touching_the_original():
    policy = DEFAULT_POLICY.with_clock("dispute.acceptance", 5, working_days=True)
    assert policy.due("dispute.acceptance", date(2026, 3, 6)) == date(2026, 3, 13)
    assert DEFAULT_POLICY.due("dispute.acceptance", date(2026, 3, 6)) == date(2026, 3, 11)
    assert policy.rule("dispute.mediation") == DEFAULT_POLICY.rule("dispute.mediation")
    assert policy.with_clock("dispute.mediation", 30).due("dispute.mediation", date(2026, 3, 2)) == date(2026, 4, 1)


def test_policies_do_not_share_their_caps():
    a, b = DeadlinePolicy(), DeadlinePolicy()
    assert a.annual_caps is not b.annual_caps
    assert replace(a, annual_caps={**a.annual_caps, "living": Decimal("1")}).annual_caps["living"] == Decimal("1")
    assert DEFAULT_POLICY.annual_caps["living"] == Decimal("12000")


def test_an_aggregate_uses_the_policy_in_its_context():
    desk = Desk(now=datetime(2026, 4, 30, 9, 0, tzinfo=DEFAULT_TZ), policy=CALENDAR)
    case = LaborDispute.file(
        desk.ctx("mediator"),
        case_id=uuid4(),
        number="LD-2026-000100",
        org_unit="u",
        employer={"name": "E"},
        applicants=[{"name": "A"}],
        workers_involved=1,
        claims=[{"category": "wages", "amount": 1}],
    )
    assert case.clocks["acceptance"].due_on == date(2026, 5, 8)
    # The due date is recorded in the event, so a later policy change never rewrites it.
    assert case.pending_events[0].clocks_opened["acceptance"]["due_on"] == date(2026, 5, 8)


@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31)),
    days=st.integers(min_value=1, max_value=40),
    holidays=st.frozensets(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 3, 31)), max_size=20),
    extra=st.frozensets(st.dates(min_value=date(2025, 1, 1), max_value=date(2028, 3, 31)), max_size=5),
)
def test_working_day_due_date_properties(start, days, holidays, extra):
    policy = DeadlinePolicy(holidays=holidays, extra_workdays=extra)
    due = policy.add_days(start, days, working_days=True)
    assert due > start
    assert policy.is_working_day(due)
    counted = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(policy.is_working_day(d) for d in counted) == days
