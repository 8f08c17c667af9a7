"""The federation's statistics, summed from the read model for an org unit and its descendants.

Org units are dotted paths (`suzhou.gusu.shuangta`): a unit's figures include every unit below it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook import Workbook
from sqlalchemy import Select, func, select, union_all

from engine.accounts import get_org, list_orgs
from engine.database import in_unit
from engine.organisation import supervisors_of
from engine.service import Casework
from engine.spreadsheet import csv_bytes, set_cell, xlsx_bytes
from engine.tables import case_statistics, statistics_periods

# (metric, 中文, English) in the order the union's annual reports give them.
SECTIONS: dict[str, list[tuple[str, str, str]]] = {
    "wage_negotiation": [
        ("offers_written", "发出书面要约(份)", "written offers issued"),
        ("enterprises_covered", "覆盖企业(家)", "enterprises covered"),
        ("offers_answered", "应约企业(家)", "enterprises that answered"),
        ("offers_refused", "拒绝应约(家)", "enterprises that refused"),
        ("acting_offers", "上级工会代行要约(家)", "acting offers by the higher union"),
        ("rectification_proposals", "发出整改建议书(份)", "rectification proposals issued"),
        ("agreed_to_rectify", "同意整改企业(家)", "enterprises that agreed to rectify"),
        ("negotiations_referred", "提交人社部门执法检查(家)", "referred to the labor inspectorate"),
        ("contracts_signed", "签订工资集体合同(份)", "wage contracts signed"),
        ("contracts_effective", "合同生效(份)", "contracts in effect"),
    ],
    "labor_dispute": [
        ("disputes_filed", "申请调解(件)", "mediation applications"),
        ("disputes_accepted", "受理劳动争议(件)", "disputes accepted"),
        ("collective_disputes_accepted", "其中集体劳动争议(件)", "of which collective disputes"),
        ("dispute_workers_involved", "涉及劳动者(人)", "workers involved"),
        ("disputes_mediated", "调解成功(件)", "mediated successfully"),
        ("disputes_failed", "调解不成(件)", "mediation failed"),
        ("disputes_referred", "告知申请仲裁(件)", "referred to arbitration"),
        ("disputes_resolved", "协议履行完毕(件)", "agreements performed"),
    ],
    "rectification_proposal": [
        ("rectifications_issued", "整改建议书(份)", "rectification proposals"),
        ("rectifications_accepted", "同意整改(家)", "accepted with a plan"),
        ("rectifications_completed", "整改完成(家)", "rectified"),
        ("rectifications_referred", "提交执法检查(家)", "referred to the inspectorate"),
    ],
    "hardship": [
        ("hardship_applications", "申请帮扶(人)", "applications"),
        ("hardship_registered", "建档困难职工(人)", "registered hardship workers"),
        ("hardship_registered_deep", "其中深度困难(人)", "of which deep hardship"),
        ("hardship_registered_relative", "其中相对困难(人)", "of which relative hardship"),
        ("hardship_registered_sudden", "其中意外致困(人)", "of which sudden hardship"),
        ("hardship_exited", "脱困(人)", "exited hardship"),
        ("disbursements", "帮扶(人次)", "disbursements"),
        ("disbursed_amount_living", "生活救助(元)", "living aid, CNY"),
        ("disbursed_amount_medical", "医疗救助(元)", "medical aid, CNY"),
        ("disbursed_amount_education", "助学(元)", "education aid, CNY"),
        ("disbursed_amount_holiday", "送温暖(元)", "holiday relief, CNY"),
        ("disbursed_amount_employment", "就业援助(元)", "employment aid, CNY"),
    ],
}

RATES = [
    ("answer_rate", "应约率", "answer rate", "offers_answered", "enterprises_covered"),
    ("mediation_success_rate", "调解成功率", "mediation success rate", "disputes_mediated", "disputes_accepted"),
]


@dataclass(frozen=True)
class Report:
    org_unit: str | None
    start: date | None
    end: date | None
    figures: dict[str, Decimal]
    by_org: dict[str, dict[str, Decimal]]

    def figure(self, metric: str) -> Decimal:
        return self.figures.get(metric, Decimal(0))

    def rate(self, numerator: str, denominator: str) -> Decimal | None:
        return rate_of(self.figures, numerator, denominator)


def rate_of(figures: Mapping[str, Decimal], numerator: str, denominator: str) -> Decimal | None:
    """`numerator` as a percentage of `denominator` to one decimal (50.0), None when the denominator is 0."""
    d = figures.get(denominator, Decimal(0))
    return None if not d else (figures.get(numerator, Decimal(0)) / d * 100).quantize(Decimal("0.1"))


def statistics(
    cw: Casework,
    *,
    org_unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
    by_org_depth: int | None = None,
) -> Report:
    """Sum every counter over [start, end] for `org_unit` and below (all units when None).

    With `by_org_depth`, also break the figures down by the org-unit path cut at that depth.
    """
    parts = [_counters(grain, first, after, org_unit) for grain, first, after in spans(start, end)]
    if not parts:  # a period that ends before it starts
        return Report(org_unit, start, end, {}, {})
    counters = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    c = counters.c
    query = select(c.org_unit, c.metric, func.sum(c.value)).group_by(c.org_unit, c.metric)
    totals: dict[str, Decimal] = defaultdict(Decimal)
    by_org: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with cw.read_transaction() as session:
        for unit, metric, value in session.execute(query):
            value = Decimal(value)
            totals[metric] += value
            if by_org_depth:
                by_org[".".join(unit.split(".")[:by_org_depth])][metric] += value
    return Report(org_unit, start, end, dict(totals), {k: dict(v) for k, v in by_org.items()})


Span = tuple[str, date | None, date | None]
"""(grain, first, after): the counters of one grain ("day", "month" or "year") whose period starts on or after
`first` and before `after` (None: no bound)."""


def spans(start: date | None, end: date | None) -> list[Span]:
    """[start, end] (None: unbounded) as whole years, then whole months beside them, then single days at the ends:
    at most five spans, whose rows a report sums in place of every day's."""
    if start is not None and end is not None and start > end:
        return []
    first = start
    after = None if end is None or end == date.max else end + timedelta(days=1)
    if (start is not None and start.year == date.max.year) or (after is not None and after.year == date.max.year):
        return [("day", first, after)]  # no month after December 9999 to round up to
    months = _period_spans("month", first, after, _month_start, _next_month)
    if months is None:
        return [("day", first, after)]
    (m_first, m_after), out = months
    years = _period_spans("year", m_first, m_after, _year_start, _next_year)
    if years is None:
        return [("month", m_first, m_after), *out]
    (y_first, y_after), month_ends = years
    return [("year", y_first, y_after), *month_ends, *out]


