"""The casework CLI end to end on a real SQLite file."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from engine.cli import main


@pytest.fixture
def run(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CASEWORK_DATABASE_URL", raising=False)
    monkeypatch.delenv("CASEWORK_CIPHER_KEY", raising=False)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):  # noqa: ANN202
        result = runner.invoke(main, list(args), catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_commands_refuse_to_run_before_the_schema_exists(run) -> None:  # noqa: ANN001
    result = run("report", ok=False)
    assert result.exit_code != 0 and "casework db upgrade" in result.output


def test_upgrade_demo_report_verify_rebuild_show_history(run, tmp_path) -> None:  # noqa: ANN001
    assert "schema up to date" in run("db", "upgrade").output
    assert (tmp_path / "casework.db").exists()
    assert "demo loaded" in run("demo").output
    assert "demo skipped" in run("demo", "--if-empty").output
    figures = json.loads(run("report", "--format", "json").output)["figures"]
    assert int(figures["offers_written"]) >= 1 and int(figures["disputes_accepted"]) >= 1
    assert int(figures["hardship_registered"]) >= 1
    csv_lines = run("report", "--format", "csv", "--org", "suzhou").output.splitlines()
    assert csv_lines[0].startswith("section,metric,label_zh,label_en,total")
    assert "every chain intact" in run("verify").output
    assert "rebuilt" in run("rebuild").output
    shown = json.loads(run("show", "LD-2026-000001", "--role", "mediator").output)
    assert shown["number"] == "LD-2026-000001" and "clocks" in shown and "allowed_actions" in shown
    first = json.loads(run("show", "LD-2026-000001", "--version", "1").output)
    assert first["stage"] == "filed" and first["version"] == 1
    history = json.loads(run("history", "LD-2026-000001", "--json").output)
    assert history[0]["event"] == "DisputeFiled" and history[0]["prev_hash"] == "0" * 64
    assert "1 case(s)" in run("verify", "LD-2026-000001").output


def test_unknown_case_and_bad_period_are_clear_errors(run) -> None:  # noqa: ANN001
    run("db", "upgrade")
    missing = run("show", "LD-2026-424242", ok=False)
    assert missing.exit_code == 1 and "no case LD-2026-424242" in missing.output
    bad = run("report", "--from", "2026-12-31", "--to", "2026-01-01", ok=False)
    assert bad.exit_code == 2 and "--from" in bad.output


def test_a_bad_policy_file_names_the_setting(run, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    policy = tmp_path / "policy.toml"
    policy.write_text('[clocks]\n"negotiation.reply" = 0\n', encoding="utf-8")
    monkeypatch.setenv("CASEWORK_POLICY_FILE", str(policy))
    result = run("db", "upgrade", ok=False)
    assert result.exit_code == 1 and "clocks.negotiation.reply.days must be a positive" in result.output
