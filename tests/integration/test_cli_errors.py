"""Every bad setting or file given to the `casework` command line ends with one line naming the setting or file
and the problem, a non-zero exit status, and nothing written: never a traceback, never a silent default."""

from __future__ import annotations

import base64
import ctypes
import hashlib
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from cli import main
from tests.conftest import POSTGRES_URL, _check_postgres

CASEWORK = str(Path(sys.executable).with_name("casework"))
Setup = Callable[[Path], None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres(**parts: Any) -> str:
    """The test server's URL with some parts changed (another database, user, port)."""
    return make_url(POSTGRES_URL).set(**parts).render_as_string(hide_password=False)


def write(relative: str, content: bytes | str = b"", *, directory: bool = False) -> Setup:
    def setup(tmp: Path) -> None:
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if directory:
            path.mkdir()
        else:
            path.write_bytes(content.encode() if isinstance(content, str) else content)

    return setup


def policy(text: str, encoding: str = "utf-8") -> dict[str, Any]:
    """A case whose policy file holds `text`."""
    return {
        "env": {"CASEWORK_POLICY_FILE": "{tmp}/policy.toml"},
        "setup": write("policy.toml", text.encode(encoding)),
        "names": ("CASEWORK_POLICY_FILE", "policy.toml"),
    }


@dataclass(frozen=True)
class Bad:
    id: str
    names: tuple[str, ...]
    """What the one line must name (the setting or file, and the problem)."""
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ("db", "upgrade")
    setup: Setup | None = None
    postgres: bool = False

    def param(self) -> object:
        marks = [pytest.mark.postgres] if self.postgres else []
        return pytest.param(self, id=self.id, marks=marks)


def p(id: str, text: str, *problem: str, encoding: str = "utf-8", args: tuple[str, ...] = ("db", "upgrade")) -> Bad:
    case = policy(text, encoding)
    return Bad(id, (*case["names"], *problem), case["env"], args, case["setup"])


BAD = [
    # -- the database ---------------------------------------------------------------------------------------------
    Bad("url-scheme", ("CASEWORK_DATABASE_URL", "mysql"), {"CASEWORK_DATABASE_URL": "mysql://root@localhost/x"}),
    Bad(
        "url-port-not-a-number",
        ("CASEWORK_DATABASE_URL", "port"),
        {"CASEWORK_DATABASE_URL": "postgresql://postgres@127.0.0.1:fivefourthreetwo/test"},
    ),
    Bad("postgres-refused", ("127.0.0.1:{port}", "refused"), {"CASEWORK_DATABASE_URL": "{refused}"}),
    Bad(
        "postgres-refused-password-hidden",
        ("***", "127.0.0.1:{port}", "refused"),
        {"CASEWORK_DATABASE_URL": "postgresql://postgres:s3cret@127.0.0.1:{port}/test"},
        ("show", "LD-2026-000001"),
    ),
    Bad(
        "postgres-no-such-host",
        ("no-such-host.invalid",),
        {"CASEWORK_DATABASE_URL": "postgresql://postgres@no-such-host.invalid:5432/test"},
    ),
    Bad(
        "postgres-missing-database",
        ("/nope", 'database "nope" does not exist'),
        {"CASEWORK_DATABASE_URL": "{missing_database}"},
        postgres=True,
    ),
    Bad(
        "postgres-missing-role",
        ("nobody@", 'role "nobody" does not exist'),
        {"CASEWORK_DATABASE_URL": "{missing_role}"},
        ("report",),
        postgres=True,
    ),
    Bad(
        "data-dir-is-a-file",
        ("{tmp}/data", "a file, not a directory"),
        {"CASEWORK_DATA_DIR": "{tmp}/data"},
        setup=write("data", "a file"),
    ),
    Bad(
        "data-dir-under-a-file",
        ("{tmp}/file/data", "Not a directory"),
        {"CASEWORK_DATA_DIR": "{tmp}/file/data"},
        setup=write("file", "a file"),
    ),
    Bad(
        "database-is-a-directory",
        ("{data}/casework.db", "is a directory"),
        setup=write("data/casework.db", directory=True),
    ),
    Bad(
        "database-is-not-sqlite",
        ("{data}/casework.db", "not an SQLite database"),
        setup=write("data/casework.db", "name,credit_code\n" * 300),
    ),
    Bad(
        "database-is-not-sqlite-show",
        ("{data}/casework.db", "not an SQLite database"),
        args=("show", "LD-2026-000001"),
        setup=write("data/casework.db", bytes(range(256)) * 8),
    ),
    Bad(
        "person-key-file-is-a-directory",
        ("CASEWORK_PERSON_KEY", "{data}/person.key", "is a directory"),
        setup=write("data/person.key", directory=True),
    ),
    # -- other settings ------------------------------------------------------------------------------------------
    Bad("pool-size-word", ("CASEWORK_DB_POOL_SIZE", "whole number"), {"CASEWORK_DB_POOL_SIZE": "five"}),
    Bad("pool-size-zero", ("CASEWORK_DB_POOL_SIZE", "at least 1"), {"CASEWORK_DB_POOL_SIZE": "0"}),
    Bad(
        "connect-timeout-word", ("CASEWORK_DB_CONNECT_TIMEOUT", "whole number"), {"CASEWORK_DB_CONNECT_TIMEOUT": "soon"}
    ),
    Bad("connect-timeout-zero", ("CASEWORK_DB_CONNECT_TIMEOUT", "at least 2"), {"CASEWORK_DB_CONNECT_TIMEOUT": "0"}),
    Bad("password-memory-tiny", ("CASEWORK_PASSWORD_MEMORY_KIB", "at least 32"), {"CASEWORK_PASSWORD_MEMORY_KIB": "8"}),
    Bad("timezone-unknown", ("CASEWORK_TIMEZONE", "Mars/Olympus"), {"CASEWORK_TIMEZONE": "Mars/Olympus"}),
    Bad("timezone-a-path", ("CASEWORK_TIMEZONE",), {"CASEWORK_TIMEZONE": "../../etc/passwd"}, ("report",)),
    Bad("cipher-key-not-base64", ("CASEWORK_CIPHER_KEY", "base64"), {"CASEWORK_CIPHER_KEY": "not a key!"}),
    Bad(
        "cipher-key-wrong-length",
        ("CASEWORK_CIPHER_KEY", "5 bytes"),
        {"CASEWORK_CIPHER_KEY": base64.b64encode(b"short").decode()},
        ("show", "LD-2026-000001"),
    ),
    Bad("person-key-short", ("CASEWORK_PERSON_KEY", "at least 32 characters"), {"CASEWORK_PERSON_KEY": "secret"}),
    Bad("api-port-word", ("CASEWORK_API_PORT", "'http'"), {"CASEWORK_API_PORT": "http"}, ("api",)),
    Bad("api-port-too-big", ("CASEWORK_API_PORT", "70000"), {"CASEWORK_API_PORT": "70000"}, ("api",)),
    Bad("api-workers-word", ("CASEWORK_API_WORKERS", "'many'"), {"CASEWORK_API_WORKERS": "many"}, ("api",)),
    Bad("api-threads-zero", ("CASEWORK_API_THREADS", "0"), {"CASEWORK_API_THREADS": "0"}, ("api",)),
    Bad("api-keepalive-word", ("CASEWORK_API_KEEPALIVE", "'long'"), {"CASEWORK_API_KEEPALIVE": "long"}, ("api",)),
    Bad(
        "token-cache-negative",
        ("CASEWORK_TOKEN_CACHE_SECONDS", "0 to 3600"),
        {"CASEWORK_TOKEN_CACHE_SECONDS": "-5"},
        ("show", "LD-2026-000001"),
    ),
    Bad("prefect-port-word", ("CASEWORK_PREFECT_PORT", "'x'"), {"CASEWORK_PREFECT_PORT": "x"}, ("run",)),
    Bad("worker-limit-word", ("CASEWORK_WORKER_LIMIT", "'lots'"), {"CASEWORK_WORKER_LIMIT": "lots"}, ("worker",)),
    Bad(
        "schedule-word",
        ("CASEWORK_SCHEDULE_ESCALATION", "every tuesday"),
        {"CASEWORK_SCHEDULE_ESCALATION": "every tuesday", "PREFECT_API_URL": "http://127.0.0.1:{port}/api"},
        ("worker",),
    ),
    Bad(
        "schedule-run",
        ("CASEWORK_SCHEDULE_LEGAL_CLOCKS", "at least 5 seconds"),
        {"CASEWORK_SCHEDULE_LEGAL_CLOCKS": "1s"},
        ("run", "--no-demo"),
    ),
    Bad(
        "schedule-bad-cron",
        ("CASEWORK_SCHEDULE_VERIFY", "cron"),
        {"CASEWORK_SCHEDULE_VERIFY": "99 2 * * *"},
        ("run", "--no-demo"),
    ),
    # -- the policy file -----------------------------------------------------------------------------------------
    Bad(
        "policy-missing",
        ("CASEWORK_POLICY_FILE", "{tmp}/nowhere.toml", "No such file"),
        {"CASEWORK_POLICY_FILE": "{tmp}/nowhere.toml"},
    ),
    Bad(
        "policy-a-directory",
        ("CASEWORK_POLICY_FILE", "{tmp}/policy.toml"),
        {"CASEWORK_POLICY_FILE": "{tmp}/policy.toml"},
        setup=write("policy.toml", directory=True),
    ),
    p("policy-not-toml", "max_backdate_days = \n", "not valid TOML"),
    p("policy-gbk", "# 苏州市总工会\nmax_backdate_days = 10\n", "UTF-8", encoding="gbk"),
    p("policy-utf16", "max_backdate_days = 10\n", "UTF-8", encoding="utf-16"),
    p("backdate-word", 'max_backdate_days = "thirty"\n', "max_backdate_days", "'thirty'"),
    p("backdate-negative", "max_backdate_days = -5\n", "max_backdate_days", "-5"),
    p("backdate-fraction", "max_backdate_days = 2.5\n", "max_backdate_days", "2.5"),
    p("backdate-boolean", "max_backdate_days = true\n", "max_backdate_days", "True"),
    p("backdate-huge", "max_backdate_days = 1000000000\n", "max_backdate_days", "1000000000"),
    p("cap-word", '[annual_caps]\nliving = "lots"\n', "annual_caps.living", "'lots'", args=("report",)),
    p("cap-negative", "[annual_caps]\nliving = -100\n", "annual_caps.living", "-100"),
    p("cap-not-a-number", "[annual_caps]\nmedical = nan\n", "annual_caps.medical", "nan"),
    p("caps-not-a-table", "annual_caps = 5\n", "annual_caps", "table"),
    p("cap-unknown", "[annual_caps]\nluxury = 5\n", "annual_caps", "'luxury'"),
    p("clocks-not-a-table", "clocks = 5\n", "clocks", "table"),
    p("clock-unknown", '[clocks]\n"negotiation.answer" = 20\n', "'negotiation.answer'", "negotiation.reply"),
    p("clock-zero", '[clocks]\n"negotiation.reply" = 0\n', "clocks.negotiation.reply.days", "0"),
    p("clock-word", '[clocks]\n"negotiation.reply" = "20"\n', "clocks.negotiation.reply.days", "'20'"),
    p("clock-boolean", '[clocks]\n"negotiation.reply" = true\n', "clocks.negotiation.reply.days", "True"),
    p(
        "clock-working-days-word",
        '[clocks]\n"dispute.acceptance" = { days = 3, working_days = "no" }\n',
        "clocks.dispute.acceptance.working_days",
        "true or false",
        "'no'",
    ),
    p(
        "clock-unknown-key",
        '[clocks]\n"dispute.acceptance" = { days = 3, workdays = true }\n',
        "clocks.dispute.acceptance",
        "'workdays'",
    ),
    p("holidays-not-a-list", "holidays = 5\n", "holidays", "list of dates"),
    p("holidays-a-string", 'extra_workdays = "2026-09-27"\n', "extra_workdays", "list of dates"),
    p("holiday-not-a-date", 'holidays = ["2026-13-01"]\n', "holidays", "'2026-13-01'"),
    p("holiday-a-time", "holidays = [2026-10-01T09:00:00]\n", "holidays", "2026-10-01 09:00:00"),
    p("escalation-word", 'escalation = "sometimes"\n', "escalation", "'sometimes'"),
    p("escalation-number", "escalation = 5\n", "escalation", "5"),
    p("unknown-setting", "max_backdate_day = 10\n", "'max_backdate_day'", "max_backdate_days"),
]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment (no CASEWORK_ or PREFECT_ setting from outside) with the data directory in tmp_path."""
    for name in list(os.environ):
        if name.startswith(("CASEWORK_", "PREFECT_API_URL")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path / "data"))
    port = free_port()
    return {
        "tmp": str(tmp_path),
        "data": str(tmp_path / "data"),
        "port": str(port),
        "refused": postgres(port=port),
        "missing_database": postgres(database="nope"),
        "missing_role": postgres(username="nobody"),
    }


def snapshot(root: Path) -> dict[str, str]:
    """Every file and directory under root with a digest of its content: what 'nothing written' compares."""
    if not root.exists():
        return {}
    found = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def assert_one_line(output: str, names: list[str]) -> str:
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), output
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


@pytest.mark.parametrize("bad", [b.param() for b in BAD])
def test_a_bad_setting_or_file_is_one_line_naming_it(
    bad: Bad, world: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if bad.postgres and _check_postgres():
        pytest.skip("PostgreSQL unreachable")
    if bad.setup:
        bad.setup(tmp_path)
    for name, value in bad.env.items():
        monkeypatch.setenv(name, value.format(**world))
    before = snapshot(tmp_path)
    result = CliRunner().invoke(main, list(bad.args), catch_exceptions=False)
    assert result.exit_code not in (0, None), result.output
    line = assert_one_line(result.output, [n.format(**world) for n in bad.names])
    assert "s3cret" not in line
    assert snapshot(tmp_path) == before, "something was written"


def test_the_table_covers_forty_bad_inputs() -> None:
    assert len(BAD) >= 40 and len({b.id for b in BAD}) == len(BAD)


# -- as a separate process: a server that never answers, a directory this user may not write ----------------------


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A local port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    server.close()


def casework(
    *args: str, env: dict[str, str], as_a_user: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed `casework` command; `as_a_user`: without root's power to write where the modes forbid."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "PREFECT_API_URL"))}
    return subprocess.run(
        [CASEWORK, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=tempfile.gettempdir(),
        preexec_fn=_without_override if as_a_user else None,
    )


def _without_override() -> None:
    """Drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from root's bounding set, so modes bind it as any user."""
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "cannot drop a capability")


