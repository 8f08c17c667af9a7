"""CSV for people who open it in Excel or WPS: UTF-8 with a byte-order mark, and no cell run as a formula.

Without the byte-order mark Excel and WPS read UTF-8 as the local code page and Chinese text turns to
mojibake. A text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is taken for a
formula (CSV injection: `=HYPERLINK(...)` in a note or a reason would run on a supervisor's machine), so
such a cell gets a leading apostrophe, which the spreadsheet shows as text and does not display.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

BOM = "\ufeff"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?", re.ASCII)


def neutralise(value: Any) -> Any:
    """The cell as text a spreadsheet will not evaluate; numbers (also a negative amount as text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NUMBER.fullmatch(value):
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
