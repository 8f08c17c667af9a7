"""What a short command line loads: no Prefect, Flask, Alembic or rich unless the command needs them, and only
the case type it reads. Whether the schema is current is answered without Alembic, and answered right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Settings
from engine.migrate import VERSIONS, downgrade, head_revisions, is_current, pending, upgrade
from engine.registry import BY_PREFIX, CASE_TYPES, case_type
from engine.service import Casework
from tests.integration.scenarios import file_dispute

HEAVY = ("prefect", "flask", "granian", "alembic", "rich", "schemathesis")


def loaded_after(code: str, env: dict[str, str] | None = None) -> dict[str, list[str]]:
    """Run `code` in a fresh interpreter; which of the heavy packages and which aggregate modules it loaded."""
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps({{'heavy': sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})), "
        f"'aggregates': sorted(m for m in sys.modules if m.startswith('aggregates.'))}}))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "PREFECT_"))}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, env={**clean, **(env or {})}
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_command_line_loads_no_heavy_package() -> None:
    assert loaded_after("import cli")["heavy"] == []


def test_show_loads_only_the_case_type_it_shows_and_no_heavy_package(tmp_path: Path) -> None:
    env = {"CASEWORK_DATA_DIR": str(tmp_path)}
    cw = Casework(Settings.from_env(env))
    try:
        upgrade(cw.sql_engine)
        number = file_dispute(cw).number
    finally:
        cw.close()
    loaded = loaded_after(
        "import contextlib, io\nfrom cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main(['show', {number!r}], standalone_mode=False)",
        env,
    )
    assert loaded["heavy"] == []
    assert [m for m in loaded["aggregates"] if m in {c.__module__ for c in CASE_TYPES.values()}] == [
        "aggregates.labor_dispute"
    ]


def test_the_registry_names_each_type_as_the_type_names_itself() -> None:
    assert {kind: cls.KIND for kind, cls in CASE_TYPES.items()} == {kind: kind for kind in CASE_TYPES}
    assert {prefix: cls.PREFIX for prefix, cls in BY_PREFIX.items()} == {prefix: prefix for prefix in BY_PREFIX}
    assert list(CASE_TYPES) == ["labor_dispute", "wage_negotiation", "rectification_proposal", "hardship"]
    assert "XX" not in BY_PREFIX and "WN" in BY_PREFIX
    with pytest.raises(KeyError):
        CASE_TYPES["nothing"]
    with pytest.raises(ValueError, match="unknown case kind 'nothing'"):
        case_type("nothing")


def test_the_heads_read_from_the_scripts_are_alembics() -> None:
    from alembic.script import ScriptDirectory

    assert head_revisions() == frozenset(ScriptDirectory(str(VERSIONS.parent)).get_heads())


def test_the_schema_is_current_only_at_the_newest_revision(database_url: str, tmp_path: Path) -> None:
    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_DATABASE_URL": database_url}))
    try:
        assert not is_current(cw.sql_engine)  # nothing applied (and on SQLite, no file made by asking)
        assert cw.sql_engine.url.get_backend_name() != "sqlite" or not (tmp_path / "casework.db").exists()
        upgrade(cw.sql_engine)
        assert is_current(cw.sql_engine) and pending(cw.sql_engine) == []
        downgrade(cw.sql_engine, "-1")  # one revision back: only the newest is pending
        assert not is_current(cw.sql_engine) and pending(cw.sql_engine) == sorted(head_revisions())
    finally:
        cw.close()
