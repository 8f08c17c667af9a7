"""The dossier as a PDF over HTTP: for the roles that may export the CSV dossier, masked for the caller and naming
them; refused to everyone else; a 409 for a case whose chain is broken, as every read of it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from uuid import UUID

from aggregates.stages import USER_ROLES
from engine.access import PERMISSIONS
from engine.dossier_pdf import check_dossier, read_printed
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, dispute
from tests.integration.tamper import flip_byte


def _case(api: ApiWorld) -> dict:
    med = api["mediator"]
    case = med.post(collection("labor_dispute"), dispute()).get_json()
    assert med.post(command_path("labor_dispute", case["case_id"], "accept"), {}).status_code == 200
    assert med.post(command_path("labor_dispute", case["case_id"], "add-note"), {"text": "电话回访"}).status_code == 200
    return case


def test_the_pdf_dossier_is_for_the_roles_of_the_csv_dossier_masked_for_them(api: ApiWorld, tmp_path: Path) -> None:
    case = _case(api)
    path = f"/cases/{case['number']}/dossier.pdf"
    for role in USER_ROLES:
        caller = next(c for c in api.callers.values() if c.role == role and c.org_unit == "suzhou.gusu")
        response = caller.get(path)
        if role not in PERMISSIONS["export_dossier"]:
            assert set(check_error(response, 403, "forbidden")["roles"]) == PERMISSIONS["export_dossier"], role
            continue
        assert response.status_code == 200 and response.mimetype == "application/pdf", role
        assert response.headers["Content-Disposition"] == f'attachment; filename="{case["number"]}-dossier.pdf"'
        printed = read_printed(response.get_data())
        assert (printed.number, printed.role) == (case["number"], role)
        assert check_dossier(api.cw, case["number"], role=role, sha256=printed.sha256).matches
        file = tmp_path / f"{role}.pdf"
        file.write_bytes(response.get_data())
        text = subprocess.run(["pdftotext", str(file), "-"], check=True, capture_output=True).stdout.decode()
        assert "案件卷宗" in text and case["number"] in text and printed.sha256 in text and caller.user_id in text
        assert ("王建国" in text) is (role == "supervisor")  # the auditor's copy is masked, as the CSV is
    assert api["supervisor"].get(f"/cases/{case['case_id']}/dossier.pdf").status_code == 200
    check_error(api["supervisor"].get("/cases/LD-2026-424242/dossier.pdf"), 404, "not_found")


def test_a_tampered_case_has_no_pdf_dossier_and_its_printed_one_does_not_match(api: ApiWorld) -> None:
    case = _case(api)
    printed = read_printed(api["auditor"].get(f"/cases/{case['number']}/dossier.pdf").get_data())
    flip_byte(api.cw, UUID(case["case_id"]), 2)
    body = check_error(api["auditor"].get(f"/cases/{case['number']}/dossier.pdf"), 409, "broken_chain")
    assert (body["case"], body["version"]) == (case["number"], 2)
    result = check_dossier(api.cw, case["number"], role="auditor", sha256=printed.sha256)
    assert not result.matches and result.current is None and "hash chain is broken at version 2" in str(result.problem)
