"""What every command of the `casework` program shares: the run's service, the one place where an error an operator
can act on becomes one line, and rich output made on first use.

rich is imported when a command first prints through it: `casework show` and `--help` never load it.
"""

from __future__ import annotations

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
from engine.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from engine.service import Actor, Casework

SETTINGS = "casework.settings"
"""Where in the run's shared `ctx.meta` the settings are, to name the database an error comes from."""


class LazyConsole:
    """rich's Console, made on first use; every attribute is the real console's."""

    _made: Console | None = None

    def rich(self) -> Console:
        if self._made is None:
            from rich.console import Console

            self._made = Console()
        return self._made

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich(), name)


console = LazyConsole()


def rich_table(*columns: Any, **options: Any) -> Table:
    """A rich table (rich.table.Table)."""
    from rich.table import Table

    return Table(*columns, **options)


def progress_bar() -> Progress:
    """rich's progress bar: description, bar, done of total, time remaining."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console.rich(),
        transient=False,
    )


def service(ctx: click.Context) -> Casework:
    """The Casework service of this run, built on first use (bootstrap.py) and closed when the run ends."""
    import bootstrap

    if ctx.obj is None:
        settings = bootstrap.settings()
        ctx.meta[SETTINGS] = settings
        ctx.obj = bootstrap.casework(settings)
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj


def ready(ctx: click.Context) -> Casework:
    """The service, once the schema is known to be up to date."""
    cw = service(ctx)
    require_schema(cw)
    return cw


def require_schema(cw: Casework) -> None:
    """Refuse to run against a database whose schema is behind, naming what to run."""
    from engine.migrate import is_current, pending

    if is_current(cw.sql_engine):
        return
    missing = pending(cw.sql_engine)
    if missing:
        raise click.ClickException(
            f"the database schema is not up to date ({len(missing)} migration(s) pending); run: casework db upgrade"
        )


@contextmanager
def operator_errors() -> Iterator[None]:
    """What an operator can act on is one line for them, not a traceback: a refusal from the engine, a wrong
    setting, a database that cannot be reached or read, a file or directory that cannot be used. Every command
    runs inside it (see `CaseworkGroup`); anything else is a fault of the program and keeps its traceback."""
    try:
        yield
    except (DomainError, ConfigurationError) as e:
        raise click.ClickException(str(e)) from e
    except Exception as e:
        line = operator_problem(e)
        if line is None:
            raise
        raise click.ClickException(line) from e


def operator_problem(error: BaseException) -> str | None:
    """The one line for a database, file system or Prefect server error, or None for any other error."""
    database_errors = sys.modules.get("sqlalchemy.exc")  # not imported: no database error can have happened
    if database_errors is not None and (
        isinstance(error, database_errors.OperationalError | database_errors.InterfaceError)
        or type(error) is database_errors.DatabaseError
    ):  # e.g. a file that is not SQLite
        from engine.database import database_problem

        ctx = click.get_current_context(silent=True)
        settings = (ctx.meta.get(SETTINGS) if ctx else None) or Settings.from_env()
        return database_problem(error, settings)
    if isinstance(error, OSError) and error.filename and not isinstance(error, BrokenPipeError):
        return f"{error.filename}: {error.strerror}"
    http_errors = sys.modules.get("httpx")  # Prefect's client: the only HTTP the command line speaks
    if http_errors is not None and isinstance(error, http_errors.TransportError):
        url = os.environ.get("PREFECT_API_URL", "")
        return f"PREFECT_API_URL {url}: the Prefect server cannot be reached ({error or type(error).__name__})"
    return None


class CaseworkGroup(click.Group):
    """The `casework` group: every command runs inside `operator_errors`, the one place where an error an operator
    can act on becomes one line (exit status 1)."""

    def invoke(self, ctx: click.Context) -> object:
        with operator_errors():
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


def require_prefect_server() -> None:
    """Refuse a command that needs the scheduler's server when none is named."""
    if not os.environ.get("PREFECT_API_URL"):
        raise click.ClickException(
            "PREFECT_API_URL is not set: point it at your Prefect server (e.g. http://127.0.0.1:4200/api), "
            "or use 'casework run', which starts one"
        )


def cli_actor() -> Actor:
    """Who the record of account changes names for a change made here: `cli:<login name>` in role admin
    (whoever can run these commands can reach the database, which is more than an admin can)."""
    import getpass

    from engine.service import Actor

    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and none for the process's uid
        login = "unknown"
    return Actor(f"cli:{login}"[:120], "admin")


def json_default(value: object) -> object:
    """JSON for the values a history or a record holds: dates as ISO-8601, everything else as text."""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (Decimal, Path)):
        return str(value)
    return str(value)
