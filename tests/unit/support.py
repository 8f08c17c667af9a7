"""Helpers for aggregate unit tests: a business clock you move by hand and a context factory."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aggregates.base import DEFAULT_TZ, Context
from aggregates.policy import DEFAULT_POLICY, DeadlinePolicy

_ids = itertools.count(1)


@dataclass
class Desk:
    """A fake front desk: who acts, and what the business time is (09:00 Shanghai by default)."""

    now: datetime = field(default_factory=lambda: datetime(2026, 3, 2, 9, 0, tzinfo=DEFAULT_TZ))
    policy: DeadlinePolicy = DEFAULT_POLICY

    def ctx(
        self,
        role: str = "supervisor",
        actor: str | None = None,
        reason: str | None = None,
        occurred_at: datetime | None = None,
    ) -> Context:
        return Context(
            actor_id=actor or f"{role}-1",
            actor_role=role,
            command_id=f"cmd-{next(_ids)}",
            recorded_at=self.now,
            occurred_at=occurred_at,
            reason=reason,
            policy=self.policy,
        )

    def advance(self, days: int = 0, hours: int = 0) -> None:
        self.now += timedelta(days=days, hours=hours)


def live_state(case) -> dict:
    """The state of a case, without the events it has yet to save: what replaying those events must give back."""
    return {k: v for k, v in case.__dict__.items() if k != "_pending_events"}


def replay(case):
    """Rebuild an aggregate from its own pending events, as the repository would."""
    events = list(case.pending_events)
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    return rebuilt
