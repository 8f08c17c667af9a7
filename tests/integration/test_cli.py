"""The casework CLI end to end on a real SQLite file."""

from __future__ import annotations

import json

import pytest


def test_commands_refuse_to_run_before_the_schema_exists(run) -> None:
    result = run("report", ok=False)
    assert result.exit_code != 0 and "casework db upgrade" in result.output


@pytest.mark.slow  # loads the demo (hundreds of cases)
def test_upgrade_demo_report_verify_rebuild_show_history(run, tmp_path) -> None:
    assert "schema up to date" in run("db", "upgrade").output
    assert (tmp_path / "casework.db").exists()
    assert "demo loaded" in run("demo", "--until", "2026-11-30").output  # a fixed year: the numbers below exist
    assert "demo skipped" in run("demo", "--if-empty").output
    figures = json.loads(run("report", "--format", "json").output)["figures"]
    assert int(figures["offers_written"]) >= 1 and int(figures["disputes_accepted"]) >= 1
    assert int(figures["hardship_registered"]) >= 1
    csv_lines = run("report", "--format", "csv", "--org", "suzhou").output.splitlines()
    assert csv_lines[0].startswith("\ufeffsection,metric,label_zh,label_en,total")  # a BOM for Excel and WPS
    assert "every chain intact" in run("verify").output
    assert "rebuilt" in run("rebuild").output
    shown = json.loads(run("show", "LD-2026-000001", "--role", "mediator").output)
    assert shown["number"] == "LD-2026-000001" and "clocks" in shown and "allowed_actions" in shown
    first = json.loads(run("show", "LD-2026-000001", "--version", "1").output)
    unknown = run("report", "--org", "suzhou.nowhere", ok=False)
    assert unknown.exit_code == 2 and "no org unit 'suzhou.nowhere'" in unknown.output
    for version, problem in (("999", "has no version 999; it is at version"), ("0", "versions start at 1")):
        refused = run("show", "LD-2026-000001", "--version", version, ok=False)
        assert refused.exit_code == 1 and problem in refused.output and "Traceback" not in refused.output
    assert first["stage"] == "filed" and first["version"] == 1
    history = json.loads(run("history", "LD-2026-000001", "--json").output)
    assert history[0]["event"] == "DisputeFiled" and history[0]["prev_hash"] == "0" * 64
    assert "1 case(s)" in run("verify", "LD-2026-000001").output


def test_unknown_case_and_bad_period_are_clear_errors(run) -> None:
    run("db", "upgrade")
    missing = run("show", "LD-2026-424242", ok=False)
    assert missing.exit_code == 1 and "no case LD-2026-424242" in missing.output
    bad = run("report", "--from", "2026-12-31", "--to", "2026-01-01", ok=False)
    assert bad.exit_code == 2 and "--from" in bad.output


def test_a_bad_policy_file_names_the_setting(run, tmp_path, monkeypatch) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('[clocks]\n"negotiation.reply" = 0\n', encoding="utf-8")
    monkeypatch.setenv("CASEWORK_POLICY_FILE", str(policy))
    result = run("db", "upgrade", ok=False)
    assert result.exit_code == 1 and "clocks.negotiation.reply.days must be a positive" in result.output


def test_a_policy_file_sets_the_escalation_per_rung(run, tmp_path, monkeypatch) -> None:
    from engine.config import load_policy

    policy = tmp_path / "policy.toml"
    policy.write_text('escalation = "confirm"\n', encoding="utf-8")
    modes = load_policy(policy).escalation
    assert not isinstance(modes, str) and set(modes.values()) == {"confirm"}
    policy.write_text('[escalation]\nacting_offer = "auto"\nrectification = "confirm"\n', encoding="utf-8")
    assert load_policy(policy).escalation == {"acting_offer": "auto", "rectification": "confirm", "referral": "auto"}
    policy.write_text('[escalation]\nrectification = "signed"\n', encoding="utf-8")
    monkeypatch.setenv("CASEWORK_POLICY_FILE", str(policy))
    result = run("db", "upgrade", ok=False)
    assert result.exit_code == 1
    assert "escalation.rectification must be 'auto' or 'confirm', got 'signed'" in result.output, result.output
    policy.write_text('[escalation]\ninspectorate = "confirm"\n', encoding="utf-8")
    result = run("db", "upgrade", ok=False)
    assert result.exit_code == 1 and "unknown rung 'inspectorate'" in result.output, result.output


