"""Opening a case in a real browser: the case types the reader may open, a form drawn from the creating action
(a group of inputs for the employer, rows for the applicants and the claims, a row added without script), and the
new case's page."""

from __future__ import annotations

from playwright.sync_api import expect

from aggregates.labor_dispute import LaborDispute
from tests.browser.conftest import SEND, Site
from tests.integration.scenarios import credit_code, get_as


def test_a_mediator_opens_a_dispute_through_the_form_and_lands_on_its_page(site: Site) -> None:
    page = site.sign_in("gusu-mediator")
    page.click("header a:has-text('新建案件')")
    page.click("ul.kinds a:has-text('劳动争议调解')")
    page.wait_for_url("**/new/labor_dispute")

    page.select_option("#f-org_unit", "suzhou.gusu.shuangta")
    page.fill('[name="employer.name"]', "苏州示例精密机械有限公司")
    page.fill('[name="employer.credit_code"]', credit_code(7))
    page.fill('[name="applicants.0.name"]', "王建国")
    page.fill('[name="applicants.0.phone"]', "13800000000")
    page.click("button[name=add_row][value=applicants]")  # a row more, sent through the server: what was typed stays
    expect(page.locator('[name="applicants.0.name"]')).to_have_value("王建国")
    page.fill('[name="applicants.1.name"]', "李秀英")
    page.fill("#f-workers_involved", "12")
    page.select_option('[name="claims.0.category"]', "wages")
    page.fill('[name="claims.0.amount"]', "8600.00")
    page.fill('[name="claims.0.description"]', "拖欠两个月工资")
    page.fill("#f-summary", "拖欠工资")
    site.shot(page, "open-form-zh")
    page.click(SEND)

    page.wait_for_url("**/case/LD-*")
    expect(page.locator("dd.stage")).to_have_text("申请")
    expect(page.locator("dl.facts")).to_contain_text("suzhou.gusu.shuangta")
    expect(page.locator("a[data-action=accept]")).to_have_text("受理")
    number = page.url.rsplit("/", 1)[1]
    case = get_as(site.cw, number, LaborDispute)
    assert [a["name"] for a in case.applicants] == ["王建国", "李秀英"]
    assert case.org_unit == "suzhou.gusu.shuangta" and case.workers_involved == 12

    page.goto("/")
    expect(page.locator("table.queue tbody tr")).to_contain_text(number)
