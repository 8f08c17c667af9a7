"""The product's deployments, their schedules, and the scheduler other processes start runs with.

| deployment                     | schedule setting               | default          |
|--------------------------------|--------------------------------|------------------|
| escalation-sweep/casework      | CASEWORK_SCHEDULE_ESCALATION   | */15 * * * *     |
| legal-clock-sweep/casework     | CASEWORK_SCHEDULE_LEGAL_CLOCKS | 5 * * * *        |
| verify-event-store/casework    | CASEWORK_SCHEDULE_VERIFY       | 30 2 * * *       |
| statistics-report/casework     | CASEWORK_SCHEDULE_STATISTICS   | 0 6 1 * *        |
| rebuild-read-models/casework   | CASEWORK_SCHEDULE_REBUILD      | off              |
| offer-campaign/casework        | (started by the API or CLI)    | never scheduled  |
| deliver-notifications/casework | CASEWORK_SCHEDULE_NOTIFICATIONS| * * * * *        |
| notification-digest/casework   | CASEWORK_SCHEDULE_DIGEST       | 0 8 * * *        |
| checkpoint-event-store/casework| CASEWORK_SCHEDULE_CHECKPOINT   | 45 2 * * *       |

A schedule is a cron expression in the federation's time zone (CASEWORK_TIMEZONE), an interval
such as `30s`, `10m` or `2h`, or `off`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from engine.config import ConfigurationError, Settings
from engine.scheduler import RunState, SchedulerUnavailable

DEPLOYMENT = "casework"
INTERVAL = re.compile(r"^(\d+)\s*([smh]?)$")


@dataclass(frozen=True)
class Scheduled:
    flow_name: str
    setting: str | None
    default: str

    @property
    def deployment(self) -> str:
        return f"{self.flow_name}/{DEPLOYMENT}"


SCHEDULES = (
    Scheduled("escalation-sweep", "CASEWORK_SCHEDULE_ESCALATION", "*/15 * * * *"),
    Scheduled("legal-clock-sweep", "CASEWORK_SCHEDULE_LEGAL_CLOCKS", "5 * * * *"),
    Scheduled("verify-event-store", "CASEWORK_SCHEDULE_VERIFY", "30 2 * * *"),
    Scheduled("statistics-report", "CASEWORK_SCHEDULE_STATISTICS", "0 6 1 * *"),
    Scheduled("rebuild-read-models", "CASEWORK_SCHEDULE_REBUILD", "off"),
    Scheduled("offer-campaign", None, "off"),
    Scheduled("deliver-notifications", "CASEWORK_SCHEDULE_NOTIFICATIONS", "* * * * *"),
    Scheduled("notification-digest", "CASEWORK_SCHEDULE_DIGEST", "0 8 * * *"),
    Scheduled("checkpoint-event-store", "CASEWORK_SCHEDULE_CHECKPOINT", "45 2 * * *"),
)
CAMPAIGN_DEPLOYMENT = "offer-campaign/" + DEPLOYMENT


def schedule_for(item: Scheduled, timezone: str, env: Mapping[str, str] | None = None) -> Any:
    """The Prefect schedule a setting names, or None for `off`; a malformed one names the setting."""
    from prefect.schedules import Cron, Interval

    env = os.environ if env is None else env
    value = (env.get(item.setting) if item.setting else None) or item.default
    value = value.strip()
    if value.lower() == "off":
        return None
    match = INTERVAL.match(value)
    if match:
        seconds = int(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600}[match[2]]
        if seconds < 5:
            raise ConfigurationError(f"{item.setting}: an interval must be at least 5 seconds, got {value!r}")
        return Interval(timedelta(seconds=seconds), timezone=timezone)
    if len(value.split()) not in (5, 6):
        raise ConfigurationError(
            f"{item.setting}: expected a cron expression, an interval like 10m, or off; got {value!r}"
        )
    try:
        return Cron(value, timezone=timezone)
    except ValueError as e:
        raise ConfigurationError(f"{item.setting}: {value!r} is not a valid cron expression: {e}") from e


def flows() -> dict[str, Any]:
    from workflows.campaigns import offer_campaign
    from workflows.maintenance import (
        checkpoint_event_store,
        rebuild_read_models,
        statistics_report,
        verify_event_store,
    )
    from workflows.notifications import deliver_notifications, notification_digest
    from workflows.sweeps import escalation_sweep, legal_clock_sweep

    return {
        f.name: f
        for f in (
            escalation_sweep,
            legal_clock_sweep,
            verify_event_store,
            statistics_report,
            rebuild_read_models,
            offer_campaign,
            deliver_notifications,
            notification_digest,
            checkpoint_event_store,
        )
    }


def deployments(settings: Settings, env: Mapping[str, str] | None = None) -> list[Any]:
    """Every deployment with its schedule (validated before anything is registered)."""
    from prefect.deployments.runner import EntrypointType

    by_name = flows()
    built = []
    for item in SCHEDULES:
        schedule = schedule_for(item, settings.timezone, env)
        built.append(
            by_name[item.flow_name].to_deployment(
                name=DEPLOYMENT,
                schedules=[schedule] if schedule else [],
                tags=["casework"],
                description=by_name[item.flow_name].description,
                entrypoint_type=EntrypointType.MODULE_PATH,  # importable wherever the package is installed
            )
        )
    return built


def serve_all(settings: Settings, limit: int | None = None) -> None:
    """Register every deployment and run their flow runs here until stopped (the worker)."""
    from prefect import serve

    serve(*deployments(settings), limit=limit, print_starting_message=False)


class PrefectScheduler:
    """The engine's `Scheduler` on Prefect: a campaign run is a run of the offer-campaign deployment, on the
    server PREFECT_API_URL names, picked up by a worker."""

    def start_campaign_run(self, campaign_id: UUID) -> str:
        """Start the campaign as a run of its deployment, without waiting; the flow run id."""
        if not os.environ.get("PREFECT_API_URL"):
            raise SchedulerUnavailable("no Prefect server is configured (PREFECT_API_URL)")
        from prefect.deployments import run_deployment

        try:
            run = run_deployment(
                CAMPAIGN_DEPLOYMENT,
                parameters={"campaign_id": str(campaign_id)},
                timeout=0,
                as_subflow=False,
                tags=["casework", "campaign"],
            )
        except Exception as e:
            raise SchedulerUnavailable(f"could not be started ({type(e).__name__}: {str(e)[:200]})") from e
        # Prefect's async_dispatch types the result as a FlowRun or a coroutine; called from sync code, a FlowRun.
        return str(run.id)  # type: ignore[union-attr]

    def run_state(self, run_id: str) -> RunState:
        """A flow run's state as the Prefect server knows it ({"state": "unknown", ...} when unreachable)."""
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                run = client.read_flow_run(UUID(run_id))
        except Exception as e:
            return {"state": "unknown", "message": f"Prefect server not reachable: {type(e).__name__}"}
        state = run.state
        return {
            "state": state.type.value.lower() if state else "unknown",
            "state_name": state.name if state else None,
            "message": state.message if state else None,
        }
