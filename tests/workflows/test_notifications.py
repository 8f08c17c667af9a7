"""The notification flows on Prefect's test server: an alert the legal-clock sweep raises is delivered by the
deliver-notifications flow to a real SMTP server and a real HTTP receiver that fails twice, once each; the run
leaves a summary artifact; the daily digest is written once a day however often its flow runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engine.channels import add_channel
from engine.clock import FixedClock
from engine.config import Settings
from engine.delivery import backoff
from engine.service import Casework
from tests.conftest import make_settings
from tests.integration.receivers import HttpReceiver, MailServer
from tests.integration.scenarios import file_dispute
from tests.workflows.support import GUSU_SUPERVISORS, ON_SQLITE, STREET, artifacts, flow_run_id, org_tree, run_flow
from workflows.deployments import SCHEDULES, schedule_for
from workflows.notifications import deliver_notifications, notification_digest
from workflows.runtime import using
from workflows.sweeps import legal_clock_sweep


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database_url: str, mail: MailServer) -> Settings:
    return make_settings(tmp_path, database_url, smtp_url=mail.url(), webhook_secret="w" * 40)


@ON_SQLITE
def test_a_sweep_alert_is_delivered_by_the_flow_once_to_each_channel(
    cw: Casework, clock: FixedClock, mail: MailServer
) -> None:
    org_tree(cw)
    supervisor = GUSU_SUPERVISORS[0]
    with HttpReceiver(fail_first=2) as receiver:
        add_channel(cw, supervisor, "email", "sup@union.example")
        add_channel(cw, supervisor, "webhook", receiver.url)
        number = file_dispute(cw, org_unit=STREET).number
        clock.advance(days=4)
        with using(cw):
            assert run_flow(legal_clock_sweep).result()["counts"] == {"alerted": 1}
            runs = [run_flow(deliver_notifications)]
            clock.advance(seconds=backoff(1).total_seconds() + 1)
            runs.append(run_flow(deliver_notifications))
            clock.advance(seconds=backoff(2).total_seconds() + 1)
            runs.append(run_flow(deliver_notifications))
            runs.append(run_flow(deliver_notifications))
    assert all(r.is_completed() for r in runs)
    results = [r.result() for r in runs]
    assert [(r["sent"], r["retrying"], r["waiting"]) for r in results] == [(1, 1, 1), (0, 1, 1), (1, 0, 0), (0, 0, 0)]
    assert results[-1]["totals"] == {"sent": 2}
    assert len(mail.messages) == 1 and number in str(mail.messages[0]["Subject"])
    assert receiver.requests == 3 and len(receiver.accepted) == 1
    [summary] = [a for a in artifacts(flow_run_id(runs[0])) if a.key == "notification-deliveries"]
    assert "| sent | 1 |" in summary.data and "| failed, to be retried | 1 |" in summary.data
    assert "HTTP 500" in summary.data


@ON_SQLITE
def test_the_digest_flow_writes_each_assignees_digest_once_a_day(cw: Casework, clock: FixedClock) -> None:
    org_tree(cw)
    file_dispute(cw, org_unit=STREET, assignee="gusu-mediator")
    with using(cw):
        first, again = run_flow(notification_digest), run_flow(notification_digest)
    assert first.result() == {"date": date(2026, 3, 2).isoformat(), "written": 1}
    assert again.result()["written"] == 0


def test_the_delivery_flow_runs_every_minute_and_the_digest_daily_by_default() -> None:
    by_name = {s.flow_name: s for s in SCHEDULES}
    assert schedule_for(by_name["deliver-notifications"], "Asia/Shanghai", {}).cron == "* * * * *"
    assert schedule_for(by_name["notification-digest"], "Asia/Shanghai", {}).cron == "0 8 * * *"
