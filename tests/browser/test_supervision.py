"""A supervisor's screens in a real browser: the alerts the scheduler raised on clocks that ran out, and the unit
dashboard whose figure leads to the cases behind it, and the case's dossier downloaded from its page."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from playwright.sync_api import expect

from engine.service import Actor
from engine.sweeps import LEGAL, run_sweep
from tests.browser.conftest import Site
from tests.integration.scenarios import file_dispute

MEDIATOR = Actor("gusu-mediator", "mediator")


def test_a_supervisor_sees_an_alert_on_a_clock_that_ran_out_and_acts_from_it(site: Site) -> None:
    alerted = file_dispute(site.cw, MEDIATOR).number  # acceptance due in 3 working days: 5 March
    site.clock.advance(days=10)
    quiet = file_dispute(site.cw, MEDIATOR).number
    assert [o.number for o in run_sweep(site.cw, LEGAL, Actor("system", "system")).outcomes] == [alerted]

    page = site.sign_in("gusu-supervisor")
    expect(page.locator(".counts .overdue")).to_have_text("已逾期：1")
    page.click("header a:has-text('预警')")
    expect(page.locator("h1")).to_have_text("预警")
    row = page.locator(f"tr[data-case='{alerted}']")
    expect(row.locator("td.clock-name")).to_have_text("受理期限")
    expect(row).to_contain_text("2026年3月5日")
    expect(row.locator("td.overdue")).to_have_text("7 天（5 个工作日）")
    expect(page.locator("main")).not_to_contain_text(quiet)
    site.shot(page, "alerts-zh")

    act = row.locator("a[data-action]").first  # what the supervisor may do about it, from the row
    name, href = act.inner_text(), act.get_attribute("href")
    assert href == f"/case/{alerted}/{act.get_attribute('data-action')}"
    act.click()
    expect(page).to_have_url(f"{site.base_url}{href}")
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator("form.action")).to_be_visible()


def test_a_supervisor_reads_the_unit_dashboard_and_opens_the_cases_behind_a_figure(site: Site) -> None:
    filed = [
        file_dispute(site.cw, MEDIATOR).number,
        file_dispute(site.cw, MEDIATOR, org_unit="suzhou.gusu.shuangta").number,
    ]
    site.cw.execute(site.cw.resolve(filed[0]), "accept", MEDIATOR)
    file_dispute(site.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong")  # not in gusu's figures

    page = site.sign_in("gusu-supervisor")
    page.click("header a:has-text('单位看板')")
    expect(page.locator("h1")).to_have_text("单位看板")
    expect(page.locator("svg.bars").first).to_be_visible()  # the charts, drawn on the server
    disputes_filed = page.locator("tr[data-metric=disputes_filed]")
    expect(disputes_filed.locator("td").nth(1)).to_have_text("2")
    expect(page.locator("tr[data-metric=disputes_accepted] td").nth(1)).to_have_text("1")
    site.shot(page, "dashboard-zh")

    disputes_filed.locator("a").click()
    expect(page.locator("h1")).to_have_text("案件")
    links = page.locator("table.cases tbody a[href^='/case/']")
    assert sorted(links.all_inner_texts()) == sorted(filed)


def test_a_supervisor_downloads_the_case_dossier_from_the_case_page_as_a_csv_of_its_events(site: Site) -> None:
    number = file_dispute(site.cw, MEDIATOR).number
    case_id = site.cw.resolve(number)
    site.cw.execute(case_id, "accept", MEDIATOR)
    site.cw.execute(case_id, "add_note", MEDIATOR, text="已电话联系申请人", reason="跟进")

    page = site.sign_in("gusu-supervisor")
    page.goto(f"/case/{number}")
    link = page.locator(".audit a:has-text('下载案卷（CSV）')")
    expect(link).to_be_visible()
    site.shot(page, "case-supervisor-zh")
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == f"{number}-dossier.csv"
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][:4] == ["# case", number, "labor_dispute", "accepted"]
    assert rows[2][:3] == ["version", "event", "action"]  # then one row per event, oldest first
    events = rows[3:]
    assert [r[0] for r in events] == ["1", "2", "3"]
    assert [r[2] for r in events] == ["file", "accept", "add_note"]
    assert events[2][7] == "跟进" and "已电话联系申请人" in events[2][11]  # its reason and what it recorded
    assert events[2][-1] == rows[0][5].removeprefix("head ")  # the last event's hash is the chain's head
