"""The `casework` program: the engine's commands plus the running service (run, worker), sweeps and
offer campaigns. engine/cli.py holds the engine's own commands and knows nothing of Prefect."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from engine.cli import SettingOption, Table, _domain_errors, _engine, _progress, _ready, console, main
from engine.config import Settings


def _prefect_server_required() -> None:
    if not os.environ.get("PREFECT_API_URL"):
        raise click.ClickException(
            "PREFECT_API_URL is not set: point it at your Prefect server (e.g. http://127.0.0.1:4200/api), "
            "or use 'casework run', which starts one"
        )


@main.command(help="Serve every Prefect deployment of Casework with its schedule, running their flows here "
              "(the scheduler's worker). Needs PREFECT_API_URL. Schedules: see README 'Workflows'.")
@click.option("--limit", type=click.IntRange(1, 64), default=None, envvar="CASEWORK_WORKER_LIMIT",
              help="At most this many flow runs at once [default: no limit].", cls=SettingOption)
@click.pass_context
def worker(ctx: click.Context, limit: int | None) -> None:
    from workflows.deployments import serve_all

    schedules = _schedules(Settings.from_env())
    _prefect_server_required()
    cw = _ready(ctx)
    for item, schedule in schedules:
        console.print(f"  {item.deployment:<32} {_describe(schedule)}")
    console.print(f"worker serving on {os.environ['PREFECT_API_URL']}")
    serve_all(cw.settings, limit=limit)


def _schedules(settings: Settings) -> list[tuple[Any, Any]]:
    """Every deployment with its schedule, read from its setting: a malformed one stops the command before it
    starts anything (a worker started by `casework run` would die on it after the server had started)."""
    from workflows.deployments import SCHEDULES, schedule_for

    return [(item, schedule_for(item, settings.timezone)) for item in SCHEDULES]


def _describe(schedule: object) -> str:
    if schedule is None:
        return "on demand"
    cron = getattr(schedule, "cron", None)
    return f"cron {cron}" if cron else f"every {getattr(schedule, 'interval', '?')}"


@main.command(help="Start the whole service on this machine: a local Prefect server (its database in the data "
              "directory), the worker and the API; prints their addresses; Ctrl-C stops all three.")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="CASEWORK_API_HOST",
              help="Address the API and the Prefect server listen on.", cls=SettingOption)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), envvar="CASEWORK_API_PORT",
              help="API port.", cls=SettingOption)
@click.option("--prefect-port", default=4200, show_default=True, type=click.IntRange(1, 65535),
              envvar="CASEWORK_PREFECT_PORT", help="Prefect server (API and UI) port.", cls=SettingOption)
@click.option("--workers", default=None, type=click.IntRange(1, 64), envvar="CASEWORK_API_WORKERS",
              help="API worker processes [default: 2 per CPU, at most 8].", cls=SettingOption)
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Load the demo data set into an empty database first.")
@click.pass_context
def run(ctx: click.Context, host: str, port: int, prefect_port: int, workers: int | None, demo: bool) -> None:
    from engine.demo import demo_tokens, load_demo
    from engine.migrate import upgrade_store
    from workflows.supervisor import (
        Child,
        Supervisor,
        casework_command,
        prefect_command,
        prefect_environment,
        wait_until_healthy,
    )

    settings = Settings.from_env()
    _schedules(settings)
    cw = _engine(ctx)
    with _domain_errors():
        upgrade_store(cw)
    if demo and not (cw.store.recorder.max_notification_id() or 0):
        with _progress() as progress:
            task = progress.add_task("loading the demo data set", total=None)
            load_demo(settings, progress=lambda done, total: progress.update(task, completed=done, total=total))
    cw.close()
    logs = settings.data_dir / "logs"
    env = prefect_environment(settings, host, prefect_port)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor()
    api_args = ["api", "--host", host, "--port", str(port), "--no-show-demo-tokens"]
    if workers:
        api_args += ["--workers", str(workers)]
    try:
        server = supervisor.start(Child("prefect server", prefect_command("server", "start", "--host", host, "--port",
                                                                          str(prefect_port), "--analytics-off"),
                                        logs / "prefect-server.log"), env)
        with console.status("starting the Prefect server"):
            wait_until_healthy(f"http://{host}:{prefect_port}/api/health", server, timeout=180)
        supervisor.start(Child("worker", casework_command("worker"), logs / "worker.log"), env)
        api = supervisor.start(Child("api", casework_command(*api_args), logs / "api.log"), env)
        with console.status("starting the API"):
            wait_until_healthy(f"http://{host}:{port}/health", api, timeout=120)
    except (RuntimeError, KeyboardInterrupt) as e:
        supervisor.stop_all()
        raise click.ClickException(str(e) or "interrupted") from e
    base = f"http://{host}:{port}"
    console.print(f"[bold green]Casework is running[/] on {settings.database_url.split(':')[0]}")
    # plain echo: addresses must stay on one line each when the output is piped (rich wraps at 80 columns)
    click.echo(f"  API               {base}")
    click.echo(f"  OpenAPI docs      {base}/docs/  ({base}/openapi.json)")
    click.echo(f"  Prefect UI        http://{host}:{prefect_port}")
    click.echo(f"  logs              {logs}")
    for child in supervisor.children:
        click.echo(f"  {child.name:<17} pid {child.pid}")
    tokens = demo_tokens(settings)
    if tokens:
        console.print("demo users and their bearer tokens:")
        for user_id, role, token in tokens:
            click.echo(f"  {user_id:<20} {role:<11} {token}")
    console.print("Ctrl-C stops everything.")
    died = supervisor.watch()
    if died is not None:
        console.print(f"[red]{died.name} exited with status {died.exited()}[/]; see {died.log}; stopping the rest")
    else:
        console.print("stopping …")
    supervisor.stop_all()
    console.print("stopped")
    if died is not None:
        ctx.exit(1)


# -- sweeps ---------------------------------------------------------------------------------------


@main.command(help="Run a sweep now, in this process, without Prefect: 'escalation' (the negotiation ladder) or "
              "'legal' (every other legal clock). Exits 1 if it met a case whose hash chain is broken (it still "
              "acts on every other case).")
@click.argument("which", type=click.Choice(["escalation", "legal"]))
@click.option("--dry-run", is_flag=True, help="Only list what is due.")
@click.pass_context
def sweep(ctx: click.Context, which: str, dry_run: bool) -> None:
    from engine.service import SYSTEM
    from engine.sweeps import business_date, list_due, run_sweep

    cw = _ready(ctx)
    if dry_run:
        dues = list_due(cw, which)
        numbers = _case_numbers(cw, [d.case_id for d in dues])
        table = Table("case", "kind", "trigger", "due on", title=f"{which}: {len(dues)} due on {business_date(cw)}")
        for d in dues:
            table.add_row(numbers.get(d.case_id, str(d.case_id)), d.kind, d.trigger, str(d.due_on or ""))
        console.print(table)
        return
    report = run_sweep(cw, which, SYSTEM)
    numbers = _case_numbers(cw, [o.due.case_id for o in report.outcomes if not o.number])
    table = Table("case", "trigger", "outcome", "action", "detail", title=f"{which} sweep of {report.today}")
    for o in report.outcomes:
        table.add_row(o.number or numbers.get(o.due.case_id, str(o.due.case_id)), o.due.trigger, o.status,
                      o.action or "", o.detail)
    console.print(table)
    console.print(f"{report.found} due: {report.counts or 'nothing to do'}")
    for o in report.broken:
        console.print(f"[red bold]BROKEN[/] {o.detail}; tell the supervisors of its unit: "
                      f"{', '.join(o.notify) or 'none found'}")
    if report.broken:
        raise SystemExit(1)


def _case_numbers(cw, case_ids: list[UUID], chunk: int = 500) -> dict[UUID, str]:  # noqa: ANN001 - Casework
    """The numbers the case index knows these cases by: the command line names cases by number."""
    from sqlalchemy import select

    from engine.tables import case_index

    numbers: dict[UUID, str] = {}
    with cw.read_transaction() as session:
        for start in range(0, len(case_ids), chunk):
            rows = session.execute(select(case_index.c.case_id, case_index.c.number)
                                   .where(case_index.c.case_id.in_(case_ids[start:start + chunk])))
            numbers.update({case_id: number for case_id, number in rows})
    return numbers


# -- offer campaigns --------------------------------------------------------------------------------


HERE_HELP = ("Open the negotiations in this process through the engine, with a progress bar, and wait until every "
             "enterprise is done: no Prefect server or worker, nothing to start. Without it the campaign runs on the "
             "worker (casework run or casework worker, PREFECT_API_URL), which retries a failed batch and shows the "
             "run in the Prefect UI, and this command returns at once.")


@main.group(help="Offer campaigns (百分百要约行动): one written offer to many enterprises.")
def campaign() -> None:
    pass


@campaign.command("start", help="Store a campaign from a CSV file (columns name, credit_code, employees, or "
                  "企业名称, 统一社会信用代码, 职工人数; UTF-8 or GB18030/GBK, as Excel and WPS save it) and open "
                  "its negotiations: on the worker, or with --here in this process. Every problem of the file is "
                  "named by its line, all at once, and nothing is stored until there are none.")
@click.option("--csv", "csv_file", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--document-number", required=True, help="The written offer's document number (文号).")
@click.option("--issuing-union", required=True, help="The union issuing the offer.")
@click.option("--org", "org_unit", required=True, help="The org unit the negotiations belong to.")
@click.option("--wage-increase-pct", default=None, help="Proposed wage increase, percent.")
@click.option("--minimum-wage", default=None, help="Proposed minimum wage, CNY.")
@click.option("--assignee", default=None, help="Negotiator to assign every case to.")
@click.option("--by", "user_id", default="operator", show_default=True, help="Who issues the offer (recorded).")
@click.option("--role", default="negotiator", show_default=True, type=click.Choice(["negotiator", "supervisor"]))
@click.option("--encoding", type=click.Choice(["utf-8", "gb18030"], case_sensitive=False), default=None,
              help="The file's encoding [default: UTF-8 (with or without BOM), else GB18030/GBK if it reads as such].")
@click.option("--here", is_flag=True, help=HERE_HELP)
@click.pass_context
def campaign_start(ctx: click.Context, csv_file: Path, document_number: str, issuing_union: str, org_unit: str,
                   wage_increase_pct: str | None, minimum_wage: str | None, assignee: str | None, user_id: str,
                   role: str, encoding: str | None, here: bool) -> None:
    from engine import campaigns
    from engine.service import Actor

    cw = _ready(ctx)
    terms = {k: v for k, v in (("wage_increase_pct", wage_increase_pct), ("minimum_wage", minimum_wage)) if v}
    enterprises = _read_campaign_file(csv_file, encoding and encoding.lower())
    with _domain_errors():
        created = campaigns.create_campaign(cw, Actor(user_id, role), document_number=document_number,
                                            issuing_union=issuing_union, org_unit=org_unit, enterprises=enterprises,
                                            terms=terms, assignee=assignee)
    console.print(f"campaign {created.campaign_id}: {created.total} enterprises under {created.document_number}")
    _start(cw, str(created.campaign_id), here)


def _read_campaign_file(path: Path, encoding: str | None) -> list[dict]:
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
        raise click.ClickException(f"{path}: {len(problems)} problems, nothing stored:\n"
                                   + "\n".join(f"  {p}" for p in problems)) from None


@campaign.command("resume", help="Open the negotiations a campaign has not opened yet (after a crash or a stop).")
@click.argument("campaign_id")
@click.option("--here", is_flag=True, help=HERE_HELP)
@click.pass_context
def campaign_resume(ctx: click.Context, campaign_id: str, here: bool) -> None:
    from engine import campaigns

    cw = _ready(ctx)
    with _domain_errors():
        campaigns.get_campaign(cw, campaign_id)
    _start(cw, campaign_id, here)


def _start(cw, campaign_id: str, here: bool) -> None:  # noqa: ANN001
    from engine import campaigns

    if here:
        _run_here(cw, campaign_id)
        return
    _prefect_server_required()
    from workflows.deployments import start_campaign_run

    run_id = start_campaign_run(cw, campaigns.get_campaign(cw, campaign_id).campaign_id)
    console.print(f"started flow run {run_id}; follow it with: casework campaign status {campaign_id}")


def _run_here(cw, campaign_id: str) -> None:  # noqa: ANN001 - engine.service.Casework
    """Open the campaign's pending negotiations in this process through the engine alone: no Prefect server to
    start, no flow run, the same transactions and command ids as the worker's run (so either resumes the other)."""
    from engine import campaigns

    with _domain_errors():
        found = campaigns.get_campaign(cw, campaign_id)
        try:
            with _progress() as progress:
                task = progress.add_task(f"{found.document_number}: opening negotiations", total=found.total)
                found, totals = campaigns.run_campaign(
                    cw, found.campaign_id, progress=lambda done, total: progress.update(task, completed=done))
        except KeyboardInterrupt:
            raise click.ClickException(f"stopped; what is opened stays opened: casework campaign resume "
                                       f"{found.campaign_id} --here opens the rest") from None
    console.print(f"this run opened {totals['opened']} (found {totals['already_open']} already open, "
                  f"{totals['failed']} refused)")
    _print_counts(cw, found)