def test_orgs_and_users_from_the_command_line(run, tmp_path) -> None:
    """The token is printed once, works against the real app, and is not stored in clear."""
    from api import create_app
    from engine.config import Settings
    from engine.service import Casework

    run("db", "upgrade")
    refused = run("orgs", "add", "suzhou.gusu", "姑苏区总工会", ok=False)
    assert refused.exit_code == 1 and "parent unit 'suzhou' does not exist" in refused.output
    assert "(city)" in run("orgs", "add", "suzhou", "苏州市总工会").output
    assert "(district)" in run("orgs", "add", "suzhou.gusu", "姑苏区总工会").output
    assert "already exists" in run("orgs", "add", "suzhou", "again", ok=False).output
    assert "suzhou.gusu" in run("orgs", "list").output
    bad_role = run("users", "add", "u-1", "--name", "x", "--role", "boss", "--org", "suzhou", ok=False)
    assert bad_role.exit_code == 2 and "boss" in bad_role.output
    added = run("users", "add", "u-1024", "--name", "张敏", "--role", "mediator", "--org", "suzhou.gusu")
    token = added.output.strip().splitlines()[-1]
    assert token.startswith("cw_")
    assert "u-1024" in run("users", "list", "--org", "suzhou").output
    assert token.encode() not in (tmp_path / "casework.db").read_bytes()

    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}))
    try:
        client = create_app(cw).test_client()
        me = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.get_json()["org_unit"] == "suzhou.gusu"
        new_token = run("users", "token", "u-1024").output.strip()
        assert client.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        assert client.get("/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
        run("users", "deactivate", "u-1024")
        assert client.get("/me", headers={"Authorization": f"Bearer {new_token}"}).status_code == 401
    finally:
        cw.close()


@pytest.mark.slow  # loads the demo (hundreds of cases)
def test_the_demo_makes_an_org_tree_and_one_user_per_role(run, tmp_path) -> None:
    from aggregates.stages import USER_ROLES

    run("db", "upgrade")
    run("demo")
    listed = run("users", "list").output
    for role in USER_ROLES:
        assert role in listed
    kept = [line.split("\t") for line in (tmp_path / "demo-tokens.txt").read_text().splitlines()]
    assert {role for _, role, _, _ in kept} == set(USER_ROLES)  # not `system`: that role is the scheduler's
    assert (tmp_path / "demo-tokens.txt").stat().st_mode & 0o077 == 0
    created = json.loads(run("users", "changes", "--json").output)
    expected = {(user_id, change, "demo") for user_id, *_ in kept for change in ("created", "password_set")}
    assert {(c["user_id"], c["change"], c["actor_id"]) for c in created} == expected
    from engine.config import Settings
    from engine.passwords import sign_in
    from engine.service import Casework

    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}))
    try:
        for user_id, _, _, password in kept:  # each demo user signs in to the workspace with the kept password
            signed_in = sign_in(cw, user_id, password).user
            assert signed_in is not None and signed_in.user_id == user_id
    finally:
        cw.close()


