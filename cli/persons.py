"""`casework person erase`: erase one person's data (PIPL art. 47) without rewriting a stored event."""

from __future__ import annotations

import click

from cli.common import console, ready


@click.group(help="A person's data in the cases: erasure on their request once its purpose is fulfilled.")
def person() -> None:
    pass


@person.command(
    "erase",
    help="Destroy the key of one person's data and record the erasure, with its reason, on every case they are in. "
    "Their fields then read as erased everywhere (history, past versions, dossiers, exports); every stored event, "
    "chain and checkpoint stays as it was. Only a supervisor at the top of the org tree (--as), only once every "
    "case of the person is closed. It cannot be undone.",
)
@click.option("--as", "user_id", required=True, help="The supervisor at the top of the org tree who erases.")
@click.option("--reason", required=True, help="Why: recorded in the history of every case it touches.")
@click.option("--id-number", default=None, help="The person's ID number: every case they are in.")
@click.option("--case", default=None, help="For a person recorded without an ID number: the case number.")
@click.option("--person", "place", default=None, help="With --case: their place in it, e.g. applicants.1.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def erase(
    ctx: click.Context,
    user_id: str,
    reason: str,
    id_number: str | None,
    case: str | None,
    place: str | None,
    yes: bool,
) -> None:
    from engine.accounts import get_user
    from engine.erasure import erase_person

    if (id_number is None) == (case is None):
        raise click.UsageError("give either --id-number, or --case and --person")
    if case is not None and place is None:
        raise click.UsageError("--case needs --person: the person's place in the case, e.g. applicants.1")
    cw = ready(ctx)
    user = get_user(cw, user_id)
    if user is None or not user.active:
        raise click.BadParameter(f"no active user {user_id!r} (see: casework users list)", param_hint="--as")
    who = f"the person with ID number {id_number}" if id_number else f"{place} of {case}"
    if not yes:
        click.confirm(f"Erase the data of {who}? This cannot be undone", abort=True)
    done = erase_person(cw, user, reason=reason, id_number=id_number, case=case, person=place)
    console.print(f"[green]erased[/]: {who}, recorded on {', '.join(done.cases)} ({done.command_id})", highlight=False)


COMMANDS = (person,)
