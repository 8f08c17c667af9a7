"""What the engine's callers need of a scheduler, and nothing of which one it is.

The HTTP API and the command line start offer-campaign runs and report their state; the runs
themselves execute elsewhere (Prefect's worker, in production). They are handed a `Scheduler`
by whoever puts the program together (bootstrap.py gives the Prefect one, workflows/deployments.py);
a test may hand in another. `NoScheduler` is what an app given none has: every start is refused,
so a campaign stays stored and can be started later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NotRequired, Protocol, TypedDict
from uuid import UUID

if TYPE_CHECKING:
    from engine.service import Casework


class SchedulerUnavailable(Exception):
    """The scheduler cannot start a run now (not configured, not reachable); the message says which, and why.
    Nothing was started: whatever asked for the run is still stored and can ask again."""


class RunState(TypedDict):
    """A run as the scheduler knows it."""

    state: str
    """scheduled, pending, running, completed, failed, crashed, cancelled, or unknown"""
    state_name: NotRequired[str | None]
    message: str | None


class Scheduler(Protocol):
    """Starts the runs that happen outside a request or a command, and says how they stand."""

    def start_campaign_run(self, campaign_id: UUID) -> str:
        """Start a run that opens the campaign's pending negotiations, without waiting for it; the run's id.
        Raises SchedulerUnavailable when no run could be started."""
        ...

    def run_state(self, run_id: str) -> RunState:
        """The state of a run this scheduler started (state `unknown` when it cannot tell)."""
        ...


class NoScheduler:
    """No scheduler at all: nothing is started, and the refusal says so."""

    REASON = "no scheduler is configured"

    def start_campaign_run(self, campaign_id: UUID) -> str:
        raise SchedulerUnavailable(self.REASON)

    def run_state(self, run_id: str) -> RunState:
        return {"state": "unknown", "message": self.REASON}


def start_campaign(cw: Casework, scheduler: Scheduler, campaign_id: UUID) -> str:
    """Start a run of a stored campaign and record it on the campaign, so that the campaign's view names its run
    from now on (the run records itself too, once it starts); the run's id."""
    from engine.campaigns import set_flow_run

    run_id = scheduler.start_campaign_run(campaign_id)
    set_flow_run(cw, campaign_id, run_id)
    return run_id
