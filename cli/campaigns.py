"""Offer campaigns (百分百要约行动) at the command line: store one from a CSV file, open its negotiations on the worker
or here, follow it, resume it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import bootstrap
from cli.common import (
    console,
    operator_errors,
    operator_problem,
    progress_bar,
    ready,
    require_prefect_server,
    rich_table,
)

if TYPE_CHECKING:
    from engine.campaigns import Campaign
    from engine.service import Casework

HERE_HELP = (
    "Open the negotiations in this process through the engine, with a progress bar, and wait until every "
    "enterprise is done: no Prefect server or worker, nothing to start. Without it the campaign runs on the "
    "worker (casework run or casework worker, PREFECT_API_URL), which retries a failed batch and shows the "
    "run in the Prefect UI, and this command returns at once."
)


@click.group(help="Offer campaigns (百分百要约行动): one written offer to many enterprises.")
def campaign() -> None:
    pass


@campaign.command(
    "start",
    help="Store a campaign from a CSV file (columns name, credit_code, employees, or "
    "企业名称, 统一社会信用代码, 职工人数; UTF-8 or GB18030/GBK, as Excel and WPS save it) and open "
    "its negotiations: on the worker, or with --here in this process. Every problem of the file is "
    "named by its line, all at once, and nothing is stored until there are none.",
)
@click.option("--csv", "csv_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--document-number", required=True, help="The written offer's document number (文号).")
@click.option("--issuing-union", required=True, help="The union issuing the offer.")
@click.option("--org", "org_unit", required=True, help="The org unit the negotiations belong to.")
@click.option("--wage-increase-pct", default=None, help="Proposed wage increase, percent.")
@click.option("--minimum-wage", default=None, help="Proposed minimum wage, CNY.")
@click.option("--assignee", default=None, help="Negotiator to assign every case to.")
@click.option("--by", "user_id", default="operator", show_default=True, help="Who issues the offer (recorded).")
@click.option("--role", default="negotiator", show_default=True, type=click.Choice(["negotiator", "supervisor"]))
@click.option(
    "--encoding",
    type=click.Choice(["utf-8", "gb18030"], case_sensitive=False),
    default=None,
    help="The file's encoding [default: UTF-8 (with or without BOM), else GB18030/GBK if it reads as such].",
)
@click.option("--here", is_flag=True, help=HERE_HELP)
@click.pass_context
def campaign_start(
    ctx: click.Context,
    csv_file: Path,
    document_number: str,
    issuing_union: str,
    org_unit: str,
    wage_increase_pct: str | None,
    minimum_wage: str | None,
    assignee: str | None,
    user_id: str,
    role: str,
    encoding: str | None,
    here: bool,
) -> None:
    from engine import campaigns
    from engine.service import Actor

    cw = ready(ctx)
    terms = {k: v for k, v in (("wage_increase_pct", wage_increase_pct), ("minimum_wage", minimum_wage)) if v}
    enterprises = read_campaign_file(csv_file, encoding and encoding.lower())
    with operator_errors():
        created = campaigns.create_campaign(
            cw,
            Actor(user_id, role),
            document_number=document_number,
            issuing_union=issuing_union,
            org_unit=org_unit,
            enterprises=enterprises,
            terms=terms,
            assignee=assignee,
        )
    console.print(f"campaign {created.campaign_id}: {created.total} enterprises under {created.document_number}")
    open_negotiations(cw, str(created.campaign_id), here)


def read_campaign_file(path: Path, encoding: str | None) -> list[dict[str, Any]]:
    """The enterprises of a campaign file; every problem in it reported at once, by the file's own lines."""
    from engine import campaigns

    try:
        return campaigns.read_csv(campaigns.decode_csv(path.read_bytes(), encoding))
    except OSError as e:
        raise click.ClickException(f"{path}: cannot be read ({e.strerror})") from None
    except campaigns.CampaignError as e:
        problems = [p.removeprefix("csv: ") for p in e.problems()]
        if len(problems) == 1:
            raise click.ClickException(f"{path}: {problems[0]}") from None
        raise click.ClickException(
            f"{path}: {len(problems)} problems, nothing stored:\n" + "\n".join(f"  {p}" for p in problems)
        ) from None


