"""The engine counts working days on China's official calendar by default, with the policy file's holidays and
working days over it, and the case view tells which calendar counted each working-day clock.

Expected dates are counted by hand from 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号):
Wed 1 to Wed 8 October 2025 off; Sun 28 September and Sat 11 October worked.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from aggregates.base import DEFAULT_TZ
from engine.calendar import official_calendar
from engine.clock import FixedClock
from engine.config import Settings
from engine.service import Actor, Casework
from engine.views import case_view
from tests.conftest import make_settings
from tests.integration.scenarios import credit_code, file_dispute

SUPERVISOR = Actor("supervisor-1", "supervisor")
EVE_OF_NATIONAL_DAY = date(2025, 9, 30)


def test_the_default_policy_counts_on_the_official_calendar(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url)
    assert settings.policy.calendar == official_calendar()
    # Tue 30 September 2025: Thu 9 (1), Fri 10 (2), the make-up Sat 11 October (3).
    assert settings.policy.due("dispute.acceptance", EVE_OF_NATIONAL_DAY) == date(2025, 10, 11)
    assert Settings(database_url=database_url, data_dir=tmp_path).policy.calendar == official_calendar()


def test_the_policy_file_adds_local_holidays_and_working_days_over_the_official_calendar(
    tmp_path: Path, database_url: str
) -> None:
    policy_file = tmp_path / "policy.toml"
    # A local holiday on Thu 9 October and a Sunday worked locally, 12 October.
    policy_file.write_text("holidays = [2025-10-09]\nextra_workdays = [2025-10-12]\n", encoding="utf-8")
    env = {"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_DATABASE_URL": database_url}
    local = Settings.from_env({**env, "CASEWORK_POLICY_FILE": str(policy_file)}).policy
    assert local.calendar == official_calendar()
    # Tue 30 September: Thu 9 off locally, Fri 10 (1), the make-up Sat 11 (2), Sun 12 worked locally (3).
    assert local.due("dispute.acceptance", EVE_OF_NATIONAL_DAY) == date(2025, 10, 12)
    # A correction: the make-up Saturday named a holiday is not worked; Thu 9 (1), Fri 10 (2), Mon 13 (3).
    policy_file.write_text("holidays = [2025-10-11]\n", encoding="utf-8")
    corrected = Settings.from_env({**env, "CASEWORK_POLICY_FILE": str(policy_file)}).policy
    assert corrected.due("dispute.acceptance", EVE_OF_NATIONAL_DAY) == date(2025, 10, 13)


def test_the_case_view_tells_which_calendar_counted_each_clock(cw: Casework, clock: FixedClock) -> None:
    clock.set(datetime(2025, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    opened = file_dispute(cw)
    (acceptance,) = case_view(cw.get(opened.case_id))["clocks"]
    assert (acceptance["due_on"], acceptance["working_days"], acceptance["calendar"]) == (
        "2025-10-11",
        True,
        "official",
    )
    clock.set(datetime(2025, 10, 9, 9, 0, tzinfo=DEFAULT_TZ))
    cw.execute(opened.case_id, "accept", SUPERVISOR)
    (mediation,) = case_view(cw.get(opened.case_id))["clocks"]  # 15 calendar days: no calendar to tell
    assert (mediation["due_on"], mediation["working_days"], mediation["calendar"]) == ("2025-10-24", False, None)
    # Far past the published years: Wed 30 September 2099, Thu 1 October counted as worked (1), Fri 2 (2), Mon 5 (3).
    clock.set(datetime(2099, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    later = file_dispute(
        cw,
        employer={"name": "苏州另一家机械有限公司", "credit_code": credit_code(2)},
        applicants=[{"name": "王芳", "id_number": "320501199001011238", "phone": "13800000001"}],
    )
    (far,) = case_view(cw.get(later.case_id))["clocks"]
    assert (far["due_on"], far["calendar"]) == ("2099-10-05", "weekends_only")
