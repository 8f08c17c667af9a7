"""The monthly statistics flow writes the unions' XLSX table into the data directory and names it, and whom it is
for, in its artifact."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from aggregates.base import DEFAULT_TZ
from engine.notifications import list_inbox
from engine.reports import statistics
from engine.service import Casework
from tests.integration.scenarios import MEDIATOR, file_dispute
from tests.workflows.support import ON_SQLITE, STREET, artifacts, flow_run_id, org_tree, run_flow
from workflows.maintenance import statistics_report
from workflows.runtime import using

pytestmark = ON_SQLITE


def test_the_monthly_report_writes_last_months_xlsx_table_for_the_unit_and_links_it(cw: Casework, clock) -> None:
    org_tree(cw)
    accepted = file_dispute(cw, workers_involved=12).case_id  # March, gusu itself
    cw.execute(accepted, "accept", MEDIATOR)
    file_dispute(cw, org_unit=STREET)
    file_dispute(cw, org_unit="suzhou.wuzhong")
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=DEFAULT_TZ))
    file_dispute(cw, org_unit=STREET)  # April: not in March's table

    with using(cw):
        state = run_flow(statistics_report, org_unit="suzhou.gusu")
    assert state.is_completed(), state.message
    assert state.result()["exports"] == ["exports/suzhou.gusu/2026-03.xlsx"]
    path = cw.settings.data_dir / "exports" / "suzhou.gusu" / "2026-03.xlsx"
    sheet = load_workbook(path).active
    assert sheet is not None
    assert sheet["A1"].value == "姑苏区总工会 2026年3月1日至2026年3月31日 工资集体协商、劳动争议及困难职工帮扶统计表"
    headings = [c.value for c in sheet[4]]
    filed, accepted_column = headings.index("申请调解(件)"), headings.index("受理劳动争议(件)")
    rows = [(r[1].value, r[filed].value, r[accepted_column].value) for r in sheet.iter_rows(min_row=5)]
    assert rows == [("suzhou.gusu", 1, 1), (STREET, 1, 0), ("suzhou.gusu", 2, 1)]
    march = statistics(cw, org_unit="suzhou.gusu", start=date(2026, 3, 1), end=date(2026, 3, 31))
    assert Decimal(str(rows[-1][1])) == march.figure("disputes_filed")

    [markdown] = [a for a in artifacts(flow_run_id(state)) if a.key == "statistics-export-month"]
    assert markdown.type == "markdown"
    assert f"[exports/suzhou.gusu/2026-03.xlsx]({path.resolve().as_uri()})" in markdown.data
    assert "for the supervisors: gusu-sup-a, gusu-sup-b" in markdown.data

    # and the supervisors are told, once, with a link to download the table from the workspace
    assert state.result()["told"] == 2
    for supervisor in ("gusu-sup-a", "gusu-sup-b"):
        [entry] = list_inbox(cw, supervisor)[0]
        assert entry.kind == "report_ready" and "姑苏区总工会" in entry.subject
        assert entry.link == "/supervision/dashboard.xlsx?unit=suzhou.gusu&from=2026-03-01&to=2026-03-31"
    with using(cw):
        assert run_flow(statistics_report, org_unit="suzhou.gusu").result()["told"] == 0  # a rerun tells nobody again


def test_without_a_unit_the_report_writes_the_table_of_the_top_of_the_tree(cw: Casework, clock) -> None:
    org_tree(cw)
    file_dispute(cw)
    file_dispute(cw, org_unit="suzhou.wuzhong")
    clock.set(datetime(2026, 4, 1, 6, 0, tzinfo=DEFAULT_TZ))
    with using(cw):
        first = run_flow(statistics_report)
        assert first.is_completed(), first.message
        again = run_flow(statistics_report)  # the same month again: the file is replaced, not doubled
    assert again.result()["exports"] == ["exports/suzhou/2026-03.xlsx"]
    files = sorted(p.name for p in (cw.settings.data_dir / "exports" / "suzhou").iterdir())
    assert files == ["2026-03.xlsx"]
    sheet = load_workbook(cw.settings.data_dir / "exports" / "suzhou" / "2026-03.xlsx").active
    assert sheet is not None
    column = [c.value for c in sheet[4]].index("申请调解(件)")
    assert [(r[0].value, r[column].value) for r in sheet.iter_rows(min_row=5)] == [
        ("姑苏区总工会", 1),
        ("吴中区总工会", 1),
        ("合计", 2),
    ]
    [markdown] = [a for a in artifacts(flow_run_id(again)) if a.key == "statistics-export-month"]
    assert "苏州市总工会 2026年3月1日至2026年3月31日" in markdown.data and "city-sup" in markdown.data
