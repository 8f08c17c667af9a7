"""The `casework` command line: schema, demo data, statistics, audit and maintenance."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aggregates.errors import DomainError
from aggregates.stages import USER_ROLES
from engine.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table as RichTable

# rich is imported when a command first prints through it: `casework show` and `--help` never load it.


class _Console:
    """rich's Console, made on first use; every attribute is the real console's."""

    _made: Console | None = None

    def rich(self) -> Console:
        if self._made is None:
            from rich.console import Console

            self._made = Console()
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich(), name)


console = _Console()


def Table(*columns: Any, **options: Any) -> RichTable:
    """A rich table (rich.table.Table)."""
    from rich.table import Table as RichTable

    return RichTable(*columns, **options)


def _progress() -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console.rich(), transient=False)


def _engine(ctx: click.Context):  # noqa: ANN202 - engine.service.Casework
    from engine.service import Casework

    if ctx.obj is None:
        settings = Settings.from_env()
        ctx.meta[_SETTINGS] = settings
        ctx.obj = Casework(settings)
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj


_SETTINGS = "casework.settings"
"""Where in the run's shared `ctx.meta` the settings are, to name the database an error comes from."""


@contextmanager
def _domain_errors() -> Iterator[None]:
    """What an operator can act on is one line for them, not a traceback: a refusal from the engine, a wrong
    setting, a database that cannot be reached or read, a file or directory that cannot be used. Every command
    runs inside it (see `CaseworkGroup`); anything else is a fault of the program and keeps its traceback."""
    try:
        yield
    except (DomainError, ConfigurationError) as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:
        line = _operator_problem(e)
        if line is None:
            raise
        raise click.ClickException(line) from e


def _operator_problem(error: Exception) -> str | None:
    """The one line for a database, file system or Prefect server error, or None for any other error."""
    database_errors = sys.modules.get("sqlalchemy.exc")  # not imported: no database error can have happened
    if database_errors is not None and (
            isinstance(error, database_errors.OperationalError | database_errors.InterfaceError)
            or type(error) is database_errors.DatabaseError):  # e.g. a file that is not SQLite
        from engine.database import database_problem

        ctx = click.get_current_context(silent=True)
        settings = (ctx.meta.get(_SETTINGS) if ctx else None) or Settings.from_env()
        return database_problem(error, settings)
    if isinstance(error, OSError) and error.filename and not isinstance(error, BrokenPipeError):
        return f"{error.filename}: {error.strerror}"
    http_errors = sys.modules.get("httpx")  # Prefect's client: the only HTTP the command line speaks
    if http_errors is not None and isinstance(error, http_errors.TransportError):
        url = os.environ.get("PREFECT_API_URL", "")
        return f"PREFECT_API_URL {url}: the Prefect server cannot be reached ({error or type(error).__name__})"
    return None


class CaseworkGroup(click.Group):
    """The `casework` group: every command runs inside `_domain_errors`, the one place where an error an operator
    can act on becomes one line (exit status 1)."""

    def invoke(self, ctx: click.Context) -> object:
        with _domain_errors():
            return super().invoke(ctx)


class SettingOption(click.Option):
    """An option that may be given by an environment variable: a bad value from there is named by the variable,
    which is what the operator set (click would name the option, and print its usage)."""

    def process_value(self, ctx: click.Context, value: object) -> object:
        try:
            return super().process_value(ctx, value)
        except click.BadParameter as e:
            if ctx.get_parameter_source(self.name or "") is not click.core.ParameterSource.ENVIRONMENT:
                raise
            raise click.ClickException(f"{self.envvar}: {e.message}") from None


def _require_schema(cw) -> None:  # noqa: ANN001
    from engine.migrate import is_current, pending

    if is_current(cw.db):
        return
    missing = pending(cw.db)
    if missing:
        raise click.ClickException(
            f"the database schema is not up to date ({len(missing)} migration(s) pending); run: casework db upgrade"
        )


def _ready(ctx: click.Context):  # noqa: ANN202 - engine.service.Casework
    """The engine, once the schema is known to be up to date."""
    cw = _engine(ctx)
    _require_schema(cw)
    return cw


@click.group(cls=CaseworkGroup, help=__doc__, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="casework")
def main() -> None:
    pass


@main.group(help="Database schema (Alembic migrations).")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate every table to the latest schema.")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    from engine.migrate import pending, upgrade_store

    cw = _engine(ctx)
    todo = pending(cw.db)
    with _domain_errors():
        rekeyed = upgrade_store(cw)
    url = cw.db.url.render_as_string(hide_password=True)
    console.print(f"[green]schema up to date[/] on {url} ({len(todo)} migration(s) applied)")
    if rekeyed is not None:
        console.print(f"person reservations re-keyed with this installation's person key: {rekeyed.reservations}")
        for problem in rekeyed.problems:
            console.print(f"[yellow]warning[/]: {problem}")


