"""casework sweep: what is due and what the sweep did, each by its case and its trigger."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from aggregates.base import DEFAULT_TZ
from cli import main
from engine.config import Settings
from engine.migrate import upgrade
from engine.service import Casework
from tests.integration.scenarios import file_dispute


def test_the_sweep_command_lists_what_is_due_and_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    for name in ("CASEWORK_DATABASE_URL", "CASEWORK_CIPHER_KEY", "CASEWORK_PERSON_KEY", "CASEWORK_POLICY_FILE"):
        monkeypatch.delenv(name, raising=False)
    cw = Casework(Settings.from_env())
    try:
        upgrade(cw.sql_engine)
        filed = file_dispute(cw, occurred_at=datetime.now(DEFAULT_TZ) - timedelta(days=20))  # acceptance overdue
    finally:
        cw.close()
    runner = CliRunner()
    listed = runner.invoke(main, ["sweep", "legal", "--dry-run"], catch_exceptions=False, terminal_width=200)
    assert listed.exit_code == 0, listed.output
    assert filed.number in listed.output and "acceptance" in listed.output
    swept = runner.invoke(main, ["sweep", "legal"], catch_exceptions=False, terminal_width=200)
    assert swept.exit_code == 0, swept.output
    assert filed.number in swept.output and "acceptance" in swept.output and "alerted" in swept.output
