"""SQLAlchemy engine set-up shared by the event store and the read models.

On SQLite, write transactions start with BEGIN IMMEDIATE, so two commands never read a
stale case and then race to write it; readers are never blocked (WAL mode).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, TextClause, bindparam, create_engine, event, or_, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session

from engine.config import ConfigurationError, Settings

BUSY_TIMEOUT_SECONDS = 30
"""How long a SQLite writer waits for another to finish before it gets 'database is locked'."""

_write_intent: ContextVar[bool] = ContextVar("casework_write_intent", default=False)

READS_ONLY = "casework_reads_only"
"""The execution option of a SQLite connection that only reads: it begins no transaction, so each statement reads
what is committed when it runs (WAL mode), as a PostgreSQL read in autocommit does, without BEGIN and ROLLBACK."""


@contextmanager
def write_intent() -> Iterator[None]:
    """Transactions begun inside this block take SQLite's write lock up front."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def create_db_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            directory = Path(url.database).parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                problem = "it is a file, not a directory" if directory.is_file() else f"cannot make it: {e.strerror}"
                raise ConfigurationError(f"database directory {directory}: {problem}") from None
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    # The whole attempt to connect is bounded: a server that accepts and never answers is given up on.
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": settings.connect_timeout}
    engine = create_engine(
        url, pool_size=settings.pool_size, max_overflow=settings.pool_size, connect_args=connect_args
    )
    event.listen(engine.pool, "checkin", _idle_from_now)
    event.listen(engine.pool, "checkout", _ping_if_idle)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0
"""A pooled connection unused for longer is tested before it is handed out (a server restarted, or a firewall that
dropped it, meanwhile): the first request after a quiet spell still gets a working connection. Connections in
steady use, handed out again within milliseconds, are not: SQLAlchemy's pool_pre_ping would cost every transaction a
round trip, one of the few a command makes."""


