"""CSV for Excel and WPS: a byte-order mark, and no text cell a spreadsheet would evaluate."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from engine.spreadsheet import csv_bytes, neutralise


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
