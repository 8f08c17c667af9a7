"""Shared fixtures: a real SQLite file and a real PostgreSQL schema per test, a hand-set business clock.

PostgreSQL comes from CASEWORK_TEST_POSTGRES_URL (default: the local server on 127.0.0.1:5432,
database `test`). Without a reachable server those tests are skipped with a notice — except
under CI=true, where an unreachable PostgreSQL fails the run.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy
from flask import Flask

from aggregates.base import DEFAULT_TZ
from bootstrap import http_app
from engine.clock import FixedClock
from engine.config import MIN_PASSWORD_MEMORY_KIB, Settings, normalise_database_url
from engine.migrate import is_current, upgrade
from engine.service import Casework
from web.app import session_key

POSTGRES_URL = normalise_database_url(
    os.environ.get("CASEWORK_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
)
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_postgres_problem: str | None = None

# Folders and files whose every test is slow by its nature; `pytest -m "not slow"` leaves them out.
SLOW = {
    "workflows": "flows on Prefect's test server",
    "e2e": "the whole service started as real processes",
    "browser": "a real Chromium drives the workspace over HTTP",
    "api/test_schemathesis.py": "fuzzes every operation of the OpenAPI document",
    "integration/test_dossier_pdf.py": "renders PDFs with weasyprint (about a second each)",
    "api/test_dossier_pdf.py": "renders PDFs with weasyprint",
    "web/test_dossier_pdf.py": "renders PDFs with weasyprint",
}
_SLOW_PATHS = [Path(__file__).parent / path for path in SLOW]


def _check_postgres() -> str | None:
    try:
        engine = sqlalchemy.create_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text("select 1"))
        engine.dispose()
    except Exception as e:  # any failure means "not reachable"
        return f"{type(e).__name__}: {str(e).splitlines()[0]}"
    return None


def pytest_configure(config: pytest.Config) -> None:
    global _postgres_problem
    _postgres_problem = _check_postgres()
    if _postgres_problem and IN_CI:
        raise pytest.UsageError(f"CI=true but PostgreSQL at {POSTGRES_URL} is unreachable: {_postgres_problem}")


def pytest_report_header(config: pytest.Config) -> str:
    if _postgres_problem:
        return f"PostgreSQL tests SKIPPED: {POSTGRES_URL} unreachable ({_postgres_problem})"
    return f"PostgreSQL tests run against {POSTGRES_URL} (a fresh schema per test)"


def pytest_itemcollected(item: pytest.Item) -> None:
    if any(item.path == path or path in item.path.parents for path in _SLOW_PATHS):
        item.add_marker(pytest.mark.slow)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Under `-m "not slow"` (alone or joined by `and`), the slow folders and files are not even imported:
    collecting them costs seconds (schemathesis builds the app's document, the flow tests import Prefect)."""
    if collection_path in _SLOW_PATHS and _every_slow_test_deselected(config.getoption("markexpr") or ""):
        return True
    return None  # not False, which would override --ignore and the other hooks


def _every_slow_test_deselected(markexpr: str) -> bool:
    words = markexpr.replace("(", " ( ").replace(")", " ) ").split()
    if "or" in words or "(" in words:
        return False
    conjuncts = " ".join(words).split(" and ")
    return "not slow" in conjuncts


@pytest.fixture
def start_time() -> datetime:
    return datetime(2026, 3, 2, 9, 0, tzinfo=DEFAULT_TZ)  # a Monday


@pytest.fixture
def clock(start_time: datetime) -> FixedClock:
    return FixedClock(start_time)


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per test process, for copying."""
    path = tmp_path_factory.mktemp("migrated") / "casework.db"
    engine = sqlalchemy.create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection closed: the WAL is folded into the file
    return path


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A file of this test's own: none yet; or, for a test that asks for the migrated service `cw`, a copy of the
    process's migrated file (a copy takes well under a millisecond, migrating ~20 ms)."""
    path = tmp_path / "casework.db"
    if "cw" in request.fixturenames:
        shutil.copyfile(request.getfixturevalue("migrated_sqlite_file"), path)
    return f"sqlite:///{path}"


def _schema_url(schema: str) -> str:
    sep = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[sqlalchemy.Engine]:
    """A connection to the test server for making and dropping the tests' schemas."""
    if _postgres_problem:
        pytest.skip(f"PostgreSQL unreachable: {_postgres_problem}")
    admin = sqlalchemy.create_engine(POSTGRES_URL)
    yield admin
    admin.dispose()


_SCHEMA_OBJECTS = sqlalchemy.text(
    """
    select 'relation ' || relname || ' ' || cast(relkind as text) from pg_class
        where relnamespace = cast(:schema as regnamespace)
    union all
    select 'column ' || pg_class.relname || '.' || attname || ' ' || format_type(atttypid, atttypmod) || ' '
        || cast(attnotnull as text) || ' ' || coalesce(pg_get_expr(adbin, adrelid), '')
        from pg_attribute join pg_class on pg_class.oid = attrelid
        left join pg_attrdef on adrelid = attrelid and adnum = attnum
        where relnamespace = cast(:schema as regnamespace) and attnum > 0 and not attisdropped
    union all
    select 'constraint ' || conname from pg_constraint where connamespace = cast(:schema as regnamespace)
    union all
    select 'trigger ' || tgname from pg_trigger join pg_class on pg_class.oid = tgrelid
        where relnamespace = cast(:schema as regnamespace) and not tgisinternal
    union all
    select 'function ' || proname from pg_proc where pronamespace = cast(:schema as regnamespace)
    """
)


