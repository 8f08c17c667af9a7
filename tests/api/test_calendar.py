"""The case JSON tells which calendar counted each working-day clock: `official` (the State Council's holidays and
make-up working days) or `weekends_only` past the years the official calendar is published for."""

from __future__ import annotations

from datetime import datetime

from aggregates.base import DEFAULT_TZ
from tests.api.conftest import ApiWorld
from tests.api.support import collection, dispute


def test_the_case_json_tells_which_calendar_counted_the_acceptance_clock(api: ApiWorld) -> None:
    # Tue 30 September 2025 (国务院办公厅关于2025年部分节假日安排的通知): 1 to 8 October off, Thu 9 (1), Fri 10 (2),
    # the make-up Sat 11 October (3).
    api.clock.set(datetime(2025, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    opened = api["mediator"].post(collection("labor_dispute"), dispute())
    assert opened.status_code == 201
    (clock,) = api["mediator"].get(f"/cases/{opened.get_json()['case_id']}").get_json()["clocks"]
    assert (clock["name"], clock["due_on"], clock["working_days"], clock["calendar"]) == (
        "acceptance",
        "2025-10-11",
        True,
        "official",
    )


def test_a_clock_past_the_published_years_is_marked_weekends_only(api: ApiWorld) -> None:
    # Wed 30 September 2099, no notice published: Thu 1 October counted as worked (1), Fri 2 (2), Mon 5 (3).
    api.clock.set(datetime(2099, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    opened = api["mediator"].post(collection("labor_dispute"), dispute())
    assert opened.status_code == 201
    (clock,) = opened.get_json()["clocks"]
    assert (clock["due_on"], clock["calendar"]) == ("2099-10-05", "weekends_only")
