"""Commands on the org tree and the API's users: each change to a user is recorded as made by `cli:<login name>`."""

from __future__ import annotations

import json

import click

from aggregates.stages import USER_ROLES
from cli.common import cli_actor, console, json_default, operator_errors, ready, rich_table


@click.group(help="Org units: the union hierarchy (city federation > district > town/street > enterprise).")
def orgs() -> None:
    pass


@orgs.command("add", help="Add an org unit below an existing one, e.g.: casework orgs add suzhou.gusu 姑苏区总工会")
@click.argument("path")
@click.argument("name")
@click.option(
    "--level",
    type=click.Choice(["city", "district", "street", "enterprise"]),
    default=None,
    help="Default: from the depth of the path.",
)
@click.pass_context
def orgs_add(ctx: click.Context, path: str, name: str, level: str | None) -> None:
    from engine.accounts import add_org

    cw = ready(ctx)
    with operator_errors():
        org = add_org(cw, path, name, level)
    console.print(f"[green]added[/] {org.path} ({org.level}): {org.name}")


@orgs.command("list", help="The org tree (below --under, when given).")
@click.option("--under", default=None, help="Only this unit and the units below it.")
@click.pass_context
def orgs_list(ctx: click.Context, under: str | None) -> None:
    from engine.accounts import list_orgs

    cw = ready(ctx)
    table = rich_table(title="org units")
    for col in ("path", "level", "name"):
        table.add_column(col)
    for org in list_orgs(cw, under):
        table.add_row(org.path, org.level, "  " * org.path.count(".") + org.name)
    console.print(table)


@click.group(help="Users of the API and their bearer tokens.")
def users() -> None:
    pass


@users.command("add", help="Create a user and print their bearer token (shown only this once).")
@click.argument("user_id")
@click.option("--name", required=True, help="The person's (or machine's) name.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(USER_ROLES),
    help="'system' is the scheduler's own role and cannot be given to a user.",
)
@click.option("--org", "org_unit", required=True, help="Their org unit; they see it and every unit below it.")
@click.pass_context
def users_add(ctx: click.Context, user_id: str, name: str, role: str, org_unit: str) -> None:
    from engine.accounts import add_user

    cw = ready(ctx)
    with operator_errors():
        user, token = add_user(cw, user_id, name, role, org_unit, by=cli_actor())
    console.print(f"[green]added[/] {user.user_id} ({user.role}, {user.org_unit}). Token, shown only now:")
    click.echo(token)


@users.command("list", help="Users (in --org and below, when given).")
@click.option("--org", "org_unit", default=None)
@click.pass_context
def users_list(ctx: click.Context, org_unit: str | None) -> None:
    from engine.accounts import list_users

    cw = ready(ctx)
    table = rich_table(title="users")
    for col in ("user id", "name", "role", "org unit", "active", "created"):
        table.add_column(col)
    for u in list_users(cw, org_unit):
        table.add_row(
            u.user_id, u.name, u.role, u.org_unit, "yes" if u.active else "no", u.created_at.date().isoformat()
        )
    console.print(table)


@users.command("token", help="Issue a new token for a user (the old one stops working) and print it.")
@click.argument("user_id")
@click.pass_context
def users_token(ctx: click.Context, user_id: str) -> None:
    from engine.accounts import rotate_token

    cw = ready(ctx)
    with operator_errors():
        token = rotate_token(cw, user_id, by=cli_actor())
    click.echo(token)


@users.command(
    "password",
    help="Set a user's password for the web workspace (asked twice, at least 10 characters), or with --generate "
    "make a random one and print it once. Lifts a lockout; recorded in the account changes.",
)
@click.argument("user_id")
@click.option("--generate", is_flag=True, help="Make a random password and print it (shown only this once).")
@click.pass_context
def users_password(ctx: click.Context, user_id: str, generate: bool) -> None:
    from engine.passwords import generate_password, set_password

    cw = ready(ctx)
    password = (
        generate_password()
        if generate
        else click.prompt("new password", hide_input=True, confirmation_prompt="repeat the password")
    )
    with operator_errors():
        set_password(cw, user_id, password, by=cli_actor())
    console.print(f"password set for {user_id}" + ("; shown only now:" if generate else ""))
    if generate:
        click.echo(password)


@users.command("set", help="Change a user's name, role or org unit.")
@click.argument("user_id")
@click.option("--name", default=None)
@click.option(
    "--role",
    default=None,
    type=click.Choice(USER_ROLES),
    help="'system' is the scheduler's own role and cannot be given to a user.",
)
@click.option("--org", "org_unit", default=None, help="Move them to this org unit.")
@click.pass_context
def users_set(ctx: click.Context, user_id: str, name: str | None, role: str | None, org_unit: str | None) -> None:
    from engine.accounts import update_user

    if name is None and role is None and org_unit is None:
        raise click.UsageError("give at least one of --name, --role, --org")
    cw = ready(ctx)
    with operator_errors():
        user = update_user(cw, user_id, by=cli_actor(), name=name, role=role, org_unit=org_unit)
    console.print(f"{user.user_id}: {user.name}, {user.role}, {user.org_unit}")


