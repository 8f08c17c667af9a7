"""China's official working-day calendar, as the policy's working-day clocks count it.

The State Council publishes each year's holiday arrangements (国务院办公厅关于<year>年部分节假日安排的通知): weekdays
off, and Saturdays or Sundays worked in exchange (调休上班). The `chinesecalendar` package keeps them, year by year;
here they become the plain `WorkCalendar` data the aggregates count with, so the domain stays free of the package.

The package knows whole years only (it refuses any date of a year it has no notice for); the calendar covers
exactly those years. A clock that runs past them is counted on weekends alone and marked so (CALENDAR_WEEKENDS_ONLY):
a new release of the package covers the next year once its notice is out, and clocks opened from then on use it.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

import chinese_calendar

from aggregates.policy import DeadlinePolicy, WorkCalendar


@cache
def official_calendar() -> WorkCalendar:
    """Every published holiday and make-up working day the installed package knows, and the years it covers."""
    holidays = frozenset(_days(chinese_calendar.holidays))
    workdays = frozenset(_days(chinese_calendar.workdays))
    years = {day.year for day in holidays}  # as the package itself judges which years it knows
    return WorkCalendar(
        holidays=holidays,
        workdays=workdays,
        first=date(min(years), 1, 1),
        last=date(max(years), 12, 31),
    )


def _days(published: Any) -> list[date]:
    """The dates of one of the package's tables (date -> the holiday's name)."""
    return [day for day in published if isinstance(day, date)]


def official_policy(**settings: Any) -> DeadlinePolicy:
    """The legal defaults (or `settings` over them) counting working days on the official calendar."""
    return DeadlinePolicy(calendar=official_calendar(), **settings)
