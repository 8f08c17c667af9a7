"""Files for people who open them in Excel or WPS: CSV in UTF-8 with a byte-order mark, XLSX, and no cell run as
a formula in either.

Without the byte-order mark Excel and WPS read UTF-8 as the local code page and Chinese text turns to
mojibake. A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken for a
formula (CSV injection: `=HYPERLINK(...)` in a note or a reason would run on a supervisor's machine), so
such a cell gets a leading apostrophe, which the spreadsheet shows as text and does not display. In an XLSX file
a cell has a type of its own: every text is stored as text (never as a formula, whatever it begins with) and one
that looks like a formula is also marked with the quote prefix, so it stays text when someone edits it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.workbook import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""The media type of an Excel workbook (.xlsx)."""

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?", re.ASCII)


def formula_like(value: str) -> bool:
    """Whether a spreadsheet would take this text for a formula (a negative amount as text is a number)."""
    return value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value)


def neutralise(value: Any) -> Any:
    """The cell as text a spreadsheet will not evaluate; numbers (also a negative amount as text) unchanged."""
    if isinstance(value, str) and formula_like(value):
        return "'" + value
    return value


def csv_document(rows: Iterable[Iterable[Any]]) -> str:
    """The whole CSV file as text, beginning with the byte-order mark; encode it as UTF-8."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return out.getvalue()


def csv_bytes(rows: Iterable[Iterable[Any]]) -> bytes:
    return csv_document(rows).encode("utf-8")


def set_cell(cell: Cell, value: Any, number_format: str | None = None) -> Cell:
    """Put `value` in an XLSX cell: text always as text (openpyxl would store `=...` as a formula), marked with the
    quote prefix when it looks like one, without the control characters XLSX cannot hold; numbers, dates and
    times as themselves, shown with `number_format`."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        cell.value = value
        cell.data_type = "s"
        if formula_like(value):
            cell.quotePrefix = True
    else:
        cell.value = value
    if number_format is not None:
        cell.number_format = number_format
    return cell


def write_only_value(sheet: WriteOnlyWorksheet, value: Any, number_format: str | None = None) -> Any:
    """`value` as a row of a write-only sheet takes it: as itself where openpyxl stores it as it is (most texts,
    numbers, dates), else as a cell made with `set_cell` (a formula-like text, a number format of its own). A
    cell object per value would double the time a large sheet takes."""
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
        if not formula_like(value) and not value.startswith("="):
            return value
    elif number_format is None:
        return value
    return set_cell(WriteOnlyCell(sheet), value, number_format)


def xlsx_bytes(workbook: Workbook) -> bytes:
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