@users.command("deactivate", help="Deactivate a user: their token stops working at once.")
@click.argument("user_id")
@click.pass_context
def users_deactivate(ctx: click.Context, user_id: str) -> None:
    set_active(ctx, user_id, False)


@users.command("reactivate", help="Reactivate a user: their current token works again.")
@click.argument("user_id")
@click.pass_context
def users_reactivate(ctx: click.Context, user_id: str) -> None:
    set_active(ctx, user_id, True)


def set_active(ctx: click.Context, user_id: str, active: bool) -> None:
    """Switch a user on or off, saying whether anything changed."""
    from engine import accounts

    cw = ready(ctx)
    with operator_errors():
        changed = accounts.set_active(cw, user_id, active, by=cli_actor())
    word = "reactivated" if active else "deactivated"
    console.print(f"{word} {user_id}" if changed else f"{user_id} was already {word}")


@users.command(
    "changes",
    help="The record of account changes, newest first: who created, changed, issued a token "
    "for, deactivated or reactivated each user, and when.",
)
@click.argument("user_id", required=False)
@click.option("--org", "org_unit", default=None, help="Only users now in this unit and below.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def users_changes(ctx: click.Context, user_id: str | None, org_unit: str | None, limit: int, as_json: bool) -> None:
    from dataclasses import asdict

    from engine.accounts import get_user, list_account_changes

    cw = ready(ctx)
    if user_id is not None and get_user(cw, user_id) is None:
        raise click.ClickException(f"no user {user_id!r}")
    changes = list_account_changes(cw, scope=org_unit, user_id=user_id, limit=limit)
    if as_json:
        click.echo(json.dumps([asdict(c) for c in changes], default=json_default, ensure_ascii=False, indent=2))
        return
    table = rich_table(title="account changes")
    for col in ("#", "recorded", "user id", "change", "detail", "by", "role"):
        table.add_column(col, no_wrap=col in ("recorded", "change"))
    for c in changes:
        detail = ", ".join(
            f"{k}: {v['old']} → {v['new']}" if v["old"] is not None else f"{k}: {v['new']}" for k, v in c.detail.items()
        )
        table.add_row(
            str(c.seq), f"{c.recorded_at:%Y-%m-%d %H:%M}", c.user_id, c.change, detail, c.actor_id, c.actor_role
        )
    console.print(table)


@users.group("channel", help="Where a user is told of alerts, escalations and assignments besides the inbox.")
def users_channel() -> None:
    pass


@users_channel.command(
    "add",
    help="Give a user a channel. TARGET: an e-mail address (email); the group bot's token or apprise URL "
    "(wecom, dingtalk, feishu); an http(s) URL that receives signed JSON POSTs (webhook).",
)
@click.argument("user_id")
@click.option("--kind", required=True, type=click.Choice(["email", "wecom", "dingtalk", "feishu", "webhook"]))
@click.option("--target", required=True, help="The address, token or URL.")
@click.option("--mute-digest", is_flag=True, help="Leave the daily digest of clocks due out of this channel.")
@click.pass_context
def users_channel_add(ctx: click.Context, user_id: str, kind: str, target: str, mute_digest: bool) -> None:
    from engine.channels import add_channel

    cw = ready(ctx)
    with operator_errors():
        channel = add_channel(cw, user_id, kind, target, digest_muted=mute_digest)
    console.print(f"[green]added[/] channel {channel.id} for {user_id}: {channel.kind} {channel.to_dict()['target']}")


@users_channel.command("list", help="A user's channels (with --all, the removed ones too).")
@click.argument("user_id")
@click.option("--all", "include_removed", is_flag=True)
@click.pass_context
def users_channel_list(ctx: click.Context, user_id: str, include_removed: bool) -> None:
    from engine.channels import list_channels

    cw = ready(ctx)
    table = rich_table(title=f"channels of {user_id}")
    for col in ("id", "kind", "target", "digest", "active", "added"):
        table.add_column(col)
    for c in list_channels(cw, user_id, include_removed=include_removed):
        shown = c.to_dict()
        table.add_row(
            str(c.id),
            c.kind,
            shown["target"],
            "muted" if c.digest_muted else "yes",
            "yes" if c.active else "removed",
            f"{c.created_at:%Y-%m-%d %H:%M}",
        )
    console.print(table)


@users_channel.command("remove", help="Remove a channel by its id; what it has not yet sent is not sent.")
@click.argument("channel_id", type=click.IntRange(1, 2**31 - 1))
@click.pass_context
def users_channel_remove(ctx: click.Context, channel_id: int) -> None:
    from engine.channels import remove_channel

    cw = ready(ctx)
    with operator_errors():
        channel = remove_channel(cw, channel_id)
    console.print(f"[green]removed[/] channel {channel.id} of {channel.user_id} ({channel.kind})")


COMMANDS = (orgs, users)
