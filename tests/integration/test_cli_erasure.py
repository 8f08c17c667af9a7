"""`casework person erase`: one line for a refusal, a confirmation unless --yes, and the erasure recorded."""

from __future__ import annotations

from engine.audit import history
from engine.config import Settings
from engine.service import Casework
from tests.integration.scenarios import CASEWORKER, hardship_application

ID = "320506197502030026"


def test_a_top_supervisor_erases_a_person_from_the_command_line(run) -> None:
    run("db", "upgrade")
    run("orgs", "add", "suzhou", "苏州市总工会")
    run("users", "add", "sup-top", "--name", "市总督查", "--role", "supervisor", "--org", "suzhou")
    cw = Casework(Settings.from_env())
    try:
        opened = cw.open_case("hardship", CASEWORKER, **hardship_application(org_unit="suzhou"))
        usage = run("person", "erase", "--as", "sup-top", "--reason", "本人申请删除", ok=False)
        assert usage.exit_code == 2 and "either --id-number, or --case and --person" in usage.output
        still_open = run(
            "person", "erase", "--as", "sup-top", "--reason", "本人申请删除", "--id-number", ID, "--yes", ok=False
        )
        assert still_open.exit_code == 1 and opened.number in still_open.output and "Traceback" not in still_open.output
        cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="撤回")
        declined = run(
            "person", "erase", "--as", "sup-top", "--reason", "本人申请删除", "--id-number", ID, ok=False, answer="n\n"
        )
        assert declined.exit_code == 1 and "Aborted" in declined.output
        assert history(cw, opened.number)[-1].action == "withdraw"
        done = run("person", "erase", "--as", "sup-top", "--reason", "本人申请删除", "--id-number", ID, answer="y\n")
        assert f"recorded on {opened.number}" in done.output
        assert cw.get(opened.number).worker["erased"] is True  # type: ignore[attr-defined]
        nobody = run("person", "erase", "--as", "nobody", "--reason", "x", "--id-number", ID, "--yes", ok=False)
        assert nobody.exit_code == 2 and "no active user 'nobody'" in nobody.output
    finally:
        cw.close()
