"""A mediator's notifications in a real browser: a case a supervisor assigned to them is counted in the header, shown
unread in the inbox and opened from it, after which the count is gone; and an e-mail channel added to how they are
told."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.channels import list_channels
from engine.service import Actor
from tests.browser.conftest import Site
from tests.integration.scenarios import file_dispute

SUPERVISOR = Actor("gusu-supervisor", "supervisor")


def test_a_mediator_opens_the_case_assigned_to_them_from_the_inbox_and_the_count_is_gone(site: Site) -> None:
    number = file_dispute(site.cw, Actor("gusu-mediator", "mediator")).number
    site.cw.execute(site.cw.resolve(number), "assign", SUPERVISOR, assignee="gusu-mediator")

    page = site.sign_in("gusu-mediator")
    count = page.locator("header a[href='/inbox'] .count")
    expect(count).to_have_text("1")
    page.click("header a[href='/inbox']")
    expect(page.locator("h1")).to_have_text("通知")
    expect(page.locator("p.counts")).to_contain_text("未读：1")
    unread = page.locator("ul.inbox li.unread")
    expect(unread).to_have_count(1)
    expect(unread).to_contain_text(number)
    site.shot(page, "inbox-zh")

    unread.locator(f"button:text-is('打开案件 {number}')").click()
    page.wait_for_url(f"**/case/{number}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("dl.facts")).to_contain_text("gusu-mediator")  # the assignee
    expect(count).to_have_count(0)  # read now: no count in the header
    page.click("header a[href='/inbox']")
    expect(page.locator("p.counts")).to_contain_text("未读：0")
    expect(page.locator("ul.inbox li.read")).to_contain_text(number)


def test_a_mediator_adds_an_email_channel_and_sees_it_listed(site: Site) -> None:
    page = site.sign_in("gusu-mediator")
    page.click("header a[href='/inbox']")
    page.click("main a:has-text('通知方式')")
    expect(page.locator("h1")).to_have_text("通知方式")
    expect(page.locator("main table")).to_have_count(0)  # none yet
    page.select_option("#f-kind", "email")
    page.fill("#f-target", "mediator@example.org")
    page.check("input[name=digest_muted]")
    page.click("main form.action button[type=submit]")
    row = page.locator("main table tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(0)).to_have_text("电子邮件")
    expect(row.locator("td").nth(1)).to_have_text("mediator@example.org")
    expect(row.locator("td").nth(2)).to_have_text("不发送")  # no daily digest on it
    site.shot(page, "channels-zh")
    (channel,) = list_channels(site.cw, "gusu-mediator")
    assert channel.kind == "email" and channel.digest_muted
