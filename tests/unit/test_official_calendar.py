"""Working-day clocks on China's official calendar (engine/calendar.py): weekday holidays are not worked, make-up
Saturdays and Sundays (调休上班) are, and past the years the calendar is published for only weekends are days off,
which the clock records.

Every expected date is counted by hand from the State Council's notices, never asked of the package:
- 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号): National Day and Mid-Autumn Festival, Wed 1 to
  Wed 8 October 2025 off; Sun 28 September and Sat 11 October worked.
- 国务院办公厅关于2026年部分节假日安排的通知 (国办发明电〔2025〕7号): Spring Festival, Sun 15 to Mon 23 February 2026
  off; Sat 14 and Sat 28 February worked.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import uuid4

import chinese_calendar
import pytest

from aggregates.base import DEFAULT_TZ, Clock
from aggregates.labor_dispute import LaborDispute
from aggregates.policy import CALENDAR_OFFICIAL, CALENDAR_WEEKENDS_ONLY
from engine.calendar import official_calendar, official_policy
from tests.unit.support import Desk, replay

OFFICIAL = official_policy()


def at(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), DEFAULT_TZ).replace(hour=9)


def file_dispute(desk: Desk) -> LaborDispute:
    return LaborDispute.file(
        desk.ctx("mediator"),
        case_id=uuid4(),
        number="LD-2025-000930",
        org_unit="suzhou-industrial-park",
        employer={"name": "Suzhou Precision Parts Co.", "credit_code": "91320594MA1XXXXXXH"},
        applicants=[{"name": "Wang Fang", "id_number": "320501199001011238", "phone": "13800000000"}],
        workers_involved=1,
        claims=[{"category": "wages", "amount": "5200.5", "description": "September wages unpaid"}],
        summary="Unpaid wages",
    )


def test_a_dispute_filed_on_the_eve_of_national_day_2025_is_due_on_the_make_up_saturday():
    # Filed Tue 30 September 2025. Wed 1 to Wed 8 October are off (2025 notice); Thu 9 (1), Fri 10 (2) and the
    # make-up Sat 11 October (3) are worked. On weekends alone it would have been due Fri 3 October.
    desk = Desk(now=at(date(2025, 9, 30)), policy=OFFICIAL)
    case = file_dispute(desk)
    acceptance = case.clocks["acceptance"]
    assert acceptance == Clock(
        "acceptance",
        date(2025, 9, 30),
        date(2025, 10, 11),
        working_days=True,
        calendar=CALENDAR_OFFICIAL,
    )
    assert case.pending_events[0].clocks_opened["acceptance"]["calendar"] == "official"
    assert replay(case).clocks["acceptance"] == acceptance  # read back from the event, not counted again


@pytest.mark.parametrize(
    ("filed", "due"),
    [
        # Fri 26 September 2025: Sat 27 is off, the make-up Sun 28 (1), Mon 29 (2), Tue 30 (3).
        (date(2025, 9, 26), date(2025, 9, 30)),
        # Thu 9 October 2025: Fri 10 (1), the make-up Sat 11 (2), Sun 12 off, Mon 13 (3).
        (date(2025, 10, 9), date(2025, 10, 13)),
    ],
)
def test_a_make_up_working_day_counts(filed, due):
    assert OFFICIAL.due("dispute.acceptance", filed) == due
    assert OFFICIAL.calendar_between(filed, due) == CALENDAR_OFFICIAL


@pytest.mark.parametrize(
    ("filed", "due"),
    [
        # Fri 13 February 2026: the make-up Sat 14 (1); Sun 15 to Mon 23 off (2026 notice); Tue 24 (2), Wed 25 (3).
        (date(2026, 2, 13), date(2026, 2, 25)),
        # Thu 26 February 2026: Fri 27 (1), the make-up Sat 28 (2), Sun 1 March off, Mon 2 March (3).
        (date(2026, 2, 26), date(2026, 3, 2)),
        # Sat 14 February 2026, itself worked but not counted: Tue 24 (1), Wed 25 (2), Thu 26 (3).
        (date(2026, 2, 14), date(2026, 2, 26)),
    ],
)
def test_the_acceptance_clock_across_spring_festival_2026(filed, due):
    assert OFFICIAL.due("dispute.acceptance", filed) == due


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 10, 1), False),  # National Day, a Wednesday
        (date(2025, 10, 8), False),  # the last day of the 2025 National Day holiday, a Wednesday
        (date(2025, 9, 28), True),  # a make-up Sunday
        (date(2025, 10, 11), True),  # a make-up Saturday
        (date(2026, 2, 23), False),  # 正月初七, a Monday off
        (date(2026, 2, 28), True),  # a make-up Saturday
        (date(2026, 3, 2), True),  # an ordinary Monday
        (date(2026, 3, 7), False),  # an ordinary Saturday
    ],
)
def test_is_working_day_on_the_official_calendar(day, working):
    assert OFFICIAL.is_working_day(day) is working


def test_a_date_past_the_published_years_counts_weekends_only_and_says_so():
    # Wed 30 September 2099, a year no notice covers: Thu 1 October (National Day, but unpublished, so counted as
    # worked) (1), Fri 2 (2), Sat 3 and Sun 4 off, Mon 5 October (3).
    desk = Desk(now=at(date(2099, 9, 30)), policy=OFFICIAL)
    acceptance = file_dispute(desk).clocks["acceptance"]
    assert (acceptance.due_on, acceptance.calendar) == (date(2099, 10, 5), CALENDAR_WEEKENDS_ONLY)


def test_a_clock_running_past_the_last_published_day_is_marked_weekends_only():
    if official_calendar().covers(date(2027, 1, 1)):
        pytest.skip("the installed chinesecalendar publishes 2027: this clock no longer leaves the calendar")
    # Mon 28 December 2026: Tue 29 (1), Wed 30 (2), Thu 31 (3), all published (2026 notice).
    assert OFFICIAL.due("dispute.acceptance", date(2026, 12, 28)) == date(2026, 12, 31)
    assert OFFICIAL.calendar_between(date(2026, 12, 28), date(2026, 12, 31)) == CALENDAR_OFFICIAL
    # Wed 30 December 2026: Thu 31 (1), Fri 1 January 2027 (New Year's Day, no 2027 notice yet: counted as worked)
    # (2), Mon 4 January (3).
    assert OFFICIAL.due("dispute.acceptance", date(2026, 12, 30)) == date(2027, 1, 4)
    assert OFFICIAL.calendar_between(date(2026, 12, 30), date(2027, 1, 4)) == CALENDAR_WEEKENDS_ONLY


def test_the_calendar_covers_exactly_the_years_the_package_knows():
    calendar = official_calendar()
    assert calendar.first is not None and calendar.last is not None
    assert calendar.first <= date(2025, 1, 1) and calendar.last >= date(2026, 12, 31)  # at least the two notices
    chinese_calendar.is_workday(calendar.first)
    chinese_calendar.is_workday(calendar.last)
    for outside in (calendar.first - timedelta(days=1), calendar.last + timedelta(days=1)):
        with pytest.raises(NotImplementedError):
            chinese_calendar.is_workday(outside)
        assert not calendar.covers(outside)


def test_pausing_a_working_day_clock_counts_the_working_days_paused():
    # Filed Fri 26 September 2025, due Tue 30 September (see above); paused on the make-up Sun 28 September with
    # two working days left (Mon 29, Tue 30).
    desk = Desk(now=at(date(2025, 9, 26)), policy=OFFICIAL)
    case = file_dispute(desk)
    assert case.clocks["acceptance"].due_on == date(2025, 9, 30)
    desk.advance(days=2)
    case.pause_clock(desk.ctx("supervisor", reason="the applicant is unreachable"), clock="acceptance")
    # Resumed Fri 10 October: it stood still over Mon 29, Tue 30 September, Thu 9 and Fri 10 October, 4 working
    # days (1 to 8 October are off). Tue 30 September + 4 working days: Thu 9, Fri 10, the make-up Sat 11, Mon 13.
    # Counted in calendar days (12) it would have been Sun 12 October, a day off.
    desk.advance(days=12)
    case.resume_clock(desk.ctx("supervisor"), clock="acceptance")
    resumed = case.clocks["acceptance"]
    assert (resumed.due_on, resumed.paused_on, resumed.calendar) == (date(2025, 10, 13), None, CALENDAR_OFFICIAL)
    assert case.pending_events[-1].data == {
        "clock": "acceptance",
        "due_on": date(2025, 10, 13),
        "paused_days": 4,
        "working_days": True,
        "calendar": "official",
    }
    # Two working days left again on resuming (the make-up Sat 11, Mon 13), as when it was paused.
    assert OFFICIAL.working_days_between(date(2025, 10, 10), resumed.due_on) == 2
    assert replay(case).clocks["acceptance"] == resumed


def test_a_working_day_clock_resumed_past_the_published_years_is_marked_weekends_only():
    if official_calendar().covers(date(2027, 1, 1)):
        pytest.skip("the installed chinesecalendar publishes 2027: this clock no longer leaves the calendar")
    # Filed Mon 28 December 2026, due Thu 31 December (official); paused that Monday, resumed Tue 29 December after
    # 1 working day: due Thu 31 December + 1 working day = Fri 1 January 2027, unpublished, so weekends only.
    desk = Desk(now=at(date(2026, 12, 28)), policy=OFFICIAL)
    case = file_dispute(desk)
    assert case.clocks["acceptance"].calendar == CALENDAR_OFFICIAL
    case.pause_clock(desk.ctx("supervisor", reason="the applicant is unreachable"), clock="acceptance")
    desk.advance(days=1)
    case.resume_clock(desk.ctx("supervisor"), clock="acceptance")
    resumed = case.clocks["acceptance"]
    assert (resumed.due_on, resumed.calendar) == (date(2027, 1, 1), CALENDAR_WEEKENDS_ONLY)
