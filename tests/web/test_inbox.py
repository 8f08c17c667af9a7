"""Each person's inbox in the workspace (what the engine told them, unread first, read when opened, nobody else's)
and their own channels (added with the engine's checks, removed)."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.channels import list_channels
from engine.service import Actor
from engine.tables import notifications
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

SUPERVISOR = Actor("gusu-supervisor", "supervisor")


def _assigned_to_the_mediator(web: WebWorld) -> str:
    number = file_dispute(web.cw, Actor("gusu-mediator", "mediator")).number
    web.cw.execute(web.cw.resolve(number), "assign", SUPERVISOR, assignee="gusu-mediator")
    return number


def test_an_assignment_is_in_the_assignees_inbox_unread_and_opening_it_marks_it_read(web: WebWorld) -> None:
    number = _assigned_to_the_mediator(web)
    browser = web.signed_in("gusu-mediator")
    queue = browser.get("/").get_data(as_text=True)
    assert re.search(r'href="/inbox">通知 <span class="count">1</span>', queue)
    page = browser.get("/inbox").get_data(as_text=True)
    assert "未读：1" in page and number in page and 'class="unread"' in page
    with web.cw.read_transaction() as session:
        notification_id = session.execute(select(notifications.c.id)).scalar_one()
    opened = browser.post_form("/inbox", f"/inbox/{notification_id}/read", {"open": number})
    assert opened.status_code == 302 and opened.headers["Location"] == f"/case/{number}"
    assert "未读：0" in browser.get("/inbox").get_data(as_text=True)
    assert 'class="count"' not in browser.get("/").get_data(as_text=True)


def test_nobody_reads_or_marks_another_persons_notifications(web: WebWorld) -> None:
    number = _assigned_to_the_mediator(web)
    with web.cw.read_transaction() as session:
        notification_id = session.execute(select(notifications.c.id)).scalar_one()
    other = web.signed_in("gusu-auditor")
    assert number not in other.get("/inbox").get_data(as_text=True)
    other.post_form("/inbox", f"/inbox/{notification_id}/read", {})
    with web.cw.read_transaction() as session:
        assert session.execute(select(notifications.c.read_at)).scalar_one() is None


def test_a_person_adds_and_removes_their_own_channels_and_a_bad_address_is_named(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    page = browser.get("/settings/channels").get_data(as_text=True)
    assert "企业微信群机器人" in page and "通知方式" in page
    refused = browser.post_form("/settings/channels", "/settings/channels", {"kind": "email", "target": "不是地址"})
    assert refused.status_code == 422 and 'id="target-problem"' in refused.get_data(as_text=True)
    assert list_channels(web.cw, "gusu-mediator") == []
    added = browser.post_form(
        "/settings/channels",
        "/settings/channels",
        {"kind": "email", "target": "mediator@example.org", "digest_muted": "on"},
    )
    assert added.status_code == 303
    (channel,) = list_channels(web.cw, "gusu-mediator")
    assert channel.kind == "email" and channel.digest_muted
    assert "mediator@example.org" in browser.get("/settings/channels").get_data(as_text=True)
    stranger = web.signed_in("gusu-auditor")
    stranger.post_form("/settings/channels", "/settings/channels", {"remove": str(channel.id)})
    assert len(list_channels(web.cw, "gusu-mediator")) == 1  # another person's channel is not theirs to remove
    browser.post_form("/settings/channels", "/settings/channels", {"remove": str(channel.id)})
    assert list_channels(web.cw, "gusu-mediator") == []
