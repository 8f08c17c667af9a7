"""Schema migrations through Alembic, driven from Casework's own settings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations

if TYPE_CHECKING:
    from engine.persons import Rekeyed
    from engine.service import Casework


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
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
    upgrade(cw.db)
    return rekey(cw)


def downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def pending(engine: Engine) -> list[str]:
    """Revisions not yet applied, oldest first (empty when up to date). An SQLite file that does not exist has
    none applied: asking does not create it."""
    script = ScriptDirectory.from_config(alembic_config(engine))
    database = engine.url.database
    if engine.url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not Path(database).exists():
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
