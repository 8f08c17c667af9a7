"""The workspace's downloads: the work queue's current search as XLSX and CSV, and the unit dashboard's statistics
as the unions' XLSX table, each linked from its page and kept to the reader's unit (every role of the workspace
may read reports: engine/access.py)."""

from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from werkzeug.test import TestResponse

import engine.case_exports
from engine.queries import CaseFilter, search_cases
from engine.reports import SECTIONS, statistics
from engine.service import Actor
from engine.spreadsheet import XLSX_TYPE
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

GUSU = Actor("gusu-mediator", "mediator")
FORMULA = '=HYPERLINK("http://example.com","x")'


def sheet_of(response: TestResponse) -> Worksheet:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX_TYPE and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert isinstance(sheet, Worksheet)
    return sheet


def links(page: TestResponse, pattern: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', page.get_data(as_text=True)) if pattern in h]


def _cases(web: WebWorld) -> None:
    file_dispute(web.cw, GUSU, employer={"name": FORMULA})
    file_dispute(web.cw, GUSU, employer={"name": "苏州甲机械有限公司"})
    file_dispute(web.cw, GUSU, org_unit="suzhou.gusu.shuangta", employer={"name": "双塔乙纺织有限公司"})
    file_dispute(web.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong")


def test_the_queue_links_its_search_as_xlsx_and_csv_holding_every_open_case_it_matches(web: WebWorld) -> None:
    _cases(web)
    browser = web.signed_in("gusu-mediator")
    queue = browser.get("/?q=%E6%9C%89%E9%99%90")  # 有限: three of gusu's cases
    xlsx_link, csv_link = links(queue, "/queue/export.")
    assert xlsx_link.startswith("/queue/export.xlsx?") and "q=" in xlsx_link
    assert csv_link.startswith("/queue/export.csv?")
    sheet = sheet_of(browser.get(xlsx_link))
    header = [c.value for c in sheet[1]]
    assert header[:8] == ["案件编号", "类型", "阶段", "状态", "承办单位", "单位代码", "承办人", "当事人"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    found, total = search_cases(
        web.cw, CaseFilter(scope="suzhou.gusu", text="有限", is_open=True), sort="number", per_page=100
    )
    assert total == 2 and [r[0] for r in rows] == [c["number"] for c in found]
    assert {r[5] for r in rows} == {"suzhou.gusu", "suzhou.gusu.shuangta"}
    assert all(r[1] == "劳动争议调解" and r[2] == "申请" and r[3] == "办理中" for r in rows)
    csv = browser.get(csv_link)
    assert csv.mimetype == "text/csv" and csv.get_data().startswith(b"\xef\xbb\xbf")
    assert csv.get_data().decode("utf-8-sig").splitlines()[0].startswith("案件编号,类型,阶段")


def test_the_queue_export_keeps_formula_like_text_as_text_and_stays_in_the_readers_unit(web: WebWorld) -> None:
    _cases(web)
    browser = web.signed_in("gusu-mediator")
    everything = sheet_of(browser.get("/queue/export.xlsx"))
    parties = {row[5].value: row[7] for row in everything.iter_rows(min_row=2) if row[7].value == FORMULA}
    [cell] = parties.values()
    assert cell.data_type == "s" and cell.quotePrefix
    units = sorted(str(row[5].value) for row in everything.iter_rows(min_row=2))
    assert units == ["suzhou.gusu", "suzhou.gusu", "suzhou.gusu.shuangta"]
    csv = browser.get("/queue/export.csv").get_data().decode("utf-8-sig")
    assert '"\'=HYPERLINK(""http://example.com"",""x"")"' in csv
    wuzhong = sheet_of(web.signed_in("wuzhong-mediator").get("/queue/export.xlsx"))
    assert [row[5].value for row in wuzhong.iter_rows(min_row=2)] == ["suzhou.wuzhong"]
    assert browser.get("/queue/export.pdf").status_code == 404


def test_a_queue_search_beyond_the_exports_maximum_is_refused_in_the_readers_language(
    web: WebWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cases(web)
    monkeypatch.setattr(engine.case_exports, "MAX_EXPORT_ROWS", 2)
    browser = web.signed_in("gusu-mediator")
    refused = browser.get("/queue/export.xlsx")
    assert refused.status_code == 422
    assert "符合条件的案件有 3 件，一次最多导出 2 件" in refused.get_data(as_text=True)
    assert sheet_of(browser.get("/queue/export.xlsx?q=%E7%94%B2")).max_row == 2  # 甲: one case and the headings


def test_the_dashboard_links_its_statistics_as_the_unions_xlsx_table(web: WebWorld) -> None:
    _cases(web)
    browser = web.signed_in("gusu-supervisor")
    dashboard = browser.get("/supervision/dashboard?from=2026-03-01&to=2026-03-31")
    [link] = links(dashboard, "/supervision/dashboard.xlsx")
    assert "unit=suzhou.gusu" in link and "from=2026-03-01" in link and "to=2026-03-31" in link
    sheet = sheet_of(browser.get(link))
    assert sheet["A1"].value == "姑苏区总工会 2026年3月1日至2026年3月31日 工资集体协商、劳动争议及困难职工帮扶统计表"
    headings = [c.value for c in sheet[4]]
    column = headings.index("申请调解(件)")
    rep = statistics(web.cw, org_unit="suzhou.gusu", start=date(2026, 3, 1), end=date(2026, 3, 31), by_org_depth=3)
    rows = [(r[0].value, r[1].value, r[column].value) for r in sheet.iter_rows(min_row=5)]
    assert rows == [
        ("姑苏区总工会（本级）", "suzhou.gusu", 2),
        ("双塔街道总工会", "suzhou.gusu.shuangta", 1),
        ("合计", "suzhou.gusu", 3),
    ]
    assert rows[-1][2] == rep.figure("disputes_filed") and isinstance(rows[-1][2], int)
    labels = {zh: metric for metrics in SECTIONS.values() for metric, zh, _ in metrics}
    totals = {h: c.value for h, c in zip(headings, sheet[sheet.max_row], strict=True) if h in labels}
    assert {h: Decimal(str(v)) for h, v in totals.items()} == {h: rep.figure(m) for h, m in labels.items()}


def test_the_dashboards_workbook_keeps_to_the_readers_unit_and_a_signed_in_reader(web: WebWorld) -> None:
    supervisor = web.signed_in("gusu-supervisor")
    assert supervisor.get("/supervision/dashboard.xlsx?unit=suzhou.wuzhong").status_code == 404
    assert supervisor.get("/supervision/dashboard.xlsx?unit=suzhou").status_code == 404
    assert supervisor.get("/supervision/dashboard.xlsx?from=2026-02-30").status_code == 400
    assert supervisor.get("/supervision/dashboard.xlsx?from=2026-05-01&to=2026-04-01").status_code == 400
    shuangta = sheet_of(supervisor.get("/supervision/dashboard.xlsx?unit=suzhou.gusu.shuangta"))
    assert shuangta["A1"].value.startswith("双塔街道总工会 2026年1月1日至2026年12月31日 ")
    signed_out = web.browser().get("/supervision/dashboard.xlsx")
    assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["Location"]
