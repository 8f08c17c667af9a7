"""`casework checkpoint` end to end on a real SQLite file: create, list, export, verify, prove and check a proof."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.config import Settings
from engine.service import Casework
from tests.integration.scenarios import MEDIATOR, file_dispute
from tests.integration.tamper import rewrite_event


def _cases(tmp_path: Path, count: int) -> list[str]:
    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}))
    try:
        numbers = []
        for _ in range(count):
            opened = file_dispute(cw)
            cw.execute(opened.case_id, "accept", MEDIATOR)
            numbers.append(opened.number)
        return numbers
    finally:
        cw.close()


def test_create_list_export_verify_prove_and_check_the_proof_without_a_database(
    run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run("db", "upgrade")
    refused = run("checkpoint", "export", ok=False)
    assert refused.exit_code == 1 and "no checkpoint has been made yet" in refused.output
    assert "no checkpoint has been made yet" in run("checkpoint", "verify").output
    first, second = _cases(tmp_path, 2)
    assert "checkpoint 1: 4 events (4 new)" in run("checkpoint", "create").output
    assert (tmp_path / "checkpoint.key").stat().st_mode & 0o777 == 0o600
    _cases(tmp_path, 1)
    assert "6 events (2 new)" in run("checkpoint", "create").output
    listed = run("checkpoint", "list").output
    assert "checkpoints" in listed and " 4 " in listed and " 6 " in listed
    kept = tmp_path / "kept.json"
    run("checkpoint", "export", "-o", str(kept))
    exported = json.loads(kept.read_text())
    assert exported["tree_size"] == 6 and exported["format"] == "casework-checkpoint/1"
    assert json.loads(run("checkpoint", "export", "1").output)["tree_size"] == 4
    assert "every signature, root and consistency proof holds" in run("checkpoint", "verify").output
    assert "matches" in run("checkpoint", "verify", "--against", str(kept)).output
    proof = tmp_path / "proof.json"
    run("checkpoint", "prove", second, "2", "-o", str(proof))

    # The auditor's machine: no database at all, only the proof, the kept checkpoint and the public key.
    monkeypatch.setenv("CASEWORK_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    checked = run("checkpoint", "check-proof", str(proof), "--checkpoint", str(kept)).output
    assert "proved" in checked and "event v2" in checked and exported["key_id"] in checked
    assert "proved" in run("checkpoint", "check-proof", str(proof), "--public-key", exported["public_key"]).output
    changed = json.loads(proof.read_text())
    changed["event"]["originator_version"] = 1
    proof.write_text(json.dumps(changed))
    refused = run("checkpoint", "check-proof", str(proof), "--checkpoint", str(kept), ok=False)
    assert refused.exit_code == 1 and "is not in the checkpoint's tree" in refused.output
    assert "Traceback" not in refused.output and len(refused.output.strip().splitlines()) == 1
    monkeypatch.delenv("CASEWORK_DATABASE_URL")

    cw = Casework(Settings.from_env({"CASEWORK_DATA_DIR": str(tmp_path)}))
    try:
        rewrite_event(cw, cw.resolve(first), 2, actor_id="someone-else")
    finally:
        cw.close()
    assert "every chain intact" in run("verify").output
    broken = run("checkpoint", "verify", ok=False)
    assert broken.exit_code == 1 and "CHECKPOINTS DO NOT MATCH" in broken.output
    assert f"first event that no longer matches: case {first}" in broken.output and "v2" in broken.output
    assert "first bad checkpoint: 1" in broken.output


def test_a_key_file_others_may_read_is_refused_in_one_line(run, tmp_path: Path) -> None:
    run("db", "upgrade")
    key = tmp_path / "checkpoint.key"
    key.write_text("not a key\n")
    key.chmod(0o644)
    refused = run("checkpoint", "create", ok=False)
    assert refused.exit_code == 1 and "chmod 600" in refused.output and "Traceback" not in refused.output
