"""Shared plumbing for the benchmark scripts: isolated databases, timing statistics, output.

Every run isolates itself. On SQLite it works in a fresh temporary directory; on PostgreSQL
it creates a fresh schema `bench_<hex>` and points every connection at it with the URL query
`options=-csearch_path=<schema>`, then drops that schema at the end, also after a failure or
Ctrl-C. The public schema is never touched.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rich.console import Console
from rich.table import Table

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_POSTGRES_URL = os.environ.get("CASEWORK_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA_PATTERN = re.compile(r"^bench_[0-9a-f]{12}$")

console = Console(width=None if sys.stdout.isatty() else 200)


# -- command line ----------------------------------------------------------------------------


def add_database_arguments(parser: Any, cipher_help: str | None = None) -> None:
    group = parser.add_argument_group("databases")
    group.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL server to measure on; a fresh schema is created in it and dropped afterwards "
        "(default: $CASEWORK_BENCH_POSTGRES_URL or %(default)s)",
    )
    group.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    group.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    group.add_argument(
        "--cipher",
        action="store_true",
        help=cipher_help
        or "run the engine with an encrypted event store (CASEWORK_CIPHER_KEY = "
        "AESCipher.create_key(32)); the anchor stays as it is",
    )


def selected_backends(args: Any) -> list[str]:
    kinds = []
    if not args.no_sqlite:
        kinds.append("sqlite")
    if not args.no_postgres:
        kinds.append("postgresql")
    return kinds


def reachable_backends(args: Any) -> tuple[list[str], list[str]]:
    """The databases to measure on (`selected_backends`), less an unreachable PostgreSQL, and a line for each one
    skipped (also printed)."""
    kinds = selected_backends(args)
    skipped: list[str] = []
    if "postgresql" in kinds and (problem := postgres_problem(args.postgres_url)):
        kinds.remove("postgresql")
        skipped.append(f"PostgreSQL skipped: {args.postgres_url} unreachable ({problem})")
        console.print(f"[yellow]{skipped[-1]}[/]")
    return kinds, skipped


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks drop the bench schema."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def credit_code(n: int) -> str:
    """A distinct valid unified social credit code per enterprise (the engine checks the check digit)."""
    from stdnum.cn import uscc

    body = f"91320500MA{n % 10**7:07d}"  # warm-up cases count down from -1
    return body + uscc.calc_check_digit(body + "0")


def new_cipher_key() -> str:
    from eventsourcing.cryptography import AESCipher

    return AESCipher.create_key(32)


class AnchorUnavailable(RuntimeError):
    """The anchor's recorder cannot run here (a missing optional dependency)."""


# -- isolated databases ----------------------------------------------------------------------


@dataclass
class Backend:
    """One isolated database: a fresh SQLite directory or a fresh PostgreSQL schema."""

    kind: str  # "sqlite" or "postgresql"
    workdir: Path  # a private temporary directory (the SQLite files live here; CASEWORK_DATA_DIR)
    url: str  # SQLAlchemy URL for Casework
    schema: str | None = None
    server: dict[str, Any] = field(default_factory=dict)  # PostgreSQL connection parameters

    @property
    def label(self) -> str:
        return "SQLite (file)" if self.kind == "sqlite" else "PostgreSQL"

    def settings(self, cipher_key: str | None = None) -> Any:
        from engine.config import Settings

        env = {"CASEWORK_DATA_DIR": str(self.workdir), "CASEWORK_DATABASE_URL": self.url}
        if cipher_key:
            env["CASEWORK_CIPHER_KEY"] = cipher_key
        return Settings.from_env(env)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "workdir": str(self.workdir),
            "url": self.url,
            "schema": self.schema,
            "server": self.server,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Backend:
        return cls(
            kind=data["kind"],
            workdir=Path(data["workdir"]),
            url=data["url"],
            schema=data["schema"],
            server=data["server"],
        )

    # -- the anchor: eventsourcing's own recorders on the same database ---------------------

    @contextmanager
    def core_recorder(self) -> Iterator[Any]:
        """eventsourcing's bare application recorder on this database (table `stored_events`)."""
        if self.kind == "sqlite":
            from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

            datastore: Any = SQLiteDatastore(str(self.workdir / "anchor.db"))
            recorder: Any = SQLiteApplicationRecorder(datastore)
        else:
            try:
                from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
            except ModuleNotFoundError as e:  # eventsourcing.postgres needs psycopg_pool
                raise AnchorUnavailable(
                    f"eventsourcing.postgres cannot be imported ({e}); install it with: "
                    ".venv/bin/pip install psycopg-pool"
                ) from e

            s = self.server
            datastore = PostgresDatastore(
                s["dbname"],
                s["host"],
                s["port"],
                s["user"],
                s["password"],
                schema=self.schema or "",
            )
            recorder = PostgresApplicationRecorder(datastore)
        try:
            recorder.create_table()
            yield recorder
        finally:
            datastore.close()