def _period_spans(
    grain: str, first: date | None, after: date | None, floor: Callable[[date], date], ceil: Callable[[date], date]
) -> tuple[tuple[date | None, date | None], list[Span]] | None:
    """The whole periods of `grain` inside [first, after) and the spans of the next finer grain left at either end;
    None when no whole period fits."""
    inner_first = None if first is None else (first if floor(first) == first else ceil(first))
    inner_after = None if after is None else floor(after)
    if inner_first is not None and inner_after is not None and inner_first >= inner_after:
        return None
    finer = {"month": "day", "year": "month"}[grain]
    ends: list[Span] = []
    if first is not None and inner_first is not None and first < inner_first:
        ends.append((finer, first, inner_first))
    if after is not None and inner_after is not None and inner_after < after:
        ends.append((finer, inner_after, after))
    return (inner_first, inner_after), ends


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return date(d.year + d.month // 12, d.month % 12 + 1, 1)


def _year_start(d: date) -> date:
    return d.replace(month=1, day=1)


def _next_year(d: date) -> date:
    return date(d.year + 1, 1, 1)


def _counters(grain: str, first: date | None, after: date | None, org_unit: str | None) -> Select[Any]:
    """(org unit, metric, value) of the counters of one span, for `org_unit` and below."""
    if grain == "day":
        d = case_statistics.c
        query, unit, starts = select(d.org_unit, d.metric, d.value), d.org_unit, d.day
    else:
        p = statistics_periods.c
        query = select(p.org_unit, p.metric, p.value).where(p.grain == grain)
        unit, starts = p.org_unit, p.starts
    if first is not None:
        query = query.where(starts >= first)
    if after is not None:
        query = query.where(starts < after)
    return query.where(in_unit(unit, org_unit)) if org_unit else query


def plain(value: Decimal) -> str:
    """A count as a whole number, an amount with its cents: 9.00 -> "9", 3500.50 -> "3500.50"."""
    return str(value.quantize(Decimal(1))) if value == value.to_integral_value() else str(value)


def rows(rep: Report, columns: list[str]) -> list[tuple[str, str, str, str, Decimal, list[Decimal]]]:
    """(section, metric, 中文, English, total, per-column values) in the order the unions report them."""
    return [
        (section, metric, zh, en, rep.figure(metric), [rep.by_org[c].get(metric, Decimal(0)) for c in columns])
        for section, metrics in SECTIONS.items()
        for metric, zh, en in metrics
    ]


def as_json(rep: Report) -> dict[str, object]:
    """The report as JSON-ready data: counts as whole numbers, amounts with cents, rates in percent."""
    columns = sorted(rep.by_org)
    return {
        "org_unit": rep.org_unit,
        "from": str(rep.start or ""),
        "to": str(rep.end or ""),
        "figures": {m: plain(v) for _, m, _, _, v, _ in rows(rep, [])},
        "rates": {name: (str(r) if (r := rep.rate(n, d)) is not None else None) for name, _, _, n, d in RATES},
        "by_org": {c: {m: plain(v) for m, v in rep.by_org[c].items()} for c in columns},
    }


def report_csv(rep: Report) -> bytes:
    """One row per figure: section, metric, both labels, the total and one column per org unit."""
    columns = sorted(rep.by_org)
    return csv_bytes(
        [
            ["section", "metric", "label_zh", "label_en", "total", *columns],
            *(
                [section, metric, zh, en, plain(total), *map(plain, per)]
                for section, metric, zh, en, total, per in rows(rep, columns)
            ),
        ]
    )


# -- the report as an XLSX table, laid out as the unions publish theirs ----------------------------------------

TABLE_TITLE = "工资集体协商、劳动争议及困难职工帮扶统计表"
SECTION_TITLES = {
    "wage_negotiation": "工资集体协商",
    "labor_dispute": "劳动争议调解",
    "rectification_proposal": "整改建议书",
    "hardship": "困难职工帮扶",
}
TOTAL_LABEL = "合计"
OWN_LEVEL = "（本级）"
"""After a unit's name on the row of the cases recorded at the unit itself rather than at a unit below it."""
ALL_UNITS = "全部单位"
COUNT_FORMAT = "#,##0"
MONEY_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.0%"
HEADER_ROWS = 4
"""Title, unit and period, section headings, figure headings; the units' rows follow."""


@dataclass(frozen=True)
class UnitRow:
    """One row of the table: a unit (its path and name) and its figures."""

    unit: str
    name: str
    figures: Mapping[str, Decimal]


@dataclass(frozen=True)
class Column:
    """A figure column: a counted metric, or a rate (`metric` the rate's name, with its numerator and denominator)."""

    section: str
    metric: str
    heading: str
    money: bool = False
    rate: tuple[str, str] | None = None

    def value(self, figures: Mapping[str, Decimal]) -> tuple[Decimal | int | None, str]:
        """The cell's number and its format: a count as a whole number, an amount with its cents, a rate as a
        fraction shown as a percentage (50.0% is 0.5), no number when the rate has no denominator."""
        if self.rate is not None:
            rate = rate_of(figures, *self.rate)
            return (None if rate is None else rate / 100), PERCENT_FORMAT
        value = figures.get(self.metric, Decimal(0))
        if self.money:
            return value.quantize(Decimal("0.01")), MONEY_FORMAT
        return int(value), COUNT_FORMAT


def columns() -> list[Column]:
    """Every figure in the unions' order, each rate at the end of the section its numerator belongs to."""
    section_of = {metric: section for section, metrics in SECTIONS.items() for metric, _, _ in metrics}
    out = []
    for section, metrics in SECTIONS.items():
        out += [Column(section, metric, zh, money=zh.endswith("(元)")) for metric, zh, _ in metrics]
        out += [
            Column(section, name, f"{zh}(%)", rate=(numerator, denominator))
            for name, zh, _, numerator, denominator in RATES
            if section_of[numerator] == section
        ]
    return out


def period_text(start: date | None, end: date | None) -> str:
    """The period as the unions write it: 2026年1月1日至2026年6月30日."""

    def day(d: date) -> str:
        return f"{d.year}年{d.month}月{d.day}日"

    if start and end:
        return f"{day(start)}至{day(end)}"
    if start:
        return f"{day(start)}起"
    if end:
        return f"截至{day(end)}"
    return "全部期间"


def unit_rows(cw: Casework, rep: Report, depth: int) -> list[UnitRow]:
    """One row per unit at `depth` (path components) under the report's unit, from the org tree, with zeros for a
    unit that did nothing; first the report's own unit when cases were recorded at the unit itself. `rep` must be
    broken down at `depth`. A unit the figures name that the tree lacks is listed by its path."""
    under = rep.org_unit
    names = {o.path: o.name for o in list_orgs(cw, under=under)}
    for path in set(rep.by_org) - set(names):  # a unit above the report's, when `depth` is above its own
        if (org := get_org(cw, path)) is not None:
            names[path] = org.name
    units = sorted({p for p in names if p.count(".") + 1 == depth and p != under} | set(rep.by_org))
    rows = []
    for path in units:
        name = names.get(path, path)
        if path == under:
            name += OWN_LEVEL
        rows.append(UnitRow(path, name, rep.by_org.get(path, {})))
    own = [r for r in rows if r.unit == under]
    return own + [r for r in rows if r.unit != under]


def report_xlsx(rep: Report, unit_name: str, rows: list[UnitRow]) -> bytes:
    """The statistics table as the unions publish theirs: a title row with the unit and the period, the sections'
    and the figures' headings, one row per unit (name and path), and the totals row; counts, amounts and rates
    as numbers with their formats, the headings and the units' names frozen in view."""
    cols = columns()
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook has its one sheet
    sheet.title = "统计表"
    last = 2 + len(cols)
    bold, thin = Font(bold=True), Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    middle = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def at(row: int, column: int) -> Cell:
        """The cell to write (never one merged into another)."""
        cell = sheet.cell(row, column)
        assert isinstance(cell, Cell)
        return cell

    title = f"{unit_name} {period_text(rep.start, rep.end)} {TABLE_TITLE}"
    set_cell(at(1, 1), title).font = Font(bold=True, size=14)
    sheet.cell(1, 1).alignment = Alignment(horizontal="center", vertical="center")
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last)
    sheet.row_dimensions[1].height = 30
    where = f"填报单位：{unit_name}" + (f"（{rep.org_unit}）" if rep.org_unit else "")
    set_cell(at(2, 1), f"{where}    统计期间：{period_text(rep.start, rep.end)}")
    sheet.merge_cells(start_row=2, start_column=1, end_row=2, end_column=last)

    for column, heading in ((1, "单位"), (2, "单位代码")):
        set_cell(at(3, column), heading)
        sheet.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
    first = 3
    for section in SECTIONS:
        width = sum(1 for c in cols if c.section == section)
        set_cell(at(3, first), SECTION_TITLES[section])
        sheet.merge_cells(start_row=3, start_column=first, end_row=3, end_column=first + width - 1)
        first += width
    for n, col in enumerate(cols, start=3):
        set_cell(at(4, n), col.heading)
    for row in (3, 4):
        for column in range(1, last + 1):
            cell = sheet.cell(row, column)
            cell.font, cell.alignment, cell.border = bold, middle, box
    sheet.row_dimensions[4].height = 48

    def put(row: int, name: str, path: str, figures: Mapping[str, Decimal], font: Font | None = None) -> None:
        set_cell(at(row, 1), name)
        set_cell(at(row, 2), path)
        for n, col in enumerate(cols, start=3):
            value, number_format = col.value(figures)
            set_cell(at(row, n), value, number_format)
        for column in range(1, last + 1):
            sheet.cell(row, column).border = box
            if font is not None:
                sheet.cell(row, column).font = font

    for n, unit_row in enumerate(rows, start=HEADER_ROWS + 1):
        put(n, unit_row.name, unit_row.unit, unit_row.figures)
    put(HEADER_ROWS + 1 + len(rows), TOTAL_LABEL, rep.org_unit or "", rep.figures, bold)

    widest = max([len(unit_name), *(len(r.name) for r in rows), 4])
    sheet.column_dimensions["A"].width = min(2 * widest + 2, 40)
    sheet.column_dimensions["B"].width = min(max([len(r.unit) for r in rows] + [8]) + 2, 40)
    for n, col in enumerate(cols, start=3):
        sheet.column_dimensions[get_column_letter(n)].width = 14 if col.money else 11
    sheet.freeze_panes = f"C{HEADER_ROWS + 1}"
    sheet.print_title_rows = f"3:{HEADER_ROWS}"
    sheet.page_setup.orientation = "landscape"
    return xlsx_bytes(book)


