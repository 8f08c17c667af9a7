"""Commands that read cases and act on them: one case, its history, the statistics, and a sweep run here."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

import click

from aggregates.errors import DomainError
from cli.common import console, json_default, operator_errors, ready, rich_table

if TYPE_CHECKING:
    from engine.service import Casework


@click.command(help="The statistics table for an org unit and everything below it, over a period.")
@click.option("--org", "org_unit", default=None, help="Org unit path, e.g. suzhou.gusu (default: all).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (YYYY-MM-DD).")
@click.option(
    "--by-org",
    "depth",
    type=click.IntRange(1, 10),
    default=None,
    help="Also break down by org unit, cut at this depth of the path.",
)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.pass_context
def report(
    ctx: click.Context, org_unit: str | None, start: datetime | None, end: datetime | None, depth: int | None, fmt: str
) -> None:
    from engine.accounts import get_org
    from engine.reports import RATES, as_json, report_csv, rows, statistics

    cw = ready(ctx)
    if start and end and start > end:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    if org_unit is not None and get_org(cw, org_unit) is None:
        raise click.BadParameter(f"no org unit {org_unit!r} (see: casework orgs list)", param_hint="--org")
    rep = statistics(
        cw,
        org_unit=org_unit,
        start=start.date() if start else None,
        end=end.date() if end else None,
        by_org_depth=depth,
    )
    if fmt == "json":
        click.echo(json.dumps(as_json(rep), ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        sys.stdout.flush()
        sys.stdout.buffer.write(report_csv(rep))
        sys.stdout.buffer.flush()
        return
    columns = sorted(rep.by_org)
    title = f"Casework statistics — {org_unit or 'all org units'}"
    if rep.start or rep.end:
        title += f", {rep.start or '…'} to {rep.end or '…'}"
    table = rich_table(title=title)
    table.add_column("figure")
    table.add_column("指标")
    table.add_column("total", justify="right")
    for c in columns:
        table.add_column(c, justify="right")
    current = None
    for section, _metric, zh, en, total, per in rows(rep, columns):
        if section != current:
            table.add_section()
            current = section
        table.add_row(en, zh, figure(total), *map(figure, per))
    table.add_section()
    for _, zh, en, n, d in RATES:
        r = rep.rate(n, d)
        table.add_row(en, zh, "—" if r is None else f"{r}%")
    console.print(table)


def figure(value: Decimal) -> str:
    """A statistics figure as the table shows it: whole numbers without decimals, thousands separated."""
    return f"{value:,.2f}" if value != value.to_integral_value() else f"{int(value):,}"


@click.command(help="Show one case: stage, clocks, links and the actions open to a role.")
@click.argument("case")
@click.option("--role", default="supervisor", show_default=True, help="Whose allowed actions to list.")
@click.option("--version", "version", type=int, default=None, help="Show the case as of this version.")
@click.option(
    "--at",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]),
    default=None,
    help="Show the case as it stood on record at this time (ISO-8601 with offset).",
)
@click.pass_context
def show(ctx: click.Context, case: str, role: str, version: int | None, at: datetime | None) -> None:
    from engine.audit import as_of
    from engine.views import case_view

    cw = ready(ctx)
    try:
        found = as_of(cw, case, version=version, at=at)
    except (DomainError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    today = cw.clock.now().astimezone(cw.settings.tz).date()
    click.echo(
        json.dumps(
            case_view(found, role, today, policy=cw.settings.policy, latest_notes=None), ensure_ascii=False, indent=2
        )
    )


@click.command(help="A case's full history: every event with who, when, why and its hash.")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def history(ctx: click.Context, case: str, as_json: bool) -> None:
    from dataclasses import asdict

    from engine.audit import history as case_history

    cw = ready(ctx)
    with operator_errors():
        entries = case_history(cw, case)
    if as_json:
        click.echo(json.dumps([asdict(e) for e in entries], default=json_default, ensure_ascii=False, indent=2))
        return
    table = rich_table(title=f"history of {case}")
    for col in ("v", "event", "business time", "actor", "role", "stage", "reason", "hash"):
        table.add_column(col)
    for e in entries:
        table.add_row(
            str(e.version),
            e.event,
            e.occurred_at.isoformat(timespec="minutes"),
            e.actor_id,
            e.actor_role,
            e.stage,
            e.reason or "",
            e.hash[:12],
        )
    console.print(table)


@click.command(
    help="Run a sweep now, in this process, without Prefect: 'escalation' (the negotiation ladder) or "
    "'legal' (every other legal clock). Exits 1 if it met a case whose hash chain is broken (it still "
    "acts on every other case)."
)
@click.argument("which", type=click.Choice(["escalation", "legal"]))
@click.option("--dry-run", is_flag=True, help="Only list what is due.")
@click.pass_context
def sweep(ctx: click.Context, which: str, dry_run: bool) -> None:
    from engine.service import SYSTEM
    from engine.sweeps import business_date, list_due, run_sweep

    cw = ready(ctx)
    if dry_run:
        dues = list_due(cw, which)
        numbers = case_numbers(cw, [d.case_id for d in dues])
        table = rich_table(
            "case", "kind", "trigger", "due on", title=f"{which}: {len(dues)} due on {business_date(cw)}"
        )
        for d in dues:
            table.add_row(numbers.get(d.case_id, str(d.case_id)), d.kind, d.trigger.key(), str(d.due_on or ""))
        console.print(table)
        return
    report = run_sweep(cw, which, SYSTEM)
    numbers = case_numbers(cw, [o.due.case_id for o in report.outcomes if not o.number])
    table = rich_table("case", "trigger", "outcome", "action", "detail", title=f"{which} sweep of {report.today}")
    for o in report.outcomes:
        table.add_row(
            o.number or numbers.get(o.due.case_id, str(o.due.case_id)),
            o.due.trigger.key(),
            o.status,
            o.action or "",
            o.detail,
        )
    console.print(table)
    console.print(f"{report.found} due: {report.counts or 'nothing to do'}")
    for o in report.broken:
        console.print(
            f"[red bold]BROKEN[/] {o.detail}; tell the supervisors of its unit: {', '.join(o.notify) or 'none found'}"
        )
    if report.broken:
        raise SystemExit(1)


def case_numbers(cw: Casework, case_ids: list[UUID], chunk: int = 500) -> dict[UUID, str]:
    """The numbers the case index knows these cases by: the command line names cases by number."""
    from sqlalchemy import select

    from engine.tables import case_index

    numbers: dict[UUID, str] = {}
    with cw.read_transaction() as session:
        for start in range(0, len(case_ids), chunk):
            rows = session.execute(
                select(case_index.c.case_id, case_index.c.number).where(
                    case_index.c.case_id.in_(case_ids[start : start + chunk])
                )
            )
            numbers.update({case_id: number for case_id, number in rows})
    return numbers


COMMANDS = (report, show, history, sweep)