class MigratedSchema:
    """A schema migrated once per test process and emptied after each test that used it: what a new schema and
    `upgrade` give, for a DELETE a table instead of creating every table and dropping them again (~60 ms a test). A
    test that leaves the schema in another shape (another revision, a table, column, trigger or function more or
    less) gets it dropped, and the next one a new one."""

    def __init__(self, admin: sqlalchemy.Engine) -> None:
        self.admin = admin
        self.schema: str | None = None
        self.shape: tuple[frozenset[str], str] | None = None

    def _shape(self, connection: sqlalchemy.Connection) -> tuple[frozenset[str], str]:
        """Every object of the schema (tables, columns, indexes, sequences, constraints, triggers, functions) and
        the revision it is at: a test that added a trigger or dropped a column leaves another shape."""
        objects = connection.execute(_SCHEMA_OBJECTS, {"schema": self.schema}).scalars()
        versions = connection.execute(sqlalchemy.text(f'select version_num from "{self.schema}".alembic_version'))
        return frozenset(objects), ",".join(sorted(versions.scalars()))

    def lend(self) -> Iterator[str]:
        if self.schema is None:
            self.schema = f"m_{uuid.uuid4().hex[:12]}"
            with self.admin.begin() as connection:
                connection.execute(sqlalchemy.text(f'create schema "{self.schema}"'))
            engine = sqlalchemy.create_engine(_schema_url(self.schema))
            upgrade(engine)
            engine.dispose()
            with self.admin.connect() as connection:
                self.shape = self._shape(connection)
        yield _schema_url(self.schema)
        with self.admin.begin() as connection:
            connection.execute(sqlalchemy.text("set local lock_timeout = '10s'"))
            if self._shape(connection) == self.shape:
                # DELETE, not TRUNCATE: on a few rows it is ~10 times faster (TRUNCATE makes every table anew)
                connection.execute(sqlalchemy.text("set local session_replication_role = replica"))  # no FK order
                tables = connection.execute(
                    sqlalchemy.text("select tablename from pg_tables where schemaname = :schema"),
                    {"schema": self.schema},
                ).scalars()
                for table in set(tables) - {"alembic_version"}:
                    connection.execute(sqlalchemy.text(f'delete from "{self.schema}"."{table}"'))
                sequences = connection.execute(
                    sqlalchemy.text("select sequencename from pg_sequences where schemaname = :schema"),
                    {"schema": self.schema},
                ).scalars()
                for sequence in sequences:
                    connection.execute(sqlalchemy.text(f'alter sequence "{self.schema}"."{sequence}" restart'))
                return
            connection.execute(sqlalchemy.text(f'drop schema "{self.schema}" cascade'))
            self.schema = None

    def drop(self) -> None:
        if self.schema is not None:
            with self.admin.begin() as connection:
                connection.execute(sqlalchemy.text(f'drop schema "{self.schema}" cascade'))


@pytest.fixture(scope="session")
def migrated_schema(postgres_admin: sqlalchemy.Engine) -> Iterator[MigratedSchema]:
    schema = MigratedSchema(postgres_admin)
    yield schema
    schema.drop()


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, postgres_admin: sqlalchemy.Engine) -> Iterator[str]:
    """A schema on the test server of this test's own: a new one, dropped afterwards; or, for a test that asks for
    the migrated service `cw`, the process's migrated schema, emptied afterwards."""
    if "cw" in request.fixturenames:
        yield from request.getfixturevalue("migrated_schema").lend()
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with postgres_admin.begin() as connection:
        connection.execute(sqlalchemy.text(f'create schema "{schema}"'))
    try:
        yield _schema_url(schema)
    finally:
        with postgres_admin.begin() as connection:
            connection.execute(sqlalchemy.text(f'drop schema "{schema}" cascade'))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each integration test runs on a real SQLite file and on a real PostgreSQL schema."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


CHEAP_PASSWORDS = {"CASEWORK_PASSWORD_MEMORY_KIB": str(MIN_PASSWORD_MEMORY_KIB)}
"""Tests hash passwords with argon2id at its least memory: ~0.1 ms a hash instead of ~90 ms at the default."""


def make_settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    env = {"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_DATABASE_URL": database_url, **CHEAP_PASSWORDS}
    return Settings.from_env(env, **overrides)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


@pytest.fixture
def cw(settings: Settings, clock: FixedClock) -> Iterator[Casework]:
    service = Casework(settings, clock)
    if not is_current(service.sql_engine):
        upgrade(service.sql_engine)
    yield service
    service.close()


@pytest.fixture(scope="session")
def process_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """One app per test process, built as `casework api` builds it. Building one (every route, the OpenAPI
    document) takes ~80 ms: paid once here instead of by each of the hundreds of API and workspace tests."""
    home = tmp_path_factory.mktemp("app")
    service = Casework(make_settings(home, f"sqlite:///{home / 'casework.db'}"))
    yield http_app(service)
    service.close()


@pytest.fixture
def app(process_app: Flask, cw: Casework) -> Flask:
    """The process's app over this test's service: its database, and the session key its installation derives."""
    process_app.extensions["casework"] = cw
    process_app.secret_key = session_key(cw)
    return process_app