def statistics_xlsx(
    cw: Casework,
    *,
    org_unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
    by_org_depth: int | None = None,
) -> bytes:
    """The statistics of `org_unit` and below over [start, end] as an XLSX table: one row per unit directly below
    `org_unit` (or at `by_org_depth`), then the totals."""
    depth = by_org_depth or ((org_unit.count(".") + 2) if org_unit else 1)
    rep = statistics(cw, org_unit=org_unit, start=start, end=end, by_org_depth=depth)
    unit_name = ALL_UNITS
    if org_unit:
        org = get_org(cw, org_unit)
        unit_name = org.name if org is not None else org_unit
    return report_xlsx(rep, unit_name, unit_rows(cw, rep, depth))


# -- the monthly table written into the data directory, for the unit's supervisors ------------------------------

EXPORTS_DIR = "exports"
"""Under the data directory: exports/<unit>/<period>.xlsx."""
ALL_UNITS_DIR = "all"
_UNIT_PATH = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}(\.[a-z0-9][a-z0-9_-]{0,39})*")


@dataclass(frozen=True)
class StatisticsExport:
    """A statistics table written for a unit and period: where it is, absolute and under the data directory."""

    org_unit: str | None
    start: date
    end: date
    path: Path
    relative: str


@dataclass(frozen=True)
class ExportNotice:
    """What to tell whom about a statistics export: the users, a subject and a body naming the file."""

    recipients: list[str]
    subject: str
    body: str


