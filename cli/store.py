"""Commands on the store as a whole: its schema, the demo data set, chain verification, the read-model rebuild and
the keys."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from cli.common import console, operator_errors, progress_bar, ready, service

if TYPE_CHECKING:
    from engine.service import Casework


@click.group(help="Database schema (Alembic migrations).")
def db() -> None:
    pass


@db.command("upgrade", help="Create or migrate every table to the latest schema.")
@click.pass_context
def db_upgrade(ctx: click.Context) -> None:
    from engine.migrate import pending, upgrade_store

    cw = service(ctx)
    todo = pending(cw.sql_engine)
    with operator_errors():
        rekeyed = upgrade_store(cw)
    url = cw.sql_engine.url.render_as_string(hide_password=True)
    console.print(f"[green]schema up to date[/] on {url} ({len(todo)} migration(s) applied)")
    if rekeyed is not None:
        console.print(f"person reservations re-keyed with this installation's person key: {rekeyed.reservations}")
        for problem in rekeyed.problems:
            console.print(f"[yellow]warning[/]: {problem}")


@click.command(help="Load a realistic demo data set: every case type, every stage, the year up to today.")
@click.option(
    "--size",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10_000),
    help="Scale: each unit adds about 60 cases across the four types.",
)
@click.option(
    "--until",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="The last day of the simulated year (YYYY-MM-DD; default today): nothing is dated after it.",
)
@click.option("--seed", default=7, show_default=True, help="Random seed; the same seed gives the same data.")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds cases.")
@click.pass_context
def demo(ctx: click.Context, size: int, until: datetime | None, seed: int, if_empty: bool) -> None:
    from engine.demo import load_demo

    cw = ready(ctx)
    existing = cw.store.recorder.max_notification_id() or 0
    if existing and if_empty:
        console.print(f"demo skipped: the database already holds {existing} events")
        return
    with progress_bar() as progress:
        task = progress.add_task("loading demo cases", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        summary = load_demo(cw.settings, size=size, until=until.date() if until else None, seed=seed, progress=advance)
    console.print(f"[green]demo loaded[/]: {summary.cases} cases, {summary.commands} commands")


@click.command(help="Verify the hash chains: one case (by number or id) or the whole store.")
@click.argument("case", required=False)
@click.option(
    "--read-models",
    is_flag=True,
    help="Also replay the whole store and check that the case index, open clocks, statistics and person "
    "reservations say what the events say (they are derived, so their edits leave every chain intact).",
)
@click.pass_context
def verify(ctx: click.Context, case: str | None, read_models: bool) -> None:
    from engine.audit import verify_case, verify_store

    if case and read_models:
        raise click.UsageError("--read-models checks the whole store: give it without a case")
    cw = ready(ctx)
    with operator_errors():
        if case:
            result = verify_case(cw, case)
        else:
            total = cw.store.recorder.max_notification_id() or 0
            with progress_bar() as progress:
                task = progress.add_task("verifying events", total=total)
                result = verify_store(cw, progress=lambda n: progress.update(task, completed=n))
                progress.update(task, completed=result.events)
    if result.ok:
        console.print(f"[green]verified[/]: {result.events} events in {result.cases} case(s); every chain intact")
    else:
        console.print(f"[red bold]BROKEN CHAIN[/] after checking {result.events} events: {result.first_break}")
        sys.exit(1)
    if read_models:
        check_read_models(cw)


def check_read_models(cw: Casework) -> None:
    """Replay the store against its read models and print what differs; exit 1 if anything does."""
    from engine.read_model_check import check_read_models as check

    with operator_errors(), progress_bar() as progress:
        task = progress.add_task("checking read models", total=None)
        checked = check(cw, progress=lambda done, total: progress.update(task, completed=done, total=total))
    if checked.ok:
        console.print(
            f"[green]read models match the events[/]: {checked.rows} rows of {checked.cases} case(s) and their "
            "statistics"
        )
        return
    console.print(
        f"[red bold]READ MODELS DIFFER FROM THE EVENTS[/]: {checked.count} difference(s) in {checked.rows} rows"
        + (f"; the first {len(checked.differences)}:" if checked.count > len(checked.differences) else ":")
    )
    for difference in checked.differences:
        console.print(f"  {difference}", markup=False, soft_wrap=True)
    console.print("`casework rebuild` rewrites them from the events (stop writers first on SQLite).")
    sys.exit(1)


@click.command(help="Rebuild every read-model table from the event log (stop writers first on SQLite).")
@click.pass_context
def rebuild(ctx: click.Context) -> None:
    from engine.rebuild import rebuild as run_rebuild

    cw = ready(ctx)
    with progress_bar() as progress:
        task = progress.add_task("replaying events", total=None)
        result = run_rebuild(cw, progress=lambda done, total: progress.update(task, completed=done, total=total))
    console.print(
        f"[green]rebuilt[/]: {result.events} events, {result.cases} cases "
        f"(up to notification {result.last_notification_id})"
    )


@click.command(
    help="Print a new random key for CASEWORK_CIPHER_KEY, CASEWORK_PERSON_KEY or CASEWORK_DATA_KEY (256 bits, base64)."
)
def keygen() -> None:
    from eventsourcing.cryptography import AESCipher

    click.echo(AESCipher.create_key(num_bytes=32))


COMMANDS = (db, demo, verify, rebuild, keygen)
