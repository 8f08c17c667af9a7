"""Commands that run the service: the HTTP API, the scheduler's worker, and `casework run`, which starts both with a
local Prefect server and watches them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

import bootstrap
from cli.common import SettingOption, console, operator_errors, progress_bar, ready, require_prefect_server, service
from engine.config import Settings


def api_address_options(host_help: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """--host, --port, --workers, --threads and --keepalive of the HTTP API, as `casework api` and `casework run` both
    take them."""
    options = [
        click.option(
            "--host",
            default="127.0.0.1",
            show_default=True,
            envvar="CASEWORK_API_HOST",
            help=host_help,
            cls=SettingOption,
        ),
        click.option(
            "--port",
            default=8000,
            show_default=True,
            type=click.IntRange(1, 65535),
            envvar="CASEWORK_API_PORT",
            help="API port.",
            cls=SettingOption,
        ),
        click.option(
            "--workers",
            default=None,
            type=click.IntRange(1, 64),
            envvar="CASEWORK_API_WORKERS",
            help="API worker processes [default: 2 per CPU, at most 8].",
            cls=SettingOption,
        ),
        click.option(
            "--threads",
            default=4,
            show_default=True,
            type=click.IntRange(1, 64),
            envvar="CASEWORK_API_THREADS",
            help="Requests each API worker process serves at once (its threads).",
            cls=SettingOption,
        ),
        click.option(
            "--keepalive",
            default=5,
            show_default=True,
            type=click.IntRange(0, 60),
            envvar="CASEWORK_API_KEEPALIVE",
            help="Seconds an idle client connection to the API is kept open for its next request (0: closed "
            "after each response).",
            cls=SettingOption,
        ),
    ]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


@click.command(help="Serve the HTTP API and the web workspace under granian.")
@api_address_options("Address the API listens on.")
@click.option(
    "--show-demo-tokens/--no-show-demo-tokens",
    default=True,
    show_default=True,
    help="Print the demo users' tokens when the demo data set is loaded.",
)
@click.pass_context
def api(
    ctx: click.Context,
    host: str,
    port: int,
    workers: int | None,
    threads: int,
    keepalive: int,
    show_demo_tokens: bool,
) -> None:
    from engine.demo import demo_passwords, demo_tokens

    cw = ready(ctx)
    workers = workers or min(2 * (os.cpu_count() or 1), 8)
    base = f"http://{host}:{port}"
    console.print(
        f"Casework API on [bold]{base}[/] ({workers} workers of {threads} threads, "
        f"{cw.sql_engine.url.get_backend_name()})"
    )
    console.print(f"  web workspace     {base}/")
    console.print(f"  OpenAPI document  {base}/openapi.json")
    console.print(f"  interactive docs  {base}/docs/")
    if show_demo_tokens:
        print_demo_sign_ins(demo_passwords(cw.settings), base)
    tokens = demo_tokens(cw.settings) if show_demo_tokens else []
    if tokens:
        console.print("demo users (from the demo data set), with their bearer tokens:")
        for user_id, role, token in tokens:
            click.echo(f"  {user_id:<20} {role:<11} {token}")
        click.echo(f"  try: curl -H 'Authorization: Bearer {tokens[0][2]}' {base}/me")
    cw.close()
    bootstrap.serve_http(host, port, workers, threads, keepalive)


@click.command(
    help="Serve every Prefect deployment of Casework with its schedule, running their flows here "
    "(the scheduler's worker). Needs PREFECT_API_URL. Schedules: see README 'Workflows'."
)
@click.option(
    "--limit",
    type=click.IntRange(1, 64),
    default=None,
    envvar="CASEWORK_WORKER_LIMIT",
    help="At most this many flow runs at once [default: no limit].",
    cls=SettingOption,
)
@click.pass_context
def worker(ctx: click.Context, limit: int | None) -> None:
    schedules = checked_schedules(bootstrap.settings())
    require_prefect_server()
    cw = ready(ctx)
    for item, schedule in schedules:
        console.print(f"  {item.deployment:<32} {describe(schedule)}")
    console.print(f"worker serving on {os.environ['PREFECT_API_URL']}")
    bootstrap.serve_flows(cw.settings, limit=limit)


def checked_schedules(settings: Settings) -> list[tuple[Any, Any]]:
    """Every deployment with its schedule, read from its setting: a malformed one stops the command before it
    starts anything (a worker started by `casework run` would die on it after the server had started)."""
    from workflows.deployments import SCHEDULES, schedule_for

    return [(item, schedule_for(item, settings.timezone)) for item in SCHEDULES]


def describe(schedule: object) -> str:
    """A Prefect schedule in a few words: its cron expression, its interval, or on demand."""
    if schedule is None:
        return "on demand"
    cron = getattr(schedule, "cron", None)
    return f"cron {cron}" if cron else f"every {getattr(schedule, 'interval', '?')}"


@click.command(
    help="Start the whole service on this machine: a local Prefect server (its database in the data "
    "directory), the worker and the API; prints their addresses; Ctrl-C stops all three."
)
@api_address_options("Address the API and the Prefect server listen on.")
@click.option(
    "--prefect-port",
    default=4200,
    show_default=True,
    type=click.IntRange(1, 65535),
    envvar="CASEWORK_PREFECT_PORT",
    help="Prefect server (API and UI) port.",
    cls=SettingOption,
)
@click.option(
    "--demo/--no-demo", default=True, show_default=True, help="Load the demo data set into an empty database first."
)
@click.pass_context
def run(
    ctx: click.Context,
    host: str,
    port: int,
    prefect_port: int,
    workers: int | None,
    threads: int,
    keepalive: int,
    demo: bool,
) -> None:
    from engine.demo import demo_passwords, demo_tokens, load_demo
    from engine.migrate import upgrade_store
    from workflows.supervisor import (
        Child,
        Supervisor,
        casework_command,
        prefect_command,
        prefect_environment,
        wait_until_healthy,
    )

    settings = bootstrap.settings()
    checked_schedules(settings)
    cw = service(ctx)
    with operator_errors():
        upgrade_store(cw)
    if demo and not (cw.store.recorder.max_notification_id() or 0):
        with progress_bar() as progress:
            task = progress.add_task("loading the demo data set", total=None)
            load_demo(settings, progress=lambda done, total: progress.update(task, completed=done, total=total))
    cw.close()
    logs = settings.data_dir / "logs"
    env = prefect_environment(settings, host, prefect_port)
    Path(env["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor()
    api_args = ["api", "--host", host, "--port", str(port), "--threads", str(threads), "--keepalive", str(keepalive)]
    api_args.append("--no-show-demo-tokens")
    if workers:
        api_args += ["--workers", str(workers)]
    try:
        server = supervisor.start(
            Child(
                "prefect server",
                prefect_command("server", "start", "--host", host, "--port", str(prefect_port), "--analytics-off"),
                logs / "prefect-server.log",
            ),
            env,
        )
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
    click.echo(f"  web workspace     {base}/")
    click.echo(f"  API               {base}")
    click.echo(f"  OpenAPI docs      {base}/docs/  ({base}/openapi.json)")
    click.echo(f"  Prefect UI        http://{host}:{prefect_port}")
    click.echo(f"  logs              {logs}")
    for child in supervisor.children:
        click.echo(f"  {child.name:<17} pid {child.pid}")
    print_demo_sign_ins(demo_passwords(settings), base)
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


def print_demo_sign_ins(passwords: list[tuple[str, str, str]], base: str) -> None:
    """The demo users' sign-ins for the web workspace, one a line."""
    if passwords:
        console.print(f"demo sign-ins for the web workspace ({base}/sign-in):")
        for user_id, role, password in passwords:
            click.echo(f"  {user_id:<20} {role:<11} {password}")


COMMANDS = (api, worker, run)
