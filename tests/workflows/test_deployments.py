"""The product's deployments and their schedule settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from engine.config import ConfigurationError, Settings
from workflows.deployments import CAMPAIGN_DEPLOYMENT, SCHEDULES, Scheduled, deployments, schedule_for

ESCALATION = SCHEDULES[0]
SETTING = "CASEWORK_SCHEDULE_ESCALATION"


def parsed(value: str, timezone: str = "Asia/Shanghai"):
    return schedule_for(ESCALATION, timezone, {SETTING: value})


def test_a_cron_expression_is_a_cron_schedule_in_the_federations_time_zone() -> None:
    schedule = parsed("*/10 8-18 * * MON-FRI")
    assert (schedule.cron, schedule.interval, schedule.timezone) == ("*/10 8-18 * * MON-FRI", None, "Asia/Shanghai")
    assert parsed("0 6 1 * *", "UTC").timezone == "UTC"


@pytest.mark.parametrize(("value", "seconds"), [("30s", 30), ("10m", 600), ("2h", 7200), (" 45 ", 45), ("5", 5)])
def test_an_interval_in_seconds_minutes_or_hours(value: str, seconds: int) -> None:
    schedule = parsed(value)
    assert (schedule.interval, schedule.cron) == (timedelta(seconds=seconds), None)


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_off_means_no_schedule(value: str) -> None:
    assert parsed(value) is None


def test_an_unset_or_empty_setting_takes_the_default() -> None:
    assert schedule_for(ESCALATION, "Asia/Shanghai", {}).cron == "*/15 * * * *"
    assert schedule_for(ESCALATION, "Asia/Shanghai", {SETTING: ""}).cron == "*/15 * * * *"
    rebuild = next(s for s in SCHEDULES if s.flow_name == "rebuild-read-models")
    assert schedule_for(rebuild, "Asia/Shanghai", {}) is None  # off by default
    assert schedule_for(Scheduled("offer-campaign", None, "off"), "Asia/Shanghai", {SETTING: "10m"}) is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("61 * * * *", "not a valid cron expression"),
        ("* * *", "expected a cron expression, an interval like 10m, or off"),
        ("10d", "expected a cron expression"),
        ("every 10m", "expected a cron expression"),
        ("3s", "at least 5 seconds"),
        ("0", "at least 5 seconds"),
    ],
)
def test_a_bad_value_is_refused_naming_the_setting(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        parsed(value)
    message = str(error.value)
    assert message.startswith(f"{SETTING}: ") and problem in message and repr(value) in message


def test_deployments_builds_all_nine_with_their_configured_schedules(tmp_path: Path) -> None:
    settings = Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_TIMEZONE": "Asia/Shanghai"})
    env = {
        "CASEWORK_SCHEDULE_ESCALATION": "10m",
        "CASEWORK_SCHEDULE_LEGAL_CLOCKS": "off",
        "CASEWORK_SCHEDULE_REBUILD": "0 3 * * SUN",
        "CASEWORK_SCHEDULE_DIGEST": "30 7 * * *",
    }
    built = {f"{d.flow_name}/{d.name}": d for d in deployments(settings, env)}
    assert set(built) == {
        "escalation-sweep/casework",
        "legal-clock-sweep/casework",
        "verify-event-store/casework",
        "statistics-report/casework",
        "rebuild-read-models/casework",
        CAMPAIGN_DEPLOYMENT,
        "deliver-notifications/casework",
        "notification-digest/casework",
        "checkpoint-event-store/casework",
    }

    def schedules(name: str) -> list[tuple[object, object, str]]:
        return [
            (s.schedule.model_dump().get("cron"), s.schedule.model_dump().get("interval"), s.schedule.timezone)
            for s in built[name].schedules
        ]

    assert schedules("escalation-sweep/casework") == [(None, timedelta(minutes=10), "Asia/Shanghai")]
    assert schedules("legal-clock-sweep/casework") == []
    assert schedules("verify-event-store/casework") == [("30 2 * * *", None, "Asia/Shanghai")]
    assert schedules("statistics-report/casework") == [("0 6 1 * *", None, "Asia/Shanghai")]
    assert schedules("rebuild-read-models/casework") == [("0 3 * * SUN", None, "Asia/Shanghai")]
    assert schedules(CAMPAIGN_DEPLOYMENT) == []
    assert schedules("deliver-notifications/casework") == [("* * * * *", None, "Asia/Shanghai")]
    assert schedules("notification-digest/casework") == [("30 7 * * *", None, "Asia/Shanghai")]
    assert schedules("checkpoint-event-store/casework") == [("45 2 * * *", None, "Asia/Shanghai")]
    assert all(d.tags == ["casework"] and d.description for d in built.values())


def test_deployments_refuses_a_bad_schedule_naming_its_setting(tmp_path: Path) -> None:
    settings = Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)})
    with pytest.raises(ConfigurationError, match="^CASEWORK_SCHEDULE_STATISTICS: "):
        deployments(settings, {"CASEWORK_SCHEDULE_STATISTICS": "monthly"})
