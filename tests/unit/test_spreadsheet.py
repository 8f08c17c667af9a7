"""CSV and XLSX for Excel and WPS: a byte-order mark, and no text cell a spreadsheet would evaluate."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import Cell

from engine.spreadsheet import csv_bytes, neutralise, set_cell, xlsx_bytes


@pytest.mark.parametrize("cell", ["=1+2", "+86 139", "-2+3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("x")'])
def test_a_text_cell_that_begins_a_formula_is_written_as_text(cell: str) -> None:
    assert neutralise(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12", "-12.50", "王建国", "", "a=b", 5, Decimal("-3.20"), None])
def test_numbers_and_ordinary_text_are_left_alone(cell: object) -> None:
    assert neutralise(cell) == cell


def test_the_file_is_utf8_with_a_byte_order_mark_and_round_trips_chinese() -> None:
    data = csv_bytes([["名称", "金额"], ["苏州示例纺织有限公司", Decimal("-1.5")], ["=1", "@x"]])
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["名称", "金额"], ["苏州示例纺织有限公司", "-1.5"], ["'=1", "'@x"]]


@pytest.mark.parametrize("text", ["=1+2", "+86 139", "@SUM(A1)", '=HYPERLINK("http://x","y")', "-2+3"])
def test_an_xlsx_text_that_begins_a_formula_is_stored_as_text_and_kept_so(text: str) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None

    def at(column: int) -> Cell:
        cell = sheet.cell(1, column)
        assert isinstance(cell, Cell)
        return cell

    set_cell(at(1), text)
    set_cell(at(2), "苏州\x07示例")  # a control character XLSX cannot hold is left out
    set_cell(at(3), Decimal("1200.50"), "#,##0.00")
    set_cell(at(4), "-12")
    read = load_workbook(io.BytesIO(xlsx_bytes(book))).active
    assert read is not None
    a, b, c, d = read[1]
    assert (a.value, a.data_type, a.quotePrefix) == (text, "s", True)
    assert (b.value, b.data_type) == ("苏州示例", "s")
    assert (c.value, c.data_type, c.number_format) == (1200.5, "n", "#,##0.00")
    assert (d.value, d.data_type, d.quotePrefix) == ("-12", "s", False)