def _print_counts(cw, found, run: str = "") -> None:  # noqa: ANN001 - Casework, campaigns.Campaign
    """A campaign's counts on one line (with its flow run, when given), then the enterprises not opened and why."""
    from engine import campaigns

    c = found.to_dict()["counts"]
    console.print(f"{found.document_number}: {c['opened']} of {c['total']} opened, {c['failed']} failed, "
                  f"{c['pending']} pending{'; ' + run if run else ''}")
    for failure in campaigns.failures(cw, found.campaign_id)[:50]:
        console.print(f"  #{failure['seq']} {failure['enterprise']}: {failure['error']}")


@campaign.command("status", help="A campaign's counts and its flow run's state.")
@click.argument("campaign_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def campaign_status(ctx: click.Context, campaign_id: str, as_json: bool) -> None:
    from engine import campaigns
    from workflows.deployments import flow_run_state

    cw = _ready(ctx)
    with _domain_errors():
        found = campaigns.get_campaign(cw, campaign_id)
    data = found.to_dict()
    data["run"] = flow_run_state(found.flow_run_id) if found.flow_run_id and os.environ.get("PREFECT_API_URL") \
        else None
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    _print_counts(cw, found, f"run {found.flow_run_id or '-'} {(data['run'] or {}).get('state', '')}")


@campaign.command("list", help="Campaigns, newest first.")
@click.option("--org", "org_unit", default=None, help="Only this unit and below.")
@click.pass_context
def campaign_list(ctx: click.Context, org_unit: str | None) -> None:
    from engine import campaigns

    cw = _ready(ctx)
    table = Table("campaign", "document", "org unit", "opened", "failed", "total", "finished")
    for c in campaigns.list_campaigns(cw, org_unit):
        table.add_row(str(c.campaign_id), c.document_number, c.org_unit, str(c.opened), str(c.failed), str(c.total),
                      c.finished_at.strftime("%Y-%m-%d %H:%M") if c.finished_at else "")
    console.print(table)


if __name__ == "__main__":
    main()