@campaign.command("resume", help="Open the negotiations a campaign has not opened yet (after a crash or a stop).")
@click.argument("campaign_id")
@click.option("--here", is_flag=True, help=HERE_HELP)
@click.pass_context
def campaign_resume(ctx: click.Context, campaign_id: str, here: bool) -> None:
    from engine import campaigns

    cw = ready(ctx)
    with operator_errors():
        campaigns.get_campaign(cw, campaign_id)
    open_negotiations(cw, campaign_id, here)


def open_negotiations(cw: Casework, campaign_id: str, here: bool) -> None:
    """Open a stored campaign's pending negotiations: here, or in a run started on the worker."""
    from engine import campaigns
    from engine.scheduler import SchedulerUnavailable, start_campaign

    if here:
        run_here(cw, campaign_id)
        return
    require_prefect_server()
    found = campaigns.get_campaign(cw, campaign_id)
    try:
        run_id = start_campaign(cw, bootstrap.scheduler(), found.campaign_id)
    except SchedulerUnavailable as e:
        line = operator_problem(e.__cause__) if e.__cause__ else None
        raise click.ClickException(
            line or f"campaign {campaign_id} is stored but {e}; casework campaign resume {campaign_id} to try again"
        ) from e
    console.print(f"started flow run {run_id}; follow it with: casework campaign status {campaign_id}")


def run_here(cw: Casework, campaign_id: str) -> None:
    """Open the campaign's pending negotiations in this process through the engine alone: no Prefect server to
    start, no flow run, the same transactions and command ids as the worker's run (so either resumes the other)."""
    from engine import campaigns

    with operator_errors():
        found = campaigns.get_campaign(cw, campaign_id)
        try:
            with progress_bar() as progress:
                task = progress.add_task(f"{found.document_number}: opening negotiations", total=found.total)
                found, totals = campaigns.run_campaign(
                    cw, found.campaign_id, progress=lambda done, total: progress.update(task, completed=done)
                )
        except KeyboardInterrupt:
            raise click.ClickException(
                f"stopped; what is opened stays opened: casework campaign resume "
                f"{found.campaign_id} --here opens the rest"
            ) from None
    console.print(
        f"this run opened {totals['opened']} (found {totals['already_open']} already open, {totals['failed']} refused)"
    )
    print_counts(cw, found)


def print_counts(cw: Casework, found: Campaign, run: str = "") -> None:
    """A campaign's counts on one line (with its flow run, when given), then the enterprises not opened and why."""
    from engine import campaigns

    c = found.to_dict()["counts"]
    console.print(
        f"{found.document_number}: {c['opened']} of {c['total']} opened, {c['failed']} failed, "
        f"{c['pending']} pending{'; ' + run if run else ''}"
    )
    for failure in campaigns.failures(cw, found.campaign_id)[:50]:
        console.print(f"  #{failure['seq']} {failure['enterprise']}: {failure['error']}")


@campaign.command("status", help="A campaign's counts and its flow run's state.")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def campaign_status(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    from engine import campaigns

    cw = ready(ctx)
    with operator_errors():
        found = campaigns.get_campaign(cw, campaign_id)
    data = found.to_dict()
    data["run"] = (
        bootstrap.scheduler().run_state(found.flow_run_id)
        if found.flow_run_id and os.environ.get("PREFECT_API_URL")
        else None
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    print_counts(cw, found, f"run {found.flow_run_id or '-'} {(data['run'] or {}).get('state', '')}")


@campaign.command("list", help="Campaigns, newest first.")
@click.option("--org", "org_unit", default=None, help="Only this unit and below.")
@click.pass_context
def campaign_list(ctx: click.Context, org_unit: str | None) -> None:
    from engine import campaigns

    cw = ready(ctx)
    table = rich_table("campaign", "document", "org unit", "opened", "failed", "total", "finished")
    for c in campaigns.list_campaigns(cw, org_unit):
        table.add_row(
            str(c.campaign_id),
            c.document_number,
            c.org_unit,
            str(c.opened),
            str(c.failed),
            str(c.total),
            c.finished_at.strftime("%Y-%m-%d %H:%M") if c.finished_at else "",
        )
    console.print(table)


COMMANDS = (campaign,)
