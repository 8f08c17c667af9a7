"""Reading a case without moving it, in a real browser: an auditor sees the case, its timeline, the case as it
stood and its verification with no action at all; a supervisor reads the timeline, goes back to an earlier version
and has the chain verified in plain words; a mediator of another district finds no such case."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from engine.service import Actor
from tests.browser.conftest import Site
from tests.integration.scenarios import file_dispute
from tests.integration.tamper import flip_byte

MEDIATOR = Actor("gusu-mediator", "mediator")


def dispute_with_history(site: Site) -> str:
    """A gusu dispute filed, accepted and noted: three events."""
    number = file_dispute(site.cw, MEDIATOR).number
    case_id = site.cw.resolve(number)
    site.cw.execute(case_id, "accept", MEDIATOR)
    site.cw.execute(case_id, "add_note", MEDIATOR, text="已电话联系申请人", reason="跟进")
    return number


def expect_no_action(page: Page) -> None:
    expect(page.locator("a[data-action]")).to_have_count(0)
    expect(page.locator("main form[method=post]")).to_have_count(0)


def test_an_auditor_sees_the_case_its_timeline_and_verification_and_no_action_at_all(site: Site) -> None:
    number = dispute_with_history(site)
    page = site.sign_in("gusu-auditor")
    expect(page.locator("table.queue tbody tr")).to_contain_text(number)

    page.click(f"text={number}")
    expect(page.locator("dd.stage")).to_have_text("受理")
    expect(page.locator("section[aria-labelledby=actions-h]")).to_contain_text("无。")
    expect(page.locator(".audit a", has_text="历史记录").first).to_be_visible()
    expect(page.locator(".audit a", has_text="核验历史记录")).to_be_visible()
    expect_no_action(page)
    site.shot(page, "case-auditor-zh")

    page.goto(f"/case/{number}/add_note")  # the address of an action form, typed by hand
    expect(page.locator("p.message")).to_have_text("此操作目前不能在本案件上进行。")
    expect_no_action(page)

    page.goto(f"/case/{number}")
    page.click("text=历史记录")
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(2)).to_contain_text("跟进")  # the reason of the note
    expect(page.locator("table.history")).not_to_contain_text("32050219800101123X")  # an auditor's view is masked
    expect_no_action(page)

    page.select_option("#version", "1")
    page.click("form.search button[type=submit]")
    expect(page.locator("#as-of")).to_contain_text("这是案件在第 1 版时的状态")
    expect(page.locator("dd.stage")).to_have_text("申请")
    expect_no_action(page)

    page.goto(f"/case/{number}/verification")
    expect(page.locator("#verdict")).to_have_text(
        "历史记录完整：全部 3 个事件齐全、未被改动，每个事件都以哈希值与前一事件相连。"
    )
    expect_no_action(page)


def test_a_supervisor_reads_the_timeline_goes_back_a_version_and_verifies_the_chain(site: Site) -> None:
    number = dispute_with_history(site)
    page = site.sign_in("gusu-supervisor")
    page.goto(f"/case/{number}")
    page.click("text=历史记录")
    expect(page.locator("h1")).to_have_text(f"{number} 的历史记录")
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("gusu-mediator (mediator)")
    expect(rows.nth(1)).to_contain_text("受理")
    expect(rows.nth(2)).to_contain_text("已电话联系申请人")
    site.shot(page, "history-supervisor-zh")

    page.click("table.history tbody tr[data-version='2'] a")  # the case as it stood at version 2
    expect(page.locator("#as-of")).to_contain_text(
        "这是案件在第 2 版时的状态，之后已有变化。不能对过去的状态进行操作。"
    )
    expect(page.locator("dd.stage")).to_have_text("受理")
    expect(page.locator("section[aria-labelledby=notes-h]")).not_to_contain_text("已电话联系申请人")  # came later
    expect(page.locator("a[data-action]")).to_have_count(0)
    site.shot(page, "case-as-of-zh")
    page.click("text=查看当前状态")
    expect(page.locator("section[aria-labelledby=notes-h]")).to_contain_text("已电话联系申请人")
    expect(page.locator("a[data-action]").first).to_be_visible()  # now the supervisor may act again

    page.click("text=核验历史记录")
    expect(page.locator("h1")).to_have_text(f"{number} 的核验")
    expect(page.locator("#verdict.ok")).to_contain_text("历史记录完整：全部 3 个事件齐全、未被改动")
    site.shot(page, "verification-zh")

    flip_byte(site.cw, site.cw.resolve(number), 2)  # someone edits a stored event behind the engine's back
    page.reload()
    expect(page.locator("#verdict.message")).to_contain_text("历史记录在第 2 版被改动")
    site.shot(page, "verification-altered-zh")


def test_a_mediator_of_another_district_gets_the_not_found_page_for_a_gusu_case(site: Site) -> None:
    number = dispute_with_history(site)
    page = site.sign_in("wuzhong-mediator")
    expect(page.locator("main")).to_contain_text("没有符合条件的在办案件。")
    for path in (f"/case/{number}", f"/case/{number}/history", f"/case/{number}/add_note"):
        response = page.goto(path)
        assert response is not None and response.status == 404
        expect(page.locator("p.message")).to_have_text("没有这个页面或案件，或它不在您的单位范围内。")
        expect(page.locator("main")).not_to_contain_text("苏州示例精密机械有限公司")
    site.shot(page, "not-found-zh")
    page.click("text=返回待办队列")
    expect(page.locator("h1")).to_have_text("待办队列")