@pytest.mark.slow  # waits out the 2-second connect timeout
def test_a_server_that_never_answers_is_given_up_on_after_the_connect_timeout(
    silent_server: int, tmp_path: Path
) -> None:
    url = f"postgresql://postgres@127.0.0.1:{silent_server}/test"
    done = casework(
        "db",
        "upgrade",
        env={
            "CASEWORK_DATABASE_URL": url,
            "CASEWORK_DB_CONNECT_TIMEOUT": "2",
            "CASEWORK_DATA_DIR": str(tmp_path / "data"),
        },
    )
    assert done.returncode == 1 and done.stdout == ""
    assert_one_line(done.stderr, [f"127.0.0.1:{silent_server}", "no answer within 2 s", "CASEWORK_DB_CONNECT_TIMEOUT"])


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({}, ["CASEWORK_PERSON_KEY", "{data}/person.key", "Permission denied"]),  # the key file is made first
        ({"CASEWORK_PERSON_KEY": "k" * 32}, ["{data}/casework.db", "the directory {data} is not writable"]),
    ],
    ids=["person-key-file", "database-file"],
)
def test_a_data_directory_this_user_may_not_write_is_named(
    env: dict[str, str], names: list[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o555)
    try:
        done = casework("db", "upgrade", env={"CASEWORK_DATA_DIR": str(data), **env}, as_a_user=True)
        assert done.returncode == 1, done.stderr
        assert_one_line(done.stderr, [n.format(data=data) for n in names])
        assert list(data.iterdir()) == []
    finally:
        data.chmod(0o755)


@pytest.mark.slow  # waits for Prefect to give up on a server
def test_a_prefect_server_that_cannot_be_reached_is_named(
    world: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"], catch_exceptions=False).exit_code == 0
    url = f"http://127.0.0.1:{world['port']}/api"
    monkeypatch.setenv("PREFECT_API_URL", url)
    # Prefect reads its settings once, when first imported: in a session that imported it earlier (collecting
    # the flow tests does), the setting must reach Prefect's own settings too, or the worker would start a
    # temporary server of its own and serve forever.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}):
        result = runner.invoke(main, ["worker"], catch_exceptions=False)
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert "Traceback" not in result.output and len(lines) == 1, result.output
    assert f"PREFECT_API_URL {url}: the Prefect server cannot be reached" in lines[0]


def test_a_failed_migration_leaves_the_database_as_it_was(tmp_path: Path, world: dict[str, str]) -> None:
    """A database holding a table the first migration creates: the upgrade fails as a whole, one line."""
    database = tmp_path / "data" / "casework.db"
    database.parent.mkdir()
    with sqlite3.connect(database) as connection:
        connection.execute("create table org_units (path text primary key)")
    connection.close()
    result = CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    assert result.exit_code == 1
    assert_one_line(result.output, [str(database), "org_units"])
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("select name from sqlite_master where type = 'table'")}
    connection.close()
    assert tables == {"org_units"}
