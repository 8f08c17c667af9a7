"""Exports people open in Excel or WPS: the statistics as an XLSX table laid out as the unions publish theirs, and
every case a search matches as XLSX and CSV, with the same rows as GET /cases, within the caller's unit."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from werkzeug.test import TestResponse

import engine.case_exports
from engine.reports import RATES, SECTIONS, statistics
from engine.spreadsheet import XLSX_TYPE
from tests.api.conftest import ApiWorld
from tests.api.support import Caller, check_error, csv_rows, dispute, offer
from tests.api.test_reports import Done, _year

FORMULA = "=cmd|' /C calc'!A0"
"""A party name a spreadsheet would run as a command if it were stored as a formula."""


def sheet_of(response: TestResponse) -> Worksheet:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX_TYPE and "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert isinstance(sheet, Worksheet)
    return sheet


def headings(sheet: Worksheet, row: int) -> list[Any]:
    return [c.value for c in sheet[row]]


# -- the statistics workbook ------------------------------------------------------------------------------------


def test_the_statistics_workbook_has_the_unions_layout_and_the_reports_numbers(api: ApiWorld) -> None:
    _year(api)
    response = api["city_supervisor"].get("/reports/statistics.xlsx?org_unit=suzhou&from=2026-03-01&to=2026-04-30")
    sheet = sheet_of(response)
    assert sheet["A1"].value == "苏州市总工会 2026年3月1日至2026年4月30日 工资集体协商、劳动争议及困难职工帮扶统计表"
    assert "A1" in {str(r).split(":")[0] for r in sheet.merged_cells.ranges}
    sections = [v for v in headings(sheet, 3) if v]
    assert sections == ["单位", "单位代码", "工资集体协商", "劳动争议调解", "整改建议书", "困难职工帮扶"]
    figure_headings = headings(sheet, 4)[2:]
    labels = {zh: metric for metrics in SECTIONS.values() for metric, zh, _ in metrics}
    rates = {f"{zh}(%)": (n, d) for _, zh, _, n, d in RATES}
    assert set(figure_headings) == set(labels) | set(rates)
    assert sheet.freeze_panes == "C5"

    rep = statistics(api.cw, org_unit="suzhou", start=date(2026, 3, 1), end=date(2026, 4, 30), by_org_depth=2)
    rows = {row[1].value: row for row in sheet.iter_rows(min_row=5)}
    assert [row[0].value for row in sheet.iter_rows(min_row=5)] == ["姑苏区总工会", "吴中区总工会", "合计"]
    assert list(rows) == ["suzhou.gusu", "suzhou.wuzhong", "suzhou"]
    for unit, figures in (("suzhou.gusu", rep.by_org["suzhou.gusu"]), ("suzhou.wuzhong", rep.by_org["suzhou.wuzhong"])):
        cells = dict(zip(figure_headings, rows[unit][2:], strict=True))
        for heading, cell in cells.items():
            if heading in rates:
                continue
            expected = figures.get(labels[heading], Decimal(0))
            assert Decimal(str(cell.value)) == expected, (unit, heading)
    totals = dict(zip(figure_headings, rows["suzhou"][2:], strict=True))
    assert rows["suzhou"][0].value == "合计" and rows["suzhou"][0].font.b
    for heading, metric in labels.items():
        assert Decimal(str(totals[heading].value)) == rep.figure(metric), heading
    assert totals["受理劳动争议(件)"].value == 6
    assert isinstance(totals["受理劳动争议(件)"].value, int) and totals["受理劳动争议(件)"].number_format == "#,##0"
    living = totals["生活救助(元)"]
    assert Decimal(str(living.value)) == Decimal("1200.50") and living.number_format == "#,##0.00"
    assert totals["应约率(%)"].value == pytest.approx(0.5) and totals["应约率(%)"].number_format == "0.0%"
    mediated = rep.rate("disputes_mediated", "disputes_accepted")
    assert mediated is not None
    assert Decimal(str(totals["调解成功率(%)"].value)) == mediated / 100
    wuzhong = dict(zip(figure_headings, rows["suzhou.wuzhong"][2:], strict=True))
    assert wuzhong["应约率(%)"].value is None  # no enterprise covered in wuzhong: no rate, not 0%


def test_the_statistics_workbook_lists_the_units_directly_below_and_the_units_own_cases(api: ApiWorld) -> None:
    done = Done(api)
    done.accept("mediator", 3)  # recorded at gusu itself
    done.accept("shuangta_mediator", 4)
    sheet = sheet_of(api["supervisor"].get("/reports/statistics.xlsx?from=2026-03-01&to=2026-03-31"))
    assert sheet["A1"].value.startswith("姑苏区总工会 2026年3月1日至2026年3月31日 ")
    column = headings(sheet, 4).index("受理劳动争议(件)")
    rows = [(r[0].value, r[1].value, r[column].value) for r in sheet.iter_rows(min_row=5)]
    assert rows == [
        ("姑苏区总工会（本级）", "suzhou.gusu", 1),
        ("双塔街道总工会", "suzhou.gusu.shuangta", 1),
        ("合计", "suzhou.gusu", 2),
    ]
    # a unit below with nothing done still has its row, with zeros
    city = sheet_of(api["city_supervisor"].get("/reports/statistics.xlsx?org_unit=suzhou&from=2026-04-01"))
    assert [(r[1].value, r[column].value) for r in city.iter_rows(min_row=5)] == [
        ("suzhou.gusu", 0),
        ("suzhou.wuzhong", 0),
        ("suzhou", 0),
    ]
    assert city["A1"].value.startswith("苏州市总工会 2026年4月1日起 ")


def test_the_statistics_workbook_keeps_to_the_callers_unit_and_the_reports_query(api: ApiWorld) -> None:
    check_error(api["mediator"].get("/reports/statistics.xlsx?org_unit=suzhou"), 403, "forbidden")
    check_error(api["wuzhong_admin"].get("/reports/statistics.xlsx?org_unit=suzhou.gusu"), 403, "forbidden")
    body = check_error(api["auditor"].get("/reports/statistics.xlsx?from=2026-04-01&to=2026-03-01"), 422)
    assert list(body["fields"]) == ["from"]
    for query in ("format=csv", "by_org=0", "from=2026-13-01"):
        check_error(api["auditor"].get(f"/reports/statistics.xlsx?{query}"), 422, "invalid_request")
    check_error(api.client.get("/reports/statistics.xlsx"), 401, "unauthorized")
    by_street = sheet_of(api["supervisor"].get("/reports/statistics.xlsx?by_org=3"))
    assert [r[1].value for r in by_street.iter_rows(min_row=5)] == ["suzhou.gusu.shuangta", "suzhou.gusu"]


# -- case lists -------------------------------------------------------------------------------------------------


def _cases(api: ApiWorld) -> None:
    """Disputes in gusu, shuangta and wuzhong (one employer named like a formula, one accepted and overdue later),
    and an offer in gusu."""
    done = Done(api)
    done.open("mediator", "labor_dispute", dispute(employer={"name": FORMULA}))
    done.accept("mediator", 12)
    done.accept("shuangta_mediator", 2)
    done.open("wuzhong_mediator", "labor_dispute", dispute(employer={"name": "吴中某厂"}))
    done.open("negotiator", "wage_negotiation", offer())
    api.clock.advance(days=5)
    done.open("mediator", "labor_dispute", dispute(employer={"name": "+SUM(1,2)"}))


def _search(caller: Caller, query: str) -> list[dict[str, Any]]:
    response = caller.get(f"/cases?{query}&per_page=200")
    assert response.status_code == 200, response.get_json()
    page = response.get_json()
    assert page["pages"] <= 1
    items: list[dict[str, Any]] = page["items"]
    return items


def _xlsx_rows(caller: Caller, query: str) -> list[dict[str, Any]]:
    sheet = sheet_of(caller.get(f"/cases/export.xlsx?{query}"))
    names = headings(sheet, 1)
    assert sheet.freeze_panes == "B2"
    return [dict(zip(names, (c for c in row), strict=True)) for row in sheet.iter_rows(min_row=2)]


QUERIES = (
    "",
    "kind=labor_dispute",
    "kind=labor_dispute&sort=number",
    "is_open=true&sort=-opened_at",
    "org_unit=suzhou.gusu.shuangta",
    "flag=collective",
    "q=SUM",
    "stage=filed&kind=labor_dispute",
    "assignee=mediator",
    "overdue=true",
    "due_before=2026-03-20",
)


def test_the_case_list_exports_hold_the_searchs_rows_in_its_order(api: ApiWorld) -> None:
    _cases(api)
    supervisor = api["supervisor"]
    for query in QUERIES:
        found = _search(supervisor, query)
        rows = _xlsx_rows(supervisor, query)
        assert [r["案件编号"].value for r in rows] == [c["number"] for c in found], query
        csv = csv_rows(supervisor.get(f"/cases/export.csv?{query}"))
        assert csv[0] == [h for h, _ in engine.case_exports.COLUMNS]
        assert [line[0] for line in csv[1:]] == [c["number"] for c in found], query
    assert len(_search(supervisor, "")) == 5 and len(_search(supervisor, "overdue=true")) >= 1


ONE = "flag=collective&kind=labor_dispute&stage=accepted"
"""The dispute accepted in gusu with 12 workers (shuangta's has 2, the others are not accepted)."""


def test_a_case_list_row_names_the_case_in_chinese_with_its_times_as_times(api: ApiWorld) -> None:
    _cases(api)
    [found] = _search(api["supervisor"], ONE)
    [row] = _xlsx_rows(api["supervisor"], ONE)
    assert row["案件编号"].value == found["number"]
    assert (row["类型"].value, row["阶段"].value, row["状态"].value) == ("劳动争议调解", "受理", "办理中")
    assert (row["承办单位"].value, row["单位代码"].value) == ("姑苏区总工会", "suzhou.gusu")
    assert row["当事人"].value == found["parties"] and row["标记"].value == "集体争议"
    opened = datetime.fromisoformat(found["opened_at"])
    assert row["立案时间"].value == opened.replace(tzinfo=None) and row["立案时间"].is_date
    assert row["下一期限"].value.date() == min(date.fromisoformat(c["due_on"]) for c in found["clocks"])
    assert row["下一期限"].number_format == "yyyy-mm-dd"


def test_a_formula_like_party_is_text_in_the_workbook_and_neutralised_in_the_csv(api: ApiWorld) -> None:
    _cases(api)
    [row] = _xlsx_rows(api["mediator"], "q=cmd")
    assert row["当事人"].value == FORMULA and row["当事人"].data_type == "s" and row["当事人"].quotePrefix
    [plus] = _xlsx_rows(api["mediator"], "q=SUM")
    assert plus["当事人"].value == "+SUM(1,2)" and plus["当事人"].data_type == "s"
    response = api["mediator"].get("/cases/export.csv?q=cmd")
    assert response.mimetype == "text/csv" and response.get_data().startswith(b"\xef\xbb\xbf")
    [_, line] = csv_rows(response)
    assert line[7] == "'" + FORMULA


def test_a_case_list_export_holds_only_the_callers_unit_and_below(api: ApiWorld) -> None:
    _cases(api)
    wuzhong = _xlsx_rows(api["wuzhong_mediator"], "")
    assert [r["单位代码"].value for r in wuzhong] == ["suzhou.wuzhong"]
    shuangta = csv_rows(api["shuangta_mediator"].get("/cases/export.csv"))[1:]
    assert [line[5] for line in shuangta] == ["suzhou.gusu.shuangta"]
    gusu = {r["单位代码"].value for r in _xlsx_rows(api["mediator"], "")}
    assert gusu == {"suzhou.gusu", "suzhou.gusu.shuangta"}
    city = {r["单位代码"].value for r in _xlsx_rows(api["city_supervisor"], "")}
    assert city == gusu | {"suzhou.wuzhong"}
    for path in ("/cases/export.xlsx", "/cases/export.csv"):
        check_error(api["mediator"].get(f"{path}?org_unit=suzhou.wuzhong"), 403, "forbidden")
        check_error(api.client.get(path), 401, "unauthorized")
        body = check_error(api["mediator"].get(f"{path}?page=2"), 422, "invalid_request")
        assert "query.page" in body["fields"]


def test_a_search_beyond_the_exports_maximum_is_refused_naming_it(
    api: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cases(api)
    monkeypatch.setattr(engine.case_exports, "MAX_EXPORT_ROWS", 3)
    for path in ("/cases/export.xlsx", "/cases/export.csv"):
        body = check_error(api["supervisor"].get(path), 422, "too_many_cases")
        assert (body["total"], body["limit"]) == (5, 3)
        assert "narrow the search" in body["message"]
    assert len(_xlsx_rows(api["supervisor"], "kind=labor_dispute&is_open=true&org_unit=suzhou.gusu.shuangta")) == 1
    empty = _xlsx_rows(api["supervisor"], "q=nothing-like-this")
    assert empty == [] and csv_rows(api["supervisor"].get("/cases/export.csv?q=nothing-like-this"))[1:] == []


def test_an_export_of_exactly_the_maximum_is_whole(api: ApiWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The maximum is what an export may hold: that many cases are exported, not refused."""
    _cases(api)
    monkeypatch.setattr(engine.case_exports, "MAX_EXPORT_ROWS", 5)
    assert len(_xlsx_rows(api["supervisor"], "")) == 5
    assert len(csv_rows(api["supervisor"].get("/cases/export.csv"))) == 6
