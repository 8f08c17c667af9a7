"""Notifications that reach people: written with the event that causes them, delivered once through real channels
(an SMTP server and an HTTP receiver in this process), retried with backoff, never lost."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.accounts import add_org, add_user
from engine.campaigns import create_campaign, run_campaign
from engine.channels import add_channel, list_channels, remove_channel
from engine.clock import FixedClock
from engine.config import Settings
from engine.delivery import BACKOFF, LEASE, MAX_ATTEMPTS, backoff, claim, deliver_due, delivery_counts, signing_secret
from engine.errors import VersionConflict
from engine.notifications import list_inbox, read_notification, send_digest
from engine.service import Actor, Casework
from engine.sweeps import ESCALATION, LEGAL, run_sweep
from engine.tables import notification_deliveries, notifications
from tests.conftest import make_settings
from tests.integration.receivers import HttpReceiver, MailServer
from tests.integration.scenarios import MEDIATOR, NEGOTIATOR, file_dispute

SYSTEM = Actor("system", "system")
ADMIN = Actor("admin-1", "admin")
SUPERVISOR = Actor("gusu-sup", "supervisor")
PUBLIC_URL = "https://casework.union.example"
SECRET = "s" * 40


@pytest.fixture
def mail() -> Iterator[MailServer]:
    with MailServer() as server:
        yield server


@pytest.fixture
def settings(tmp_path: Path, database_url: str, mail: MailServer) -> Settings:
    return make_settings(tmp_path, database_url, smtp_url=mail.url(), public_url=PUBLIC_URL, webhook_secret=SECRET)


def units(cw: Casework) -> None:
    add_org(cw, "suzhou", "苏州市总工会")
    add_org(cw, "suzhou.gusu", "姑苏区总工会")
    add_user(cw, "gusu-sup", "姑苏区督查", "supervisor", "suzhou.gusu", by=ADMIN)
    add_user(cw, "mediator-1", "调解员", "mediator", "suzhou.gusu", by=ADMIN)
    add_user(cw, "negotiator-1", "协商指导员", "negotiator", "suzhou.gusu", by=ADMIN)


def stored(cw: Casework, **where: Any) -> list[Any]:
    n = notifications.c
    query = select(notifications).order_by(n.id)
    for key, value in where.items():
        query = query.where(getattr(n, key) == value)
    with cw.read_transaction() as session:
        return list(session.execute(query))


def alert_on_a_dispute(cw: Casework, clock: FixedClock) -> str:
    number = file_dispute(cw).number
    clock.advance(days=4)  # Monday + 3 working days ran out on Thursday
    report = run_sweep(cw, LEGAL, SYSTEM)
    assert report.counts == {"alerted": 1}
    return number


def test_a_sweep_alert_reaches_the_inbox_the_mail_server_and_a_failing_receiver_exactly_once(
    cw: Casework, clock: FixedClock, mail: MailServer
) -> None:
    units(cw)
    with HttpReceiver(fail_first=2) as receiver:
        add_channel(cw, "gusu-sup", "email", "sup@union.example")
        add_channel(cw, "gusu-sup", "webhook", receiver.url)
        number = alert_on_a_dispute(cw, clock)

        [note] = stored(cw, recipient="gusu-sup")  # written by the sweep's own command
        assert note.kind == "alert" and note.case_number == number and note.link == f"/case/{number}"
        assert number in note.subject and "受理期限" in note.subject and "2026-03-05" in note.subject
        assert f"{PUBLIC_URL}/case/{number}" in note.body and "劳动争议调解" in note.body
        assert delivery_counts(cw) == {"pending": 2}

        first = deliver_due(cw)
        assert (first.sent, first.retrying, first.waiting) == (1, 1, 1)
        assert len(mail.messages) == 1 and receiver.requests == 1 and receiver.accepted == []
        message = mail.messages[0]
        assert number in str(message["Subject"]) and message["To"] == "sup@union.example"
        assert f"{PUBLIC_URL}/case/{number}" in message.get_content()

        assert deliver_due(cw).sent == 0  # the backoff has not run out: nothing is tried early
        assert receiver.requests == 1
        clock.advance(seconds=backoff(1).total_seconds() + 1)
        assert deliver_due(cw).retrying == 1 and receiver.requests == 2
        clock.advance(seconds=backoff(2).total_seconds() + 1)
        assert deliver_due(cw).sent == 1 and receiver.requests == 3
        clock.advance(days=1)
        again = deliver_due(cw)
        assert (again.sent, again.retrying, again.waiting) == (0, 0, 0)

    assert len(mail.messages) == 1 and len(receiver.accepted) == 1  # exactly once each
    assert delivery_counts(cw) == {"sent": 2}
    received = receiver.accepted[0]
    payload = json.loads(received.body)
    assert payload["case_number"] == number and payload["link"] == f"{PUBLIC_URL}/case/{number}"
    assert "期限" in payload["subject"]
    expected = "sha256=" + hmac.new(SECRET.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Casework-Signature"], expected)
    with cw.read_transaction() as session:
        webhook = session.execute(select(notification_deliveries).where(notification_deliveries.c.attempts == 3)).one()
    assert webhook.status == "sent" and webhook.last_error is None


def test_a_receiver_that_never_accepts_is_given_up_after_the_last_attempt(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    with HttpReceiver(fail_first=100) as receiver:
        add_channel(cw, "gusu-sup", "webhook", receiver.url)
        alert_on_a_dispute(cw, clock)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            report = deliver_due(cw)
            assert report.failed == (1 if attempt == MAX_ATTEMPTS else 0)
            clock.advance(seconds=backoff(attempt).total_seconds() + 1)
        assert deliver_due(cw).failed == 0 and receiver.requests == MAX_ATTEMPTS
    with cw.read_transaction() as session:
        row = session.execute(select(notification_deliveries)).one()
    assert (row.status, row.attempts, row.last_error) == ("failed", MAX_ATTEMPTS, f"HTTP 500 from {receiver.url}")


def test_two_delivery_runs_at_once_send_each_delivery_once(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    with HttpReceiver() as receiver:
        add_channel(cw, "gusu-sup", "webhook", receiver.url)
        for _ in range(12):
            file_dispute(cw)
        clock.advance(days=4)
        assert run_sweep(cw, LEGAL, SYSTEM).counts == {"alerted": 12}
        start = threading.Barrier(2)
        reports = []

        def run() -> None:
            start.wait()
            reports.append(deliver_due(cw, batch_size=3, workers=2))

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    sent_ids = Counter(r.headers["X-Casework-Delivery"] for r in receiver.accepted)
    assert len(sent_ids) == 12 and set(sent_ids.values()) == {1}
    assert sum(r.sent for r in reports) == 12 and all(r.lost_claims == 0 for r in reports)
    assert delivery_counts(cw) == {"sent": 12}


def test_a_run_killed_after_claiming_loses_nothing_its_claim_is_taken_again_after_the_lease(
    cw: Casework, clock: FixedClock, mail: MailServer
) -> None:
    units(cw)
    add_channel(cw, "gusu-sup", "email", "sup@union.example")
    alert_on_a_dispute(cw, clock)
    [abandoned] = claim(cw)  # a run that claimed, then died before sending
    assert deliver_due(cw).sent == 0 and mail.messages == []  # held by the dead run's lease
    clock.advance(seconds=LEASE.total_seconds() - 5)
    assert deliver_due(cw).sent == 0
    clock.advance(seconds=10)
    assert deliver_due(cw).sent == 1 and len(mail.messages) == 1
    from engine.delivery import record

    assert record(cw, abandoned, None) == "lost"  # the dead run's claim no longer counts
    clock.advance(days=1)
    assert deliver_due(cw).sent == 0 and len(mail.messages) == 1
    assert delivery_counts(cw) == {"sent": 1}


def test_an_assignment_tells_the_new_assignee_in_the_same_transaction(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    case = file_dispute(cw)
    with pytest.raises(VersionConflict):  # refused: nothing recorded, nobody told
        cw.execute(case.case_id, "assign", SUPERVISOR, expected_version=9, assignee="mediator-1")
    assert stored(cw) == []
    cw.execute(case.case_id, "assign", SUPERVISOR, assignee="mediator-1")
    [note] = stored(cw)
    assert (note.recipient, note.kind, note.case_number) == ("mediator-1", "assigned", case.number)
    assert "已分派给您" in note.subject and "受理期限，到期日 2026-03-05" in note.body
    cw.execute(case.case_id, "assign", SUPERVISOR, assignee="gusu-sup")  # to oneself: nobody else to tell
    assert len(stored(cw)) == 1


def test_a_case_opened_for_someone_else_tells_them_and_one_opened_for_oneself_tells_nobody(
    cw: Casework, clock: FixedClock
) -> None:
    units(cw)
    mine = file_dispute(cw, assignee=MEDIATOR.id)
    assert stored(cw, case_number=mine.number) == []
    theirs = file_dispute(cw, SUPERVISOR, assignee="mediator-1")
    [note] = stored(cw, case_number=theirs.number)
    assert (note.recipient, note.kind) == ("mediator-1", "assigned")
    assert "立案，由您承办" in note.body and "受理期限，到期日 2026-03-05" in note.body


def test_an_escalation_tells_the_assignee_and_the_supervisors_with_the_new_due_date(
    cw: Casework, clock: FixedClock
) -> None:
    units(cw)
    case = cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit="suzhou.gusu",
        assignee="negotiator-1",
        document_number="姑工要〔2026〕7号",
        enterprise={"name": "苏州示例电子有限公司", "employees": 120},
        issuing_union="姑苏区总工会",
        terms={"wage_increase_pct": "5"},
    )
    clock.advance(days=21)
    assert run_sweep(cw, ESCALATION, SYSTEM).counts == {"applied": 1}
    told = stored(cw, case_number=case.number)
    assert sorted(n.recipient for n in told) == ["gusu-sup", "negotiator-1"]
    assert all(n.kind == "escalation" and "由上级工会代行要约" in n.subject for n in told)
    new_due = (clock.now().date() + timedelta(days=20)).isoformat()
    assert f"新的要约答复期限：{new_due}" in told[0].body


def test_a_finished_campaign_tells_who_started_it_once(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    campaign = create_campaign(
        cw,
        NEGOTIATOR,
        document_number="姑工要〔2026〕9号",
        issuing_union="姑苏区总工会",
        org_unit="suzhou.gusu",
        enterprises=[{"name": "甲公司"}, {"name": "乙公司"}],
    )
    run_campaign(cw, campaign.campaign_id)
    run_campaign(cw, campaign.campaign_id)  # resumed with nothing left: not told again
    [note] = stored(cw, kind="campaign_finished")
    assert note.recipient == "negotiator-1" and "姑工要〔2026〕9号" in note.subject
    assert "已发出要约 2 家" in note.body and note.link == f"/admin/campaigns/{campaign.campaign_id}"


def test_the_daily_digest_lists_clocks_due_within_3_working_days_once_a_day(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    soon = file_dispute(cw, assignee="mediator-1")  # acceptance due Thursday 2026-03-05
    add_channel(cw, "mediator-1", "webhook", "http://127.0.0.1:9/never", digest_muted=True)
    add_channel(cw, "mediator-1", "email", "m@union.example")
    assert send_digest(cw, date(2026, 3, 2)) == 1
    assert send_digest(cw, date(2026, 3, 2)) == 0  # the same day again: nothing new
    [note] = stored(cw, kind="digest")
    assert note.dedupe_key == "digest:mediator-1:2026-03-02" and soon.number in note.body
    assert "2026-03-05" in note.body and f"{PUBLIC_URL}/case/{soon.number}" in note.body
    with cw.read_transaction() as session:
        deliveries = session.execute(select(func.count()).select_from(notification_deliveries)).scalar_one()
    assert deliveries == 1  # e-mail only: the webhook muted digests
    assert send_digest(cw, date(2026, 2, 20)) == 0  # three working days before 2026-02-20 reach no due date


def test_the_inbox_lists_unread_first_and_marks_read(cw: Casework, clock: FixedClock) -> None:
    units(cw)
    first, second = file_dispute(cw), file_dispute(cw)
    cw.execute(first.case_id, "assign", SUPERVISOR, assignee="mediator-1")
    cw.execute(second.case_id, "assign", SUPERVISOR, assignee="mediator-1")
    entries, total, unread = list_inbox(cw, "mediator-1")
    assert (total, unread) == (2, 2) and [e.case_number for e in entries] == [second.number, first.number]
    read_notification(cw, "mediator-1", entries[0].id)
    entries, total, unread = list_inbox(cw, "mediator-1")
    assert unread == 1 and [e.case_number for e in entries] == [first.number, second.number]
    assert [e.case_number for e in list_inbox(cw, "mediator-1", order="time")[0]] == [second.number, first.number]


def test_a_removed_channel_is_not_sent_to(cw: Casework, clock: FixedClock, mail: MailServer) -> None:
    units(cw)
    channel = add_channel(cw, "gusu-sup", "email", "sup@union.example")
    alert_on_a_dispute(cw, clock)
    remove_channel(cw, channel.id)
    assert deliver_due(cw).sent == 0 and mail.messages == []
    assert list_channels(cw, "gusu-sup") == [] and delivery_counts(cw) == {"failed": 1}


def test_the_signing_key_without_a_setting_is_derived_from_the_person_key(tmp_path: Path, database_url: str) -> None:
    cw = Casework(make_settings(tmp_path, database_url))
    try:
        again = Casework(make_settings(tmp_path, database_url))
        assert signing_secret(cw) == signing_secret(again) and len(signing_secret(cw)) == 32
        assert signing_secret(cw) != cw.persons.secret
        again.close()
    finally:
        cw.close()


def test_backoff_doubles() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [BACKOFF, BACKOFF * 2, BACKOFF * 4]
