"""`casework checkpoint`: signed checkpoints of the whole event store, their verification and inclusion proofs.

`check-proof` needs no database: an auditor runs it with the proof, the exported checkpoint and the public key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli.common import console, ready, rich_table

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def _public_key(value: str | None) -> Ed25519PublicKey | None:
    """A public key given on the command line: base64, PEM, or a file holding either (or an exported checkpoint)."""
    from engine.checkpoints import Checkpoint, CheckpointError, public_key_from_text

    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        content = path.read_text(encoding="utf-8")
        if content.lstrip().startswith("{"):
            try:
                content = Checkpoint.from_export(json.loads(content)).public_key
            except ValueError as e:
                raise click.ClickException(f"{path}: {e}") from e
        value = content
    try:
        return public_key_from_text(value)
    except CheckpointError as e:
        raise click.ClickException(f"--public-key: {e}") from e


def _exported(path: Path) -> Any:
    from engine.checkpoints import Checkpoint, CheckpointError, read_json_file

    try:
        return Checkpoint.from_export(read_json_file(path))
    except CheckpointError as e:
        raise click.ClickException(f"{path}: {e}") from e


def _write(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        console.print(f"written to {output}")


@click.group(help="Signed checkpoints of the whole event store: what an insider cannot rewrite unnoticed.")
def checkpoint() -> None:
    pass


@checkpoint.command("create", help="Sign the tree over every event stored so far (reads only the new ones).")
@click.pass_context
def create(ctx: click.Context) -> None:
    from engine.checkpoints import make_checkpoint

    made = make_checkpoint(ready(ctx))
    c = made.checkpoint
    console.print(
        f"[green]checkpoint {c.id}[/]: {c.tree_size} events ({made.added} new), root {c.root_hash}, key {c.key_id}",
        highlight=False,
        soft_wrap=True,
    )
    if made.sent is False:
        console.print("[yellow]warning[/]: CASEWORK_CHECKPOINT_WEBHOOK did not take the export (see the log)")


@checkpoint.command("list", help="Every checkpoint: its size, root, time and key.")
@click.pass_context
def list_(ctx: click.Context) -> None:
    from engine.checkpoints import checkpoints_of

    table = rich_table(title="checkpoints")
    for column in ("id", "events", "root hash", "created (UTC)", "key"):
        table.add_column(column)
    for c in checkpoints_of(ready(ctx)):
        table.add_row(str(c.id), str(c.tree_size), c.root_hash, c.created_at, c.key_id)
    console.print(table)


@checkpoint.command(
    "verify",
    help="Recompute the tree from the stored events and hold every checkpoint (and an exported one) to it.",
)
@click.option(
    "--against",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint exported earlier and kept outside the database.",
)
@click.option(
    "--public-key",
    help="The key to trust (base64, PEM, or a file of either); default: this installation's checkpoint key.",
)
@click.pass_context
def verify(ctx: click.Context, against: Path | None, public_key: str | None) -> None:
    from engine.checkpoints import verify_store_checkpoints

    given = _exported(against) if against else None
    result = verify_store_checkpoints(ready(ctx), against=given, public_key=_public_key(public_key))
    if result.ok and not result.checkpoints:
        console.print("[yellow]no checkpoint has been made yet[/]: nothing to verify; run: casework checkpoint create")
        return
    if result.ok:
        also = f"; {result.against} matches" if result.against else ""
        console.print(
            f"[green]verified[/]: {result.checkpoints} checkpoint(s) over {result.events} events; every signature, "
            f"root and consistency proof holds{also}",
            highlight=False,
            soft_wrap=True,
        )
        return
    bad = f" (first bad checkpoint: {result.first_bad_checkpoint})" if result.first_bad_checkpoint else ""
    console.print(f"[red bold]CHECKPOINTS DO NOT MATCH[/]{bad}", highlight=False)
    for problem in result.problems:
        console.print(f"  {problem}", highlight=False, markup=False, soft_wrap=True)
    sys.exit(1)


@checkpoint.command("export", help="A checkpoint (default: the latest) as JSON, to keep outside the database.")
@click.argument("checkpoint_id", metavar="[ID]", type=int, required=False)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write it to this file.")
@click.pass_context
def export(ctx: click.Context, checkpoint_id: int | None, output: Path | None) -> None:
    from engine.checkpoints import CheckpointError, checkpoint_export

    try:
        data = checkpoint_export(ready(ctx), checkpoint_id)
    except CheckpointError as e:
        raise click.ClickException(str(e)) from e
    _write(json.dumps(data, indent=2), output)


@checkpoint.command("prove", help="An inclusion proof of one event (case number and version) in the latest checkpoint.")
@click.argument("case")
@click.argument("version", type=click.IntRange(1))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write it to this file.")
@click.pass_context
def prove(ctx: click.Context, case: str, version: int, output: Path | None) -> None:
    from engine.checkpoints import CheckpointError, prove_event

    cw = ready(ctx)
    try:
        proof = prove_event(cw.sql_engine, cw.resolve(case), version)
    except CheckpointError as e:
        raise click.ClickException(f"{case} v{version}: {e}") from e
    _write(json.dumps(proof, indent=2), output)


@checkpoint.command(
    "check-proof",
    help="Check an inclusion proof on its own, with no database: the event, its path to the root, the signature.",
)
@click.argument("proof_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The exported checkpoint you kept: the proof must be for it.",
)
@click.option("--public-key", help="The key to trust (base64, PEM, or a file of either).")
def check_proof_command(proof_file: Path, checkpoint_file: Path | None, public_key: str | None) -> None:
    from engine.checkpoints import CheckpointError, check_proof, public_key_from_text, read_json_file

    kept = _exported(checkpoint_file) if checkpoint_file else None
    trusted = _public_key(public_key)
    try:
        if trusted is None and kept is not None:
            trusted = public_key_from_text(kept.public_key)
        proof = read_json_file(proof_file)
        named = check_proof(proof, checkpoint=kept, public_key=trusted)
    except CheckpointError as e:
        raise click.ClickException(f"{proof_file}: {e}") from e
    event = proof["event"]
    trust = "" if public_key or kept else f" (compare key {named.key_id} with the one you trust)"
    console.print(
        f"[green]proved[/]: event v{event['originator_version']} of case {event['originator_id']} is leaf "
        f"{proof['leaf_index']} of checkpoint {named.id} ({named.tree_size} events, root {named.root_hash[:16]}…), "
        f"signed by key {named.key_id}{trust}",
        highlight=False,
        soft_wrap=True,
    )


COMMANDS = (checkpoint,)