def period_name(start: date, end: date) -> str:
    """The file name of a period: 2026-03 for a whole month, 2026 for a whole year, else 2026-03-01_2026-04-30."""
    if start.day == 1 and end == (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1):
        return f"{start:%Y-%m}"
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31) and start.year == end.year:
        return f"{start:%Y}"
    return f"{start.isoformat()}_{end.isoformat()}"


def write_statistics_export(cw: Casework, org_unit: str | None, start: date, end: date) -> StatisticsExport:
    """Write the statistics table of `org_unit` (None: every unit) for [start, end] to
    <data dir>/exports/<unit>/<period>.xlsx, replacing the file of an earlier run for the same unit and period
    whole (written beside it, then renamed), and say where it is."""
    if org_unit is not None and not _UNIT_PATH.fullmatch(org_unit):
        raise ValueError(f"not an org unit path: {org_unit!r}")
    relative = f"{EXPORTS_DIR}/{org_unit or ALL_UNITS_DIR}/{period_name(start, end)}.xlsx"
    path = cw.settings.data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(statistics_xlsx(cw, org_unit=org_unit, start=start, end=end))
    partial.replace(path)
    return StatisticsExport(org_unit, start, end, path.resolve(), relative)


def statistics_export_notice(cw: Casework, export: StatisticsExport) -> ExportNotice:
    """What the supervisors of the export's unit (the nearest unit at or above it that has any active ones) are to
    be told: the notification step calls this and sends the notice with the file."""
    with cw.read_transaction() as session:
        recipients = supervisors_of(session, export.org_unit) if export.org_unit else []
    unit_name = ALL_UNITS
    if export.org_unit and (org := get_org(cw, export.org_unit)) is not None:
        unit_name = org.name
    period = period_text(export.start, export.end)
    return ExportNotice(
        recipients,
        f"{unit_name} {period} {TABLE_TITLE}",
        f"{unit_name}{period}的{TABLE_TITLE}已生成：{export.relative}",
    )


def send_statistics_export(cw: Casework, export: StatisticsExport) -> int:
    """Tell the supervisors of the export's unit that its table is written, with a link to download the same table
    from the workspace (the file itself stays in the data directory). Once per unit and period, however often the
    flow runs. Returns how many were told."""
    from urllib.parse import urlencode

    from engine.notifications import REPORT, tell

    notice = statistics_export_notice(cw, export)
    query = urlencode({"unit": export.org_unit or "", "from": export.start, "to": export.end})
    link = f"/supervision/dashboard.xlsx?{query}"
    body = f"{notice.body}\n下载：{cw.settings.public_url}{link}"
    key = f"statistics:{export.org_unit or '*'}:{export.start}:{export.end}"
    return tell(cw, key, REPORT, notice.recipients, notice.subject, body, link)
