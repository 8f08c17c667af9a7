"""An offer campaign in a real browser: a CSV file with a bad row is refused naming the file's own line and nothing is
stored; a good file previews, starts, and the campaign's page shows its progress and the cases it opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import FilePayload, Page, expect

from engine.service import Casework
from tests.browser.conftest import Site
from tests.integration.scenarios import credit_code
from tests.web.test_admin import DOCUMENT, HereScheduler, enterprises_csv, rows


@pytest.fixture
def campaign_scheduler(cw: Casework) -> HereScheduler:
    """Campaign runs in the test's process, at once, through the engine: the test app has no Prefect server."""
    return HereScheduler(cw)


def check_file(page: Page, data: bytes) -> None:
    """Fill the new-campaign form with the offer and `data` as its CSV file, and have it checked."""
    page.goto("/admin/campaigns/new")
    csv_file = FilePayload(name="enterprises.csv", mimeType="text/csv", buffer=data)
    page.set_input_files("#c-csv", files=[csv_file])
    page.fill("#c-document_number", DOCUMENT)
    page.fill("#c-issuing_union", "姑苏区总工会")
    page.select_option("#c-org_unit", "suzhou.gusu")
    page.fill("#c-wage_increase_pct", "5")
    page.fill("#c-minimum_wage", "2490.00")
    page.click("form.admin-form button[type=submit]")
    page.wait_for_load_state()


def test_a_bad_row_is_named_by_its_line_and_a_good_file_previews_starts_and_shows_its_progress(site: Site) -> None:
    before = rows(site.cw)
    page = site.sign_in("gusu-supervisor")
    page.click("header a:has-text('管理')")
    page.click("main a:has-text('要约行动')")
    page.click("main a[href='/admin/campaigns/new']")
    expect(page.locator("h1")).to_have_text("新建要约行动")

    bad = (
        "企业名称,统一社会信用代码,职工人数\n"
        f"苏州甲公司,{credit_code(1)},12\n"
        "\n"  # an empty line still counts: the report names the lines as the file numbers them
        f"苏州乙公司,{credit_code(3)},十二\n"
    ).encode("gb18030")
    check_file(page, bad)
    report = page.locator("#report")
    expect(report).to_contain_text("未保存任何内容。请改正以下问题后重新提交文件：")
    expect(report.locator("li")).to_have_text(["line 4: employees: '十二' is not a whole number"])
    expect(page.locator("#c-document_number")).to_have_value(DOCUMENT)  # the offer is kept for the next try
    site.shot(page, "campaign-preview-zh")
    assert rows(site.cw) == before

    check_file(page, enterprises_csv(3))
    expect(page.locator("h1")).to_have_text(f"预览: {DOCUMENT}")
    expect(page.locator("p.ok")).to_have_text("文件和要约均通过全部检查：共 3 家企业。尚未保存任何内容。")
    expect(page.locator("main table tbody tr")).to_have_count(3)
    expect(page.locator("main table tbody tr").nth(2)).to_contain_text("苏州示例03有限公司")
    site.shot(page, "campaign-ready-zh")
    assert rows(site.cw) == before  # a preview stores nothing

    page.click("main button:has-text('启动要约行动：立 3 件协商案件')")
    page.wait_for_url("**/admin/campaigns/*-*")
    expect(page.locator("h1")).to_have_text(DOCUMENT)
    expect(page.locator("#progress-label")).to_have_text("共 3 家，已立案 3 家，失败 0 家 · 待处理 0 家")
    progress = page.locator("progress#campaign-progress")
    expect(progress).to_have_attribute("max", "3")
    expect(progress).to_have_attribute("value", "3")
    expect(page.locator("p.run")).to_contain_text("已于 2026-03-02 09:00 完成。")
    opened = page.locator("table.opened tbody tr")
    expect(opened).to_have_count(3)
    expect(opened.nth(0)).to_contain_text("苏州示例01有限公司")
    site.shot(page, "campaign-zh")
    assert rows(site.cw) == {"campaigns": before["campaigns"] + 1, "case_index": before["case_index"] + 3}

    first = opened.nth(0).locator("a")
    number = first.inner_text()
    first.click()
    page.wait_for_url(f"**/case/{number}")
    expect(page.locator("dd.stage")).to_have_text("发出要约")
    expect(page.locator("dl.facts")).to_contain_text("suzhou.gusu")
