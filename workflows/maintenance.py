"""Maintenance flows: read-model rebuild, whole-store chain verification, statistics reports."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from engine.audit import verify_store
from engine.rebuild import rebuild
from engine.reports import as_json, plain, rows, statistics
from engine.sweeps import business_date
from workflows.runtime import casework


class ChainBroken(RuntimeError):
    """The event store's hash chain does not verify: someone or something altered recorded events."""


@flow(name="rebuild-read-models", description="Rebuild the case index, open clocks and statistics from the event log.")
def rebuild_read_models() -> dict[str, Any]:
    report = rebuild(casework())
    get_run_logger().info("rebuilt from %d events of %d cases", report.events, report.cases)
    create_markdown_artifact(
        key="rebuild",
        markdown=f"# Read models rebuilt\n\n{report.events} events, "
        f"{report.cases} cases, up to notification {report.last_notification_id}.",
    )
    return {"events": report.events, "cases": report.cases, "last_notification_id": report.last_notification_id}


@flow(name="verify-event-store", description="Verify every case's hash chain; a broken chain fails the run.")
def verify_event_store() -> dict[str, Any]:
    result = verify_store(casework())
    logger = get_run_logger()
    if not result.ok:
        create_markdown_artifact(
            key="chain-verification",
            markdown=f"# CHAIN BROKEN\n\n{result.first_break}\n\n{result.events} events checked.",
        )
        logger.error("hash chain broken: %s", result.first_break)
        raise ChainBroken(f"hash chain broken: {result.first_break}")
    create_markdown_artifact(
        key="chain-verification", markdown=f"# Chain verified\n\n{result.events} events of {result.cases} cases verify."
    )
    logger.info("%d events of %d cases verify", result.events, result.cases)
    return {"ok": True, "events": result.events, "cases": result.cases}


def previous_period(today: date, period: str) -> tuple[date, date]:
    """The last complete month or year before `today`."""
    if period == "month":
        end = today.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    if period == "year":
        return date(today.year - 1, 1, 1), date(today.year - 1, 12, 31)
    raise ValueError(f"period must be 'month' or 'year', not {period!r}")


@flow(
    name="statistics-report",
    description="The federation's statistics for the last complete month or year, as a table artifact.",
)
def statistics_report(
    period: str = "month", org_unit: str | None = None, start: date | None = None, end: date | None = None
) -> dict[str, Any]:
    cw = casework()
    if start is None or end is None:
        start, end = previous_period(business_date(cw), period)
    rep = statistics(cw, org_unit=org_unit, start=start, end=end)
    table = [
        {"section": section, "metric": metric, "label": f"{zh} {en}", "total": plain(total)}
        for section, metric, zh, en, total, _ in rows(rep, [])
    ]
    scope = org_unit or "all units"
    create_table_artifact(
        key=f"statistics-{period}", table=table, description=f"Statistics for {scope}, {start} to {end}"
    )
    return as_json(rep)
