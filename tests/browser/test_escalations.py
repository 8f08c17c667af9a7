"""Escalation under the "confirm" policy in a real browser: a negotiator's offer passes its 20-day reply clock, the
scheduler's sweep proposes the acting offer, the case and the supervisor's screens show it waiting, and the supervisor
confirms it through the screen's button and the action form; the timeline names who confirmed and why."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from playwright.sync_api import expect

from aggregates.policy import DeadlinePolicy
from engine.config import Settings
from engine.service import Actor
from engine.sweeps import ESCALATION, run_sweep
from tests.browser.conftest import SEND, Site
from tests.conftest import make_settings

SYSTEM = Actor("system", "system")
NEGOTIATOR = Actor("gusu-negotiator", "negotiator")


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The engine behind the site, with the scheduler proposing each ladder step for a supervisor to confirm."""
    return make_settings(tmp_path, database_url, policy=dataclasses.replace(DeadlinePolicy(), escalation="confirm"))


def open_negotiation(site: Site) -> str:
    """A written offer to one enterprise of gusu's Shuangta street, its 20-day reply clock started today."""
    return site.cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit="suzhou.gusu.shuangta",
        enterprise={"name": "苏州示例电子有限公司", "employees": 300},
        issuing_union="姑苏区总工会",
        document_number="姑工要〔2026〕12号",
    ).number


def test_a_supervisor_confirms_the_acting_offer_the_sweep_proposed_and_the_timeline_names_them(site: Site) -> None:
    number = open_negotiation(site)
    site.clock.advance(days=21)  # the reply was due on 22 March; nobody answered
    outcomes = run_sweep(site.cw, ESCALATION, SYSTEM).outcomes
    assert [(o.number, o.action) for o in outcomes] == [(number, "propose_escalation")]

    page = site.sign_in("gusu-supervisor")
    expect(page.locator("header a[href='/inbox'] .count")).to_have_text("1")  # the supervisors are told
    page.click("header a[href='/inbox']")
    expect(page.locator("ul.inbox li.unread .subject")).to_contain_text(f"【升级待确认】{number} 拟由上级工会代行要约")
    page.click("header a:has-text('待确认的升级')")
    expect(page.locator("h1")).to_have_text("待确认的升级")
    row = page.locator(f"tr[data-case='{number}']")
    expect(row.locator("td.proposed")).to_contain_text("上级工会代行要约")
    expect(row.locator("td.proposed")).to_contain_text("答复期限于 2026年3月22日 到期")
    expect(row.locator("td.why")).to_have_text("the enterprise did not answer the written offer by 2026-03-22")
    expect(row).to_contain_text("system")  # proposed by the scheduler
    expect(row.locator("a[data-action]")).to_have_text(["确认升级", "驳回升级"])
    site.shot(page, "escalations-zh")

    row.locator(f"a:text-is('{number}')").click()  # the case itself: flagged, its stage not moved yet
    expect(page.locator("h1 .flag-escalation_pending")).to_have_text("升级待确认")
    expect(page.locator("dd.stage")).to_have_text("发出要约")
    expect(page.locator(".clocks")).to_contain_text("答复期限: 2026年3月22日 (已逾期 1 个工作日)")
    page.click("text=历史记录")
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("提议升级")
    expect(rows.nth(1)).to_contain_text("system (system)")
    expect(rows.nth(1)).to_contain_text("awaiting a supervisor's confirmation")

    page.click("header a:has-text('待确认的升级')")
    page.click(f"tr[data-case='{number}'] a[data-action=confirm_escalation]")
    expect(page.locator("h1")).to_have_text("确认升级")
    page.fill("#f-acting_union", "苏州市总工会")
    page.fill("#f-reason", "企业逾期未答复，由市总工会代行要约")
    site.shot(page, "confirm-escalation-form-zh")
    page.click(SEND)  # the form's empty row of rectification items is left out
    page.wait_for_url(f"**/case/{number}")
    expect(page.locator("dd.stage")).to_have_text("上级工会代行要约")
    expect(page.locator("h1 .flag-escalation_pending")).to_have_count(0)
    expect(page.locator(".clocks")).to_contain_text("答复期限: 2026年4月12日")  # the acting offer's own reply clock
    page.click("text=历史记录")
    expect(rows).to_have_count(3)
    confirmed = rows.nth(2)
    expect(confirmed).to_contain_text("上级工会代行要约")
    expect(confirmed).to_contain_text("gusu-supervisor (supervisor)")  # who
    expect(confirmed).to_contain_text("企业逾期未答复，由市总工会代行要约")  # and why
    site.shot(page, "history-escalation-zh")

    page.click("header a:has-text('待确认的升级')")
    expect(page.locator("main")).not_to_contain_text(number)
    expect(page.locator("main p:has-text('没有待决定的事项。')")).to_have_count(2)
    assert site.cw.get(site.cw.resolve(number)).stage == "acting_offer_issued"