def test_account_changes_at_the_command_line_are_recorded_with_the_operators_login(run, monkeypatch) -> None:
    monkeypatch.setenv("LOGNAME", "ops.wang")
    run("db", "upgrade")
    for path, name in (("suzhou", "苏州市总工会"), ("suzhou.gusu", "姑苏区总工会"), ("suzhou.wuzhong", "吴中区总工会")):
        run("orgs", "add", path, name)
    refused = run("users", "add", "robot", "--name", "调度程序", "--role", "system", "--org", "suzhou", ok=False)
    assert refused.exit_code == 2 and "'system' is not one of" in refused.output
    run("users", "add", "u-1024", "--name", "张敏", "--role", "mediator", "--org", "suzhou.gusu")
    run("users", "add", "u-2048", "--name", "李强", "--role", "negotiator", "--org", "suzhou.wuzhong")
    run("users", "token", "u-1024")
    changed = run("users", "set", "u-1024", "--role", "supervisor", "--org", "suzhou.gusu")  # the unit is unchanged
    assert "supervisor, suzhou.gusu" in changed.output
    assert run("users", "set", "u-1024", "--role", "system", ok=False).exit_code == 2
    assert run("users", "set", "u-1024", ok=False).exit_code == 2  # nothing to change
    assert "no org unit 'suzhou.nowhere'" in run("users", "set", "u-1024", "--org", "suzhou.nowhere", ok=False).output
    run("users", "deactivate", "u-1024")
    run("users", "reactivate", "u-1024")
    assert "already reactivated" in run("users", "reactivate", "u-1024").output

    changes = json.loads(run("users", "changes", "u-1024", "--json").output)
    assert [(c["change"], c["actor_id"], c["actor_role"]) for c in changes] == [
        ("reactivated", "cli:ops.wang", "admin"),
        ("deactivated", "cli:ops.wang", "admin"),
        ("role_changed", "cli:ops.wang", "admin"),
        ("token_issued", "cli:ops.wang", "admin"),
        ("created", "cli:ops.wang", "admin"),
    ]
    assert changes[2]["detail"] == {"role": {"old": "mediator", "new": "supervisor"}} and changes[3]["detail"] == {}
    assert changes[0]["recorded_at"].endswith("+08:00")
    in_wuzhong = json.loads(run("users", "changes", "--org", "suzhou.wuzhong", "--json").output)
    assert [(c["user_id"], c["change"]) for c in in_wuzhong] == [("u-2048", "created")]
    assert len(json.loads(run("users", "changes", "--limit", "2", "--json").output)) == 2
    table = run("users", "changes", "u-2048").output
    assert "u-2048" in table and "created" in table and "李强" in table
    assert "no user 'nobody'" in run("users", "changes", "nobody", ok=False).output


def test_casework_run_starts_its_worker_and_api_as_this_same_program() -> None:
    """The children `casework run` starts (workflows/supervisor.py) are this command line, every command of it."""
    import subprocess

    from workflows.supervisor import casework_command

    done = subprocess.run(casework_command("--help"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {"api", "worker", "run", "show", "users", "campaign"} <= {
        line.split()[0] for line in done.stdout.split("Commands:")[1].splitlines() if line.strip()
    }


def test_verify_read_models_names_an_edited_row_and_exits_1(run) -> None:
    from sqlalchemy import update

    from engine.config import Settings
    from engine.service import Casework
    from engine.tables import case_index
    from tests.integration.scenarios import file_dispute

    run("db", "upgrade")
    cw = Casework(Settings.from_env())
    try:
        number = cw.get(file_dispute(cw).case_id).number
        file_dispute(cw)
        assert "read models match the events: " in run("verify", "--read-models").output
        with cw.write_transaction() as session:
            session.execute(update(case_index).where(case_index.c.number == number).values(org_unit="suzhou"))
    finally:
        cw.close()

    edited = run("verify", "--read-models", ok=False)
    assert edited.exit_code == 1 and "every chain intact" in edited.output
    assert "READ MODELS DIFFER FROM THE EVENTS: 1 difference(s)" in edited.output
    assert f"case_index, {number}: org_unit is suzhou, the events give suzhou.gusu" in edited.output
    assert "casework rebuild" in edited.output
    run("rebuild")
    assert "read models match the events" in run("verify", "--read-models").output
    refused = run("verify", number, "--read-models", ok=False)
    assert refused.exit_code == 2 and "give it without a case" in refused.output
