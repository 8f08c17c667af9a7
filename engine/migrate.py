"""Schema migrations through Alembic, driven from Casework's own settings.

Alembic is imported only to run or list migrations: every command first asks whether the schema is
current (`is_current`), and answering that from the version table and the scripts' text costs a
query, where importing Alembic would cost more than the rest of a short command.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text

import migrations

if TYPE_CHECKING:
    from alembic.config import Config

    from engine.persons import Rekeyed
    from engine.service import Casework

VERSIONS = Path(migrations.__file__).parent / "versions"


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def upgrade_store(cw: Casework) -> Rekeyed | None:
    """Migrate the schema, then re-key the person reservations if they were made under another key.

    Re-keying is a data migration that needs the installation's person key, which lives outside the
    database and so outside what an Alembic script sees; it runs in a transaction of its own and is
    repeated by the next upgrade if it did not finish. The key is read first: a key that cannot be used stops
    the upgrade before it changes anything."""
    from engine.persons import rekey

    cw.persons.secret  # noqa: B018
    upgrade(cw.sql_engine)
    return rekey(cw)


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def pending(engine: Engine) -> list[str]:
    """Revisions not yet applied, oldest first (empty when up to date). An SQLite file that does not exist has
    none applied: asking does not create it."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    if _no_sqlite_file(engine):
        current: set[str] = set()
    else:
        with engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    missing = []
    for rev in script.walk_revisions():
        if rev.revision in current:
            break
        missing.append(rev.revision)
    return list(reversed(missing))


def is_current(engine: Engine) -> bool:
    """Whether the database is at the newest revision: Alembic's version table against the heads the
    migration scripts declare (read as text). Like `pending`, it does not create a missing SQLite file."""
    if _no_sqlite_file(engine):
        return False
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        current = set(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return current == head_revisions()


def _no_sqlite_file(engine: Engine) -> bool:
    """An SQLite database whose file does not exist yet (connecting would create it, empty)."""
    database = engine.url.database
    return (
        engine.url.get_backend_name() == "sqlite"
        and database is not None
        and database not in ("", ":memory:")
        and not Path(database).exists()
    )


@cache
def head_revisions() -> frozenset[str]:
    """The revisions no other revises: what `alembic upgrade head` leads to."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        values = _assignments(script, ("revision", "down_revision"))
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            continue
        revisions.add(revision)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, tuple | list):  # a merge revision
            revised.update(str(d) for d in down)
    return frozenset(revisions - revised)


def _assignments(script: Path, names: tuple[str, ...]) -> dict[str, object]:
    """The literal values a script assigns at top level to `names` (`revision = "0004"`)."""
    found: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    return found
