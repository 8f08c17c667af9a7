"""Parsing of command values shared by the case types: text, dates, whole numbers, money."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

CENTS = Decimal("0.01")


def text(value: Any) -> str:
    """Stripped text; anything that is not a string counts as missing."""
    return value.strip() if isinstance(value, str) else ""


def is_day(value: Any) -> bool:
    """A calendar date (a datetime is refused: it cannot be compared with one)."""
    return isinstance(value, date) and not isinstance(value, datetime)


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def to_decimal(value: Any, places: Decimal | None = None) -> Decimal | None:
    """A finite Decimal (quantized to `places` when given), or None when `value` is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not parsed.is_finite():
        return None
    try:
        return parsed.quantize(places) if places is not None else parsed
    except InvalidOperation:  # too many digits to quantize, e.g. "1e30" to cents
        return None


def money(value: Any) -> Decimal | None:
    """A non-negative amount of CNY to the cent, or None."""
    parsed = to_decimal(value, CENTS)
    return parsed if parsed is not None and parsed >= 0 else None


def as_uuid(value: Any) -> UUID | None:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except (ValueError, TypeError, AttributeError):
        return None