def _sqlalchemy_url(url: str) -> str:
    from engine.config import normalise_database_url

    return normalise_database_url(url)


def _libpq_url(url: str) -> str:
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)


@contextmanager
def isolated_backend(kind: str, postgres_url: str = DEFAULT_POSTGRES_URL) -> Iterator[Backend]:
    """A fresh database of `kind`, removed afterwards whatever happens."""
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    try:
        if kind == "sqlite":
            yield Backend(kind="sqlite", workdir=workdir, url=f"sqlite:///{workdir / 'casework.db'}")
            return
        with _fresh_schema(postgres_url) as (schema, server):
            base = _sqlalchemy_url(postgres_url)
            sep = "&" if "?" in base else "?"
            url = f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
            yield Backend(kind="postgresql", workdir=workdir, url=url, schema=schema, server=server)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@contextmanager
def _fresh_schema(postgres_url: str) -> Iterator[tuple[str, dict[str, Any]]]:
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    libpq = _libpq_url(postgres_url)
    parsed = make_url(_sqlalchemy_url(postgres_url))
    server = {
        "dbname": parsed.database or "postgres",
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password or "",
    }
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    assert SCHEMA_PATTERN.match(schema)
    with psycopg.connect(libpq, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        yield schema, server
    finally:
        assert SCHEMA_PATTERN.match(schema), schema  # never anything but our own schema
        with psycopg.connect(libpq, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def postgres_problem(postgres_url: str) -> str | None:
    """Why PostgreSQL cannot be used (None when it can)."""
    try:
        import psycopg

        with psycopg.connect(_libpq_url(postgres_url), connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except Exception as e:
        return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''}"
    return None


def open_engine(backend: Backend, cipher_key: str | None = None, migrate: bool = True) -> Any:
    """A Casework engine on `backend`, schema migrated."""
    from engine.migrate import upgrade
    from engine.service import Casework

    cw = Casework(backend.settings(cipher_key))
    if migrate:
        upgrade(cw.sql_engine)
    return cw


# -- statistics ---------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted sequence (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class LatencyStats:
    """Single-threaded timings of one operation: each call timed on its own."""

    n: int
    total_s: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def ops_per_s(self) -> float:
        return self.n / self.total_s if self.total_s else float("nan")

    @classmethod
    def of(cls, seconds: Sequence[float]) -> LatencyStats:
        values = sorted(seconds)
        total = sum(values)
        return cls(
            n=len(values),
            total_s=total,
            p50_ms=percentile(values, 50) * 1e3,
            p99_ms=percentile(values, 99) * 1e3,
            mean_ms=(total / len(values) * 1e3) if values else 0.0,
            max_ms=(values[-1] * 1e3) if values else 0.0,
        )


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# -- output ---------------------------------------------------------------------------------------


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], caption: str | None = None) -> None:
    table = Table(title=title, caption=caption, caption_justify="left")
    for i, name in enumerate(columns):
        table.add_column(name, justify="left" if i < 2 else "right")
    for row in rows:
        table.add_row(*[_cell(v) for v in row])
    console.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def plain(tag: str, **fields: Any) -> str:
    """One machine-greppable result line: `RESULT tag key=value ...`."""
    parts = [f"RESULT {tag}"]
    for key, value in fields.items():
        if isinstance(value, float):
            value = "nan" if math.isnan(value) else f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
        parts.append(f"{key}={value}")
    return " ".join(parts)


def environment_line() -> str:
    import platform

    import eventsourcing
    import sqlalchemy

    try:
        from importlib.metadata import version

        es_version = version("eventsourcing")
        es_sa_version = version("eventsourcing-sqlalchemy")
    except Exception:
        es_version, es_sa_version = getattr(eventsourcing, "__version__", "?"), "?"
    return (
        f"python {platform.python_version()}, eventsourcing {es_version}, eventsourcing-sqlalchemy "
        f"{es_sa_version}, SQLAlchemy {sqlalchemy.__version__}, {os.cpu_count()} CPUs, {platform.platform()}"
    )


def dump_json(data: Any) -> str:
    return json.dumps(data, default=str, separators=(",", ":"))
