"""The business clock: the engine's only source of "now", so tests and simulations can set the date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class BusinessClock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time, timezone-aware (UTC)."""

    def now(self) -> datetime:
        return datetime.now(tz=UTC)


class FixedClock:
    """A clock that stands still until moved; for tests, demos and what-if simulations."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = moment

    def advance(self, days: float = 0, hours: float = 0, seconds: float = 0) -> None:
        self._now += timedelta(days=days, hours=hours, seconds=seconds)
