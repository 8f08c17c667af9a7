"""Case lists as files people open in Excel or WPS: every case a search matches, as XLSX or as CSV.

The rows are those `engine.queries.search_cases` finds for the same filter and sort, without pages: a case list
holds at most MAX_EXPORT_ROWS cases (more raise TooManyCases, so a list is never cut off without a word). The
columns are in Chinese, as the unions' own registers are. Only what the case index keeps is exported: parties are
employer and enterprise names, never personal data, so the list is the same for every role that may search.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook

from engine.names import chinese
from engine.queries import CaseFilter, every_matching_case
from engine.registry import CASE_TYPES
from engine.service import Casework
from engine.spreadsheet import csv_bytes, set_cell, write_only_value, xlsx_bytes

MAX_EXPORT_ROWS = 50_000
"""The most cases one export holds: 2.3 MB of XLSX built in one go in about 10 seconds on a busy two-core machine
(the CSV, 11 MB, in under one); a larger search is refused, so that no request holds a worker for minutes."""

COLUMNS: tuple[tuple[str, int], ...] = (
    ("案件编号", 17),
    ("类型", 16),
    ("阶段", 14),
    ("状态", 8),
    ("承办单位", 20),
    ("单位代码", 22),
    ("承办人", 12),
    ("当事人", 36),
    ("文号", 22),
    ("标记", 18),
    ("立案时间", 17),
    ("最后更新", 17),
    ("下一期限", 12),
)
"""(heading, column width in characters)."""
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"


def stage_label(kind: str, stage: str) -> str:
    """The stage's Chinese name from its stage table's label (`"受理 accepted"`), else the stage's key."""
    label = CASE_TYPES[kind].TABLE.stages.get(stage) if kind in CASE_TYPES else None
    return label.partition(" ")[0] if label else stage


def _cells(row: dict[str, Any]) -> list[Any]:
    """A row's values in COLUMNS' order: texts, local times without a zone (a spreadsheet has none), a date."""
    assignee = row["assignee"]
    return [
        row["number"],
        chinese("kind", row["kind"]),
        stage_label(row["kind"], row["stage"]),
        "办理中" if row["is_open"] else "已结案",
        row["unit_name"] or row["org_unit"],
        row["org_unit"],
        (row["assignee_name"] or assignee) if assignee else "",
        row["parties"] or "",
        row["reference"] or "",
        "、".join(chinese("flag", f) for f in row["flags"]),
        row["opened_at"].replace(tzinfo=None),
        row["updated_at"].replace(tzinfo=None),
        row["next_due_on"],
    ]


def case_rows(cw: Casework, f: CaseFilter, *, sort: str = "-updated_at") -> list[dict[str, Any]]:
    """Every case `f` matches, in `sort` order (as GET /cases sorts); TooManyCases beyond MAX_EXPORT_ROWS."""
    return every_matching_case(cw, f, sort=sort, limit=MAX_EXPORT_ROWS)


def cases_xlsx(rows: list[dict[str, Any]]) -> bytes:
    """The case list as one XLSX sheet: the headings (frozen, with a filter), one row per case, times and dates as
    Excel's own, every text stored as text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("案件清单")
    for n, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = width
    sheet.freeze_panes = "B2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"

    headings = [set_cell(WriteOnlyCell(sheet), heading) for heading, _ in COLUMNS]
    for heading in headings:
        heading.font = Font(bold=True)
    sheet.append(headings)
    for row in rows:  # a date keeps openpyxl's own yyyy-mm-dd
        sheet.append(
            [
                write_only_value(sheet, value, DATETIME_FORMAT if isinstance(value, datetime) else None)
                for value in _cells(row)
            ]
        )
    return xlsx_bytes(book)


def _csv_lines(rows: list[dict[str, Any]]) -> Iterator[list[Any]]:
    yield [heading for heading, _ in COLUMNS]
    for row in rows:
        values = _cells(row)
        yield [
            v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v.isoformat() if isinstance(v, date) else v
            for v in values
        ]


def cases_csv(rows: list[dict[str, Any]]) -> bytes:
    """The case list as CSV (UTF-8 with BOM, formula-like cells neutralised): the same columns as the XLSX."""
    return csv_bytes(_csv_lines(rows))
