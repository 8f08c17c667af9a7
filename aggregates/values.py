"""Parsing of command values shared by the case types: text, dates, whole numbers, money."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeGuard
from uuid import UUID

from stdnum.cn import ric, uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

CENTS = Decimal("0.01")


def text(value: Any) -> str:
    """Stripped text; anything that is not a string counts as missing."""
    return value.strip() if isinstance(value, str) else ""


def is_day(value: Any) -> TypeGuard[date]:
    """A calendar date (a datetime is refused: it cannot be compared with one)."""
    return isinstance(value, date) and not isinstance(value, datetime)


def is_whole(value: Any) -> TypeGuard[int]:
    """A whole number (a bool is refused, though Python counts it as one)."""
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


def identifier(value: Any) -> str:
    """An ID number or credit code as it is keyed and stored: NFKC, every decimal digit as an ASCII digit,
    no spaces, upper case. The same number typed with full-width (３２０５) or Arabic-Indic digits is then
    one number, not another person."""
    if not isinstance(value, str):
        return ""
    folded = unicodedata.normalize("NFKC", value)
    folded = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in folded)
    return "".join(folded.split()).upper()


def resident_id_problem(number: str) -> str | None:
    """What is wrong with a normalised resident ID number (居民身份证号码, GB 11643), or None.

    The check digit and the birth date are checked; the region code is not, because codes are
    renamed and merged over the years and a real number must never be refused for that."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit() or number[17] not in "0123456789X":
        return "must be 18 characters: 17 digits, then a digit or X"
    if ric.calc_check_digit(number) != number[17]:
        return "fails its check digit (GB 11643): a character is mistyped"
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return "holds no valid birth date (characters 7 to 14)"
    if born.year < 1880:
        return "holds no valid birth date (characters 7 to 14)"
    return None


def credit_code_problem(code: str) -> str | None:
    """What is wrong with a normalised unified social credit code (统一社会信用代码, GB 32100), or None."""
    try:
        uscc.validate(code)
    except ValidationError as e:
        if len(code) != 18:
            return "must be 18 characters"
        if isinstance(e, InvalidChecksum):
            return "fails its check digit (GB 32100): a character is mistyped"
        return "must be 8 digits then 10 digits or capital letters other than I, O, S, V and Z"
    return None


def checked_resident_id(bad: dict[str, str], value: Any, path: str, *, required: bool = False) -> str:
    """The normalised ID number at `path` ("" when absent); a problem with it is noted in `bad`."""
    number = identifier(value)
    problem = resident_id_problem(number) if number else "is required" if required else None
    if problem:
        bad[path] = problem
    return number


def checked_credit_code(bad: dict[str, str], value: Any, path: str) -> str:
    """The normalised credit code at `path` ("" when absent, as it is optional); a problem is noted in `bad`."""
    code = identifier(value)
    problem = credit_code_problem(code) if code else None
    if problem:
        bad[path] = problem
    return code
