"""Personal data over HTTP: the person key never leaves the engine, one person is one person whatever digits
their number is typed in, a duplicate names only what the caller may see, and CSV files are safe to open."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest
from sqlalchemy import select

from aggregates.stages import USER_ROLES
from engine.access import PERMISSIONS
from engine.tables import person_reservations
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, count_rows, csv_rows, hardship, id_number

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _reservation_keys(api: ApiWorld) -> list[str]:
    with api.cw.read_transaction() as session:
        return list(session.execute(select(person_reservations.c.person_key)).scalars())


def test_the_person_key_is_a_secret_of_the_installation_kept_outside_the_database(api: ApiWorld) -> None:
    created = api["caseworker"].post(collection("hardship"), hardship(1))
    assert created.status_code == 201
    [key] = _reservation_keys(api)
    number = id_number(1)
    assert key != hmac.new(b"casework-person-key", number.encode(), hashlib.sha256).hexdigest()  # not a constant
    assert key == hmac.new(api.cw.persons.secret, number.encode(), hashlib.sha256).hexdigest()
    path = api.cw.settings.data_dir / "person.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip().encode() == api.cw.persons.secret
    assert len(api.cw.persons.secret) >= 32


def test_the_person_key_is_in_no_read_for_any_role(api: ApiWorld) -> None:
    """History, as-of, the case, the dossier and errors: neither the key nor anything named person_key."""
    created = api["caseworker"].post(collection("hardship"), hardship(1)).get_json()
    ref = created["number"]
    api["caseworker"].post(command_path("hardship", created["case_id"], "add_note"), {"text": "电话联系"})
    [key] = _reservation_keys(api)
    duplicate = api["city_supervisor"].post(collection("hardship"), hardship(1))
    reads = [duplicate]
    for role in USER_ROLES:
        caller = api[role]
        for path in (
            f"/cases/{ref}",
            f"/cases/{ref}/history",
            f"/cases/{ref}/as-of?version=1",
            f"/cases/{ref}/dossier.csv",
        ):
            response = caller.get(path)
            if path.endswith("dossier.csv") and role not in PERMISSIONS["export_dossier"]:
                assert response.status_code == 403
            reads.append(response)
    assert sum(r.status_code == 200 for r in reads) >= 2 * len(USER_ROLES)
    for response in reads:
        body = response.get_data(as_text=True)
        assert key not in body and "person_key" not in body, (response.request.path, body[:200])


@pytest.mark.parametrize("digits", [FULL_WIDTH, ARABIC_INDIC], ids=["full-width", "arabic-indic"])
def test_the_same_number_in_other_digits_is_the_same_person(api: ApiWorld, digits: dict[int, str]) -> None:
    first = api["caseworker"].post(collection("hardship"), hardship(1))
    assert first.status_code == 201
    before = count_rows(api.cw)
    typed = id_number(1).translate(digits)
    assert typed != id_number(1)
    again = api["caseworker"].post(collection("hardship"), hardship(1, worker={"name": "李秀英", "id_number": typed}))
    check_error(again, 409, "duplicate_person")
    assert count_rows(api.cw) == before
    other = api["caseworker"].post(
        collection("hardship"), hardship(2, worker={"name": "张伟", "id_number": id_number(2).translate(digits)})
    )
    assert other.status_code == 201
    assert other.get_json()["details"]["worker"]["id_number"] == id_number(2)  # stored in ASCII digits


def test_an_id_number_typed_in_groups_is_stored_without_the_spaces(api: ApiWorld) -> None:
    number = id_number(3)
    grouped = " ".join([number[:6], number[6:14], number[14:]]) + " "
    created = api["caseworker"].post(collection("hardship"), hardship(3, worker={"name": "王芳", "id_number": grouped}))
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["details"]["worker"]["id_number"] == number


def test_a_number_that_fails_its_check_digit_is_a_422_naming_the_field(api: ApiWorld) -> None:
    good = id_number(1)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")
    before = count_rows(api.cw)
    body = check_error(
        api["caseworker"].post(collection("hardship"), hardship(1, worker={"name": "李秀英", "id_number": wrong})), 422
    )
    assert list(body["fields"]) == ["worker.id_number"] and "check digit" in body["fields"]["worker.id_number"]
    bad_code = {"name": "苏州示例精密机械有限公司", "credit_code": "91320500MA1XXXXXX1"}
    body = check_error(
        api["mediator"].post(
            collection("labor_dispute"),
            {
                "employer": bad_code,
                "applicants": [{"name": "王建国", "id_number": good}],
                "workers_involved": 1,
                "claims": [{"category": "wages", "amount": "100"}],
            },
        ),
        422,
    )
    assert list(body["fields"]) == ["employer.credit_code"] and "check digit" in body["fields"]["employer.credit_code"]
    assert count_rows(api.cw) == before


def test_a_credit_code_typed_with_spaces_reaches_the_engine_and_is_stored_without_them(api: ApiWorld) -> None:
    """The request schema left no room for the spaces the engine takes out: a code as printed on a licence,
    in groups of four, was refused for its length."""
    spaced = "9132 0500 MA1X XXXX XC"
    opened = api["mediator"].post(
        collection("labor_dispute"),
        {
            "employer": {"name": "苏州示例精密机械有限公司", "credit_code": spaced},
            "applicants": [{"name": "王建国"}],
            "workers_involved": 1,
            "claims": [{"category": "wages", "amount": "100"}],
        },
    )
    assert opened.status_code == 201, opened.get_json()
    assert opened.get_json()["details"]["employer"]["credit_code"] == "91320500MA1XXXXXXC"
    offered = api["negotiator"].post(
        collection("wage_negotiation"),
        {
            "enterprise": {"name": "苏州示例电子有限公司", "credit_code": spaced},
            "issuing_union": "姑苏区总工会",
            "document_number": "姑工要〔2026〕1号",
        },
    )
    assert offered.status_code == 201, offered.get_json()
    assert offered.get_json()["details"]["enterprise"]["credit_code"] == "91320500MA1XXXXXXC"


def test_a_duplicate_names_the_other_case_only_to_a_caller_who_may_see_it(api: ApiWorld) -> None:
    away = api["city_supervisor"].post(collection("hardship"), hardship(1, org_unit="suzhou.wuzhong"))
    assert away.status_code == 201
    number = away.get_json()["number"]
    hidden = check_error(api["caseworker"].post(collection("hardship"), hardship(1)), 409, "duplicate_person")
    assert number not in str(hidden) and "wuzhong" not in str(hidden)
    assert "existing_case" not in hidden and "existing_org_unit" not in hidden
    assert "another union" in hidden["message"]
    seen = check_error(api["city_supervisor"].post(collection("hardship"), hardship(1)), 409, "duplicate_person")
    assert seen["existing_case"] == number and seen["existing_org_unit"] == "suzhou.wuzhong"
    assert number in seen["message"]


FORMULAS = ['=HYPERLINK("http://example.invalid","点此")', "+1+1", "-2+3", "@SUM(A1:A2)"]


def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(api: ApiWorld) -> None:
    created = (
        api["mediator"]
        .post(
            collection("labor_dispute"),
            {
                "employer": {"name": "=CMD|' /C calc'!A0"},
                "applicants": [{"name": "王建国"}],
                "workers_involved": 1,
                "claims": [{"category": "wages", "amount": "100"}],
            },
        )
        .get_json()
    )
    for text in FORMULAS:
        response = api["mediator"].post(command_path("labor_dispute", created["case_id"], "add_note"), {"text": text})
        assert response.status_code == 200, response.get_json()
    withdrawn = api["supervisor"].post(
        command_path("labor_dispute", created["case_id"], "withdraw"), {"reason": "=1+2"}
    )
    assert withdrawn.status_code == 200
    rows = csv_rows(api["supervisor"].get(f"/cases/{created['number']}/dossier.csv"))
    header, events = rows[2], [dict(zip(rows[2], r, strict=True)) for r in rows[3:]]
    assert header[0] == "version"
    assert events[-1]["reason"] == "'=1+2"
    cells = [cell for row in rows for cell in row]
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells), cells
    assert "-" not in {c[:1] for c in cells}
    history = api["supervisor"].get(f"/cases/{created['number']}/history").get_json()
    assert [e["data"]["text"] for e in history["events"] if e["action"] == "add_note"] == FORMULAS  # JSON unchanged
