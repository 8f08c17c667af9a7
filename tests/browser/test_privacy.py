"""A supervisor at the top of the org tree erases a person's data in a real browser, and the case page says so."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.accounts import add_user
from engine.passwords import set_password
from tests.browser.conftest import Site
from tests.integration.scenarios import CASEWORKER, hardship_application
from tests.web.conftest import PASSWORD, TESTS


def test_a_city_supervisor_erases_a_person_and_their_case_page_shows_none_of_their_data(site: Site) -> None:
    application = hardship_application(org_unit="suzhou.gusu")
    opened = site.cw.open_case("hardship", CASEWORKER, **application)
    site.cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="申请人撤回")
    add_user(site.cw, "city-supervisor", "市总督查", "supervisor", "suzhou", by=TESTS)
    set_password(site.cw, "city-supervisor", PASSWORD, by=TESTS)

    page = site.sign_in("city-supervisor")
    page.click("header a:has-text('删除个人信息')")
    expect(page.locator("h1")).to_have_text("删除个人信息")
    page.fill("#erase-id", application["worker"]["id_number"])
    page.fill("#erase-reason", "处理目的已实现，本人申请删除")
    site.shot(page, "erasure-zh")
    page.click("button:has-text('删除')")
    expect(page.locator("[role=alert]")).to_contain_text("请确认删除")  # the confirmation was not ticked
    page.check("input[name=confirm]")
    page.click("button:has-text('删除')")
    expect(page.locator("[role=status]")).to_have_text(f"已删除。删除操作已记入 {opened.number}。")

    page.goto(f"/case/{opened.number}")
    expect(page.locator("main")).to_contain_text("已应本人请求删除（《个人信息保护法》第四十七条）")
    expect(page.locator("main")).not_to_contain_text(application["worker"]["name"])