@main.command(help="Load a realistic demo data set: every case type, every stage, the year up to today.")
@click.option("--size", default=1, show_default=True, type=click.IntRange(1, 10_000),
              help="Scale: each unit adds about 60 cases across the four types.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="The last day of the simulated year (YYYY-MM-DD; default today): nothing is dated after it.")
@click.option("--seed", default=7, show_default=True, help="Random seed; the same seed gives the same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds cases.")
@click.pass_context
def demo(ctx: click.Context, size: int, until: datetime | None, seed: int, if_empty: bool) -> None:
    from engine.demo import load_demo

    cw = _ready(ctx)
    existing = cw.store.recorder.max_notification_id() or 0
    if existing and if_empty:
        console.print(f"demo skipped: the database already holds {existing} events")
        return
    with _progress() as progress:
        task = progress.add_task("loading demo cases", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = load_demo(cw.settings, size=size, until=until.date() if until else None, seed=seed,
                            progress=advance)
    console.print(f"[green]demo loaded[/]: {summary.cases} cases, {summary.commands} commands")


@main.command(help="The statistics table for an org unit and everything below it, over a period.")
@click.option("--org", "org_unit", default=None, help="Org unit path, e.g. suzhou.gusu (default: all).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (YYYY-MM-DD).")
@click.option("--by-org", "depth", type=click.IntRange(1, 10), default=None,
              help="Also break down by org unit, cut at this depth of the path.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.pass_context
def report(ctx: click.Context, org_unit: str | None, start: datetime | None, end: datetime | None,
           depth: int | None, fmt: str) -> None:
    from engine.accounts import get_org
    from engine.reports import RATES, as_json, report_csv, rows, statistics

    cw = _ready(ctx)
    if start and end and start > end:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    if org_unit is not None and get_org(cw, org_unit) is None:
        raise click.BadParameter(f"no org unit {org_unit!r} (see: casework orgs list)", param_hint="--org")
    rep = statistics(cw, org_unit=org_unit, start=start.date() if start else None,
                     end=end.date() if end else None, by_org_depth=depth)
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
    table = Table(title=title)
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
        table.add_row(en, zh, _fmt(total), *map(_fmt, per))
    table.add_section()
    for _, zh, en, n, d in RATES:
        r = rep.rate(n, d)
        table.add_row(en, zh, "—" if r is None else f"{r}%")
    console.print(table)


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}" if value != value.to_integral_value() else f"{int(value):,}"


@main.command(help="Verify the hash chains: one case (by number or id) or the whole store.")
@click.argument("case", required=False)
@click.pass_context
def verify(ctx: click.Context, case: str | None) -> None:
    from engine.audit import verify_case, verify_store

    cw = _ready(ctx)
    with _domain_errors():
        if case:
            result = verify_case(cw, case)
        else:
            total = cw.store.recorder.max_notification_id() or 0
            with _progress() as progress:
                task = progress.add_task("verifying events", total=total)
                result = verify_store(cw, progress=lambda n: progress.update(task, completed=n))
                progress.update(task, completed=result.events)
    if result.ok:
        console.print(f"[green]verified[/]: {result.events} events in {result.cases} case(s); every chain intact")
    else:
        console.print(f"[red bold]BROKEN CHAIN[/] after checking {result.events} events: {result.first_break}")
        sys.exit(1)


@main.command(help="Rebuild every read-model table from the event log (stop writers first on SQLite).")
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    from engine.rebuild import rebuild as run_rebuild

    cw = _ready(ctx)
    with _progress() as progress:
        task = progress.add_task("replaying events", total=None)
        result = run_rebuild(cw, progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(f"[green]rebuilt[/]: {result.events} events, {result.cases} cases "
                  f"(up to notification {result.last_notification_id})")


@main.command(help="Show one case: stage, clocks, links and the actions open to a role.")
@click.argument("case")
@click.option("--role", default="supervisor", show_default=True, help="Whose allowed actions to list.")
@click.option("--version", "version", type=int, default=None, help="Show the case as of this version.")
@click.option("--at", type=click.DateTime(["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%d %H:%M:%S%z"]), default=None,
              help="Show the case as it stood on record at this time (ISO-8601 with offset).")
@click.pass_context
def show(ctx: click.Context, case: str, role: str, version: int | None, at: datetime | None) -> None:
    from engine.audit import as_of
    from engine.views import case_view

    cw = _ready(ctx)
    try:
        found = as_of(cw, case, version=version, at=at)
    except (DomainError, ValueError) as e:
        raise click.ClickException(str(e)) from e
    today = cw.clock.now().astimezone(cw.settings.tz).date()
    click.echo(json.dumps(case_view(found, role, today, policy=cw.settings.policy), ensure_ascii=False, indent=2))


@main.command(help="A case's full history: every event with who, when, why and its hash.")
@click.argument("case")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def history(ctx: click.Context, case: str, as_json: bool) -> None:
    from dataclasses import asdict

    from engine.audit import history as case_history

    cw = _ready(ctx)
    with _domain_errors():
        entries = case_history(cw, case)
    if as_json:
        click.echo(json.dumps([asdict(e) for e in entries], default=_json_default, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"history of {case}")
    for col in ("v", "event", "business time", "actor", "role", "stage", "reason", "hash"):
        table.add_column(col)
    for e in entries:
        table.add_row(str(e.version), e.event, e.occurred_at.isoformat(timespec="minutes"), e.actor_id,
                      e.actor_role, e.stage, e.reason or "", e.hash[:12])
    console.print(table)


@main.group(help="Org units: the union hierarchy (city federation > district > town/street > enterprise).")
def orgs() -> None:
    pass


@orgs.command("add", help="Add an org unit below an existing one, e.g.: casework orgs add suzhou.gusu 姑苏区总工会")
@click.argument("path")
@click.argument("name")
@click.option("--level", type=click.Choice(["city", "district", "street", "enterprise"]), default=None,
              help="Default: from the depth of the path.")
@click.pass_context
def orgs_add(ctx: click.Context, path: str, name: str, level: str | None) -> None:
    from engine.accounts import add_org

    cw = _ready(ctx)
    with _domain_errors():
        org = add_org(cw, path, name, level)
    console.print(f"[green]added[/] {org.path} ({org.level}): {org.name}")


@orgs.command("list", help="The org tree (below --under, when given).")
@click.option("--under", default=None, help="Only this unit and the units below it.")
@click.pass_context
def orgs_list(ctx: click.Context, under: str | None) -> None:
    from engine.accounts import list_orgs

    cw = _ready(ctx)
    table = Table(title="org units")
    for col in ("path", "level", "name"):
        table.add_column(col)
    for org in list_orgs(cw, under):
        table.add_row(org.path, org.level, "  " * org.path.count(".") + org.name)
    console.print(table)


def _cli_actor():  # noqa: ANN202 - engine.service.Actor
    """Who the record of account changes names for a change made here: `cli:<login name>` in role admin
    (whoever can run these commands can reach the database, which is more than an admin can)."""
    import getpass

    from engine.service import Actor

    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and none for the process's uid
        login = "unknown"
    return Actor(f"cli:{login}"[:120], "admin")


@main.group(help="Users of the API and their bearer tokens.")
def users() -> None:
    pass


@users.command("add", help="Create a user and print their bearer token (shown only this once).")
@click.argument("user_id")
@click.option("--name", required=True, help="The person's (or machine's) name.")
@click.option("--role", required=True, type=click.Choice(USER_ROLES),
              help="'system' is the scheduler's own role and cannot be given to a user.")
@click.option("--org", "org_unit", required=True, help="Their org unit; they see it and every unit below it.")
@click.pass_context
def users_add(ctx: click.Context, user_id: str, name: str, role: str, org_unit: str) -> None:
    from engine.accounts import add_user

    cw = _ready(ctx)
    with _domain_errors():
        user, token = add_user(cw, user_id, name, role, org_unit, by=_cli_actor())
    console.print(f"[green]added[/] {user.user_id} ({user.role}, {user.org_unit}). Token, shown only now:")
    click.echo(token)


@users.command("list", help="Users (in --org and below, when given).")
@click.option("--org", "org_unit", default=None)
@click.pass_context
def users_list(ctx: click.Context, org_unit: str | None) -> None:
    from engine.accounts import list_users

    cw = _ready(ctx)
    table = Table(title="users")
    for col in ("user id", "name", "role", "org unit", "active", "created"):
        table.add_column(col)
    for u in list_users(cw, org_unit):
        table.add_row(u.user_id, u.name, u.role, u.org_unit, "yes" if u.active else "no",
                      u.created_at.date().isoformat())
    console.print(table)


@users.command("token", help="Issue a new token for a user (the old one stops working) and print it.")
@click.argument("user_id")
@click.pass_context
def users_token(ctx: click.Context, user_id: str) -> None:
    from engine.accounts import rotate_token

    cw = _ready(ctx)
    with _domain_errors():
        token = rotate_token(cw, user_id, by=_cli_actor())
    click.echo(token)


@users.command("set", help="Change a user's name, role or org unit.")
@click.argument("user_id")
@click.option("--name", default=None)
@click.option("--role", default=None, type=click.Choice(USER_ROLES),
              help="'system' is the scheduler's own role and cannot be given to a user.")
@click.option("--org", "org_unit", default=None, help="Move them to this org unit.")
@click.pass_context
def users_set(ctx: click.Context, user_id: str, name: str | None, role: str | None, org_unit: str | None) -> None:
    from engine.accounts import update_user

    if name is None and role is None and org_unit is None:
        raise click.UsageError("give at least one of --name, --role, --org")
    cw = _ready(ctx)
    with _domain_errors():
        user = update_user(cw, user_id, by=_cli_actor(), name=name, role=role, org_unit=org_unit)
    console.print(f"{user.user_id}: {user.name}, {user.role}, {user.org_unit}")


@users.command("deactivate", help="Deactivate a user: their token stops working at once.")
@click.argument("user_id")
@click.pass_context
def users_deactivate(ctx: click.Context, user_id: str) -> None:
    _set_active(ctx, user_id, False)


@users.command("reactivate", help="Reactivate a user: their current token works again.")
@click.argument("user_id")
@click.pass_context
def users_reactivate(ctx: click.Context, user_id: str) -> None:
    _set_active(ctx, user_id, True)


def _set_active(ctx: click.Context, user_id: str, active: bool) -> None:
    from engine.accounts import set_active

    cw = _ready(ctx)
    with _domain_errors():
        changed = set_active(cw, user_id, active, by=_cli_actor())
    word = "reactivated" if active else "deactivated"
    console.print(f"{word} {user_id}" if changed else f"{user_id} was already {word}")


@users.command("changes", help="The record of account changes, newest first: who created, changed, issued a token "
                               "for, deactivated or reactivated each user, and when.")
@click.argument("user_id", required=False)
@click.option("--org", "org_unit", default=None, help="Only users now in this unit and below.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def users_changes(ctx: click.Context, user_id: str | None, org_unit: str | None, limit: int, as_json: bool) -> None:
    from dataclasses import asdict

    from engine.accounts import get_user, list_account_changes

    cw = _ready(ctx)
    if user_id is not None and get_user(cw, user_id) is None:
        raise click.ClickException(f"no user {user_id!r}")
    changes = list_account_changes(cw, scope=org_unit, user_id=user_id, limit=limit)
    if as_json:
        click.echo(json.dumps([asdict(c) for c in changes], default=_json_default, ensure_ascii=False, indent=2))
        return
    table = Table(title="account changes")
    for col in ("#", "recorded", "user id", "change", "detail", "by", "role"):
        table.add_column(col, no_wrap=col in ("recorded", "change"))
    for c in changes:
        detail = ", ".join(f"{k}: {v['old']} → {v['new']}" if v["old"] is not None else f"{k}: {v['new']}"
                           for k, v in c.detail.items())
        table.add_row(str(c.seq), f"{c.recorded_at:%Y-%m-%d %H:%M}", c.user_id, c.change, detail, c.actor_id,
                      c.actor_role)
    console.print(table)


@main.command(help="Serve the HTTP API under gunicorn.")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="CASEWORK_API_HOST", cls=SettingOption)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), envvar="CASEWORK_API_PORT",
              cls=SettingOption)
@click.option("--workers", default=None, type=click.IntRange(1, 64), envvar="CASEWORK_API_WORKERS",
              help="Worker processes [default: 2 per CPU, at most 8].", cls=SettingOption)
@click.option("--show-demo-tokens/--no-show-demo-tokens", default=True, show_default=True,
              help="Print the demo users' tokens when the demo data set is loaded.")
@click.pass_context
def api(ctx: click.Context, host: str, port: int, workers: int | None, show_demo_tokens: bool) -> None:
    from api.server import serve
    from engine.demo import demo_tokens

    cw = _ready(ctx)
    workers = workers or min(2 * (os.cpu_count() or 1), 8)
    base = f"http://{host}:{port}"
    console.print(f"Casework API on [bold]{base}[/] ({workers} workers, {cw.db.url.get_backend_name()})")
    console.print(f"  OpenAPI document  {base}/openapi.json")
    console.print(f"  interactive docs  {base}/docs/")
    tokens = demo_tokens(cw.settings) if show_demo_tokens else []
    if tokens:
        console.print("demo users (from the demo data set), with their bearer tokens:")
        for user_id, role, token in tokens:
            click.echo(f"  {user_id:<20} {role:<11} {token}")
        click.echo(f"  try: curl -H 'Authorization: Bearer {tokens[0][2]}' {base}/me")
    cw.close()
    serve(host, port, workers)


@main.command(help="Print a new random key for CASEWORK_CIPHER_KEY or CASEWORK_PERSON_KEY (256 bits, base64).")
def keygen() -> None:
    from eventsourcing.cipher import AESCipher

    click.echo(AESCipher.create_key(num_bytes=32))


def _json_default(value: object) -> object:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Decimal, Path)):
        return str(value)
    return str(value)


if __name__ == "__main__":
    main()