def _idle_from_now(dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    since = record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
        dbapi_connection.rollback()  # hand it out outside any transaction, as the pool found it
    except Exception as e:  # the pool then replaces it with a new connection and tries again
        raise DisconnectionError(f"a pooled connection idle for {time.monotonic() - since:.0f} s is gone") from e


def database_problem(error: BaseException, settings: Settings) -> str:
    """One line for an operator: which database could not be used and why, in words they can act on.

    `error` is what SQLAlchemy raised (OperationalError, InterfaceError, DatabaseError). The driver's message is
    kept, on one line, with what can be told beyond it: a directory where the file should be, a file that is not
    SQLite, a directory this user may not write, a server that never answered."""
    url = make_url(settings.database_url)
    detail = " ".join(str(getattr(error, "orig", None) or error).split())
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if path.is_dir():
            detail = "it is a directory, not a database file"
        elif "file is not a database" in detail:
            detail = "the file is not an SQLite database"
        elif not os.access(path.parent, os.W_OK):
            detail = f"{detail}: the directory {path.parent} is not writable by this user"
        elif path.exists() and not os.access(path, os.W_OK):
            detail = f"{detail}: the file is not writable by this user"
        return f"database {path}: {detail}"
    if "timeout expired" in detail:
        seconds = url.query.get("connect_timeout", settings.connect_timeout)
        detail = f"no answer within {seconds} s (CASEWORK_DB_CONNECT_TIMEOUT); is a PostgreSQL server at that port?"
    return f"database {url.render_as_string(hide_password=True)}: {detail}"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not BEGIN on its own
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _write_intent.get():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif not connection.get_execution_options().get(READS_ONLY):
            connection.exec_driver_sql("BEGIN")


def dialect_insert(session: Session, table: Table) -> Any:
    """An INSERT that supports ON CONFLICT on both SQLite and PostgreSQL."""
    from sqlalchemy.dialects import postgresql, sqlite  # here: a command line on SQLite never loads PostgreSQL's

    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def in_unit(column: Any, unit: str) -> Any:
    """SQL condition: an org-unit path column is `unit` or a unit below it (`unit.*`)."""
    return or_(column == unit, column.startswith(unit + ".", autoescape=True))


TOGETHER_ROWS = 64
"""Up to how many rows `write_rows` writes in one statement: a command's few. A rebuild's page of a thousand cases
goes table by table, as executemany batches, and the statements cached stay few and small."""


@dataclass(frozen=True)
class Rows:
    """Rows for one table, for `write_rows`: inserted, or with `keys` upserted (each other column replaced, or added
    to for `accumulate`; a row whose columns are all keys is left as it is). Every row has the same columns."""

    table: Table
    rows: Sequence[Mapping[str, Any]]
    keys: tuple[str, ...] = ()
    accumulate: tuple[str, ...] = ()

    @property
    def shape(self) -> tuple[Table, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        return self.table, tuple(self.rows[0]), self.keys, self.accumulate


def _insert_sql(
    table: Table, columns: tuple[str, ...], keys: tuple[str, ...], accumulate: tuple[str, ...], names: list[list[str]]
) -> str:
    """INSERT of one row per item of `names` (each row's parameter names, in the order of `columns`)."""
    quoted = ", ".join(f'"{n}"' for n in columns)
    values = ", ".join("(" + ", ".join(f":{p}" for p in row) + ")" for row in names)
    sql = f'INSERT INTO "{table.name}" ({quoted}) VALUES {values}'
    if keys:
        sets = ", ".join(
            f'"{n}" = "{table.name}"."{n}" + excluded."{n}"' if n in accumulate else f'"{n}" = excluded."{n}"'
            for n in columns
            if n not in keys
        )
        target = ", ".join(f'"{k}"' for k in keys)
        sql += f" ON CONFLICT ({target}) " + (f"DO UPDATE SET {sets}" if sets else "DO NOTHING")
    return sql


@cache
def _one_row(table: Table, columns: tuple[str, ...], keys: tuple[str, ...], accumulate: tuple[str, ...]) -> TextClause:
    """The statement for one row of `columns`, run once per row (executemany). Built once with typed parameters, so
    SQLAlchemy caches its compiled form: the dialects' on_conflict_do_update constructs are recompiled on every
    execution, which costs more than the statement itself on a one-event command."""
    sql = _insert_sql(table, columns, keys, accumulate, [list(columns)])
    return text(sql).bindparams(*(bindparam(n, type_=table.c[n].type) for n in columns))


@lru_cache(maxsize=256)
def _together(shapes: tuple[tuple[Table, tuple[str, ...], tuple[str, ...], tuple[str, ...], int], ...]) -> TextClause:
    """One statement writing every part: all but the last as data-modifying WITH clauses (PostgreSQL)."""
    sqls, params = [], []
    for i, (table, columns, keys, accumulate, count) in enumerate(shapes):
        names = [[f"w{i}_{r}_{n}" for n in columns] for r in range(count)]
        sqls.append(_insert_sql(table, columns, keys, accumulate, names))
        params += [bindparam(p, type_=table.c[n].type) for row in names for p, n in zip(row, columns, strict=True)]
    head = ", ".join(f"w{i} AS ({sql})" for i, sql in enumerate(sqls[:-1]))
    return text(f"WITH {head} {sqls[-1]}" if head else sqls[-1]).bindparams(*params)


def write_rows(session: Session, parts: Sequence[Rows]) -> None:
    """Write every part's rows in one round trip on PostgreSQL, as one statement: a command's whole write is one
    round trip instead of one per table. Its parts see one snapshot, so no two parts may write the same row. On
    SQLite, where a statement costs no round trip, and for more than `TOGETHER_ROWS` rows, each part is one
    executemany of a cached statement."""
    parts = [p for p in parts if p.rows]
    if not parts:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql" or sum(len(p.rows) for p in parts) > TOGETHER_ROWS:
        for part in parts:  # one row as one execute: executemany costs SQLAlchemy more
            connection.execute(_one_row(*part.shape), part.rows[0] if len(part.rows) == 1 else list(part.rows))
        return
    shapes = tuple((*part.shape, len(part.rows)) for part in parts)
    values = {f"w{i}_{r}_{n}": row[n] for i, part in enumerate(parts) for r, row in enumerate(part.rows) for n in row}
    connection.execute(_together(shapes), values)


def upsert(table: Table, keys: tuple[str, ...], accumulate: tuple[str, ...] = ()) -> TextClause:
    """INSERT ... ON CONFLICT (keys) DO UPDATE for every other column (added to, for `accumulate`), one row per
    execution: the same SQL on SQLite and PostgreSQL, compiled once."""
    return _one_row(table, tuple(c.name for c in table.columns), keys, accumulate)
