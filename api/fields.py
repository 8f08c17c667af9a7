"""Request field types: bounded text, decimal strings for money, whole numbers and days.

The nested parts of cases are declared once in `aggregates.shapes`; `api.command_schemas.shape_schema`
makes one schema per shape from them, and the campaign request uses the same ones as the offer it opens.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

_CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"  # C0 controls but tab, newline and return; DEL
_CONTROL = re.compile(f"[{_CONTROL_CHARACTERS}]")
INT32 = validate.Range(min=-(2**31), max=2**31 - 1)
MAX_ITEMS = 200
"""The most items a list in a request may hold."""


class Text(fields.String):
    """Text without control characters, at most `max_length` characters (after stripping)."""

    def __init__(self, *, max_length: int = 2000, min_length: int = 0, **kwargs: Any) -> None:
        self.max_length = max_length
        kwargs.setdefault("validate", validate.Length(min=min_length, max=max_length))
        metadata = {
            "maxLength": max_length,
            **({"minLength": min_length} if min_length else {}),
            "pattern": f"^[^{_CONTROL_CHARACTERS}]*$",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ma.ValidationError("may not contain control characters")
        return text.strip()


class DecimalText(fields.Field):
    """A decimal number as a string ("8600.00"); a JSON number is accepted too. Passed on as text."""

    def __init__(self, *, signed: bool = False, places: int = 2, digits: int = 12, **kwargs: Any) -> None:
        sign = "-?" if signed else ""
        self.pattern = re.compile(rf"^{sign}\d{{1,{digits}}}(\.\d{{1,{places}}})?$")
        metadata = {
            "type": "string",
            "pattern": self.pattern.pattern,
            "example": "8600.00" if not signed else "5.5",
            **kwargs.pop("metadata", {}),
        }
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise ma.ValidationError('must be a decimal number, e.g. "8600.00"')
        text = str(value).strip()
        if not self.pattern.match(text):
            raise ma.ValidationError(f"must be a decimal number matching {self.pattern.pattern}")
        return text

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class Whole(fields.Integer):
    """A whole number within 32 bits (true/false and 3.5 are refused)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", INT32)
        super().__init__(strict=True, **kwargs)


class Day(fields.Date):
    """A calendar day between 1900 and 2999: due dates and deadlines are moved by days and years later on, and
    a day at the calendar's end (9999-12-31) would overflow then instead of being refused now."""

    FIRST, LAST = date(1900, 1, 1), date(2999, 12, 31)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "validate",
            validate.Range(min=self.FIRST, max=self.LAST, error=f"must be a day from {self.FIRST} to {self.LAST}"),
        )
        super().__init__(**kwargs)


class Strict(ma.Schema):
    """Unknown fields are an error that names them."""

    class Meta:
        unknown = ma.RAISE
