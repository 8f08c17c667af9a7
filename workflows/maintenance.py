"""Maintenance flows: read-model rebuild, whole-store chain verification, statistics reports (a table artifact and
the XLSX table written into the data directory)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from engine.accounts import list_orgs
from engine.audit import verify_store
from engine.checkpoints import make_checkpoint
from engine.read_model_check import check_read_models
from engine.rebuild import rebuild
from engine.reports import (
    StatisticsExport,
    as_json,
    plain,
    rows,
    send_statistics_export,
    statistics,
    statistics_export_notice,
    write_statistics_export,
)
from engine.service import Casework
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


class ReadModelsDiffer(RuntimeError):
    """The read models do not say what the events say: someone or something edited the derived tables."""


@flow(
    name="verify-event-store",
    description="Verify every case's hash chain, then that the read models say what the events say; a broken chain "
    "or a read-model row the events do not give fails the run.",
)
def verify_event_store() -> dict[str, Any]:
    cw = casework()
    result = verify_store(cw)
    logger = get_run_logger()
    if not result.ok:
        create_markdown_artifact(
            key="chain-verification",
            markdown=f"# CHAIN BROKEN\n\n{result.first_break}\n\n{result.events} events checked.",
        )
        logger.error("hash chain broken: %s", result.first_break)
        raise ChainBroken(f"hash chain broken: {result.first_break}")
    checked = check_read_models(cw)
    verified = f"{result.events} events of {result.cases} cases verify"
    if not checked.ok:
        listed = "\n".join(f"- {d}" for d in checked.differences)
        create_markdown_artifact(
            key="chain-verification",
            markdown=f"# READ MODELS DIFFER FROM THE EVENTS\n\n{verified}, but {checked.count} read-model row(s) "
            f"of {checked.rows} are not what the events give:\n\n{listed}\n\n`casework rebuild` rewrites them.",
        )
        logger.error(
            "%d read-model row(s) differ from the events; the first: %s", checked.count, checked.differences[0]
        )
        raise ReadModelsDiffer(f"{checked.count} read-model row(s) differ from the events: {checked.differences[0]}")
    create_markdown_artifact(
        key="chain-verification",
        markdown=f"# Chain verified\n\n{verified}; their {checked.rows} read-model rows are what the events give.",
    )
    logger.info("%s; %d read-model rows match them", verified, checked.rows)
    return {"ok": True, "events": result.events, "cases": result.cases, "read_model_rows": checked.rows}


@flow(
    name="checkpoint-event-store",
    description="Sign the whole event store as it now is (a checkpoint over the events since the last one); the "
    "export goes to CASEWORK_CHECKPOINT_WEBHOOK when it is set.",
)
def checkpoint_event_store() -> dict[str, Any]:
    made = make_checkpoint(casework())
    c = made.checkpoint
    sent = {None: "no webhook is set", True: "sent to the webhook", False: "the webhook did not take it (see the log)"}
    create_markdown_artifact(
        key="checkpoint",
        markdown=f"# Checkpoint {c.id}\n\n{c.tree_size} events ({made.added} new since the last checkpoint).\n\n"
        f"- root: `{c.root_hash}`\n- created: {c.created_at}\n- key: `{c.key_id}`\n- export: {sent[made.sent]}\n\n"
        f"Keep its export outside the database: `casework checkpoint export {c.id}`.",
    )
    get_run_logger().info("checkpoint %d: %d events (%d new), root %s", c.id, c.tree_size, made.added, c.root_hash)
    return {"id": c.id, "tree_size": c.tree_size, "added": made.added, "root_hash": c.root_hash, "sent": made.sent}


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
    description="The federation's statistics for the last complete month or year, as a table artifact and as the "
    "unions' XLSX table in the data directory (exports/<unit>/<period>.xlsx).",
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
    exports = [write_statistics_export(cw, unit, start, end) for unit in export_units(cw, org_unit)]
    told = sum(send_statistics_export(cw, export) for export in exports)
    create_markdown_artifact(
        key=f"statistics-export-{period}",
        markdown=export_markdown(cw, exports),
        description=f"Statistics tables (XLSX) for {scope}, {start} to {end}",
    )
    get_run_logger().info(
        "statistics tables written: %s; %d supervisor(s) told", ", ".join(e.relative for e in exports), told
    )
    return {**as_json(rep), "exports": [e.relative for e in exports], "told": told}


def export_units(cw: Casework, org_unit: str | None) -> list[str | None]:
    """The units whose table a run writes: the one asked for, else each unit at the top of the org tree (its rows
    the units directly below it), else, with no tree at all, one table of every unit."""
    if org_unit:
        return [org_unit]
    tops: list[str | None] = [o.path for o in list_orgs(cw) if "." not in o.path]
    return tops or [None]


def export_markdown(cw: Casework, exports: list[StatisticsExport]) -> str:
    """The run's artifact: each table's file, under the data directory and as a link, and whom it is for. Sending
    it to them is `engine.reports.send_statistics_export`, through the notifications."""
    lines = ["# Statistics tables (XLSX)", ""]
    for export in exports:
        notice = statistics_export_notice(cw, export)
        lines += [
            f"## {notice.subject}",
            "",
            f"- file: [{export.relative}]({export.path.as_uri()}) in the data directory (`{export.path}`)",
            f"- for the supervisors: {', '.join(notice.recipients) or 'none found'}",
            "",
        ]
    return "\n".join(lines)
