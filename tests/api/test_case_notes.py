"""A case's notes over HTTP: the case view (and every command's answer) holds only the latest notes and how many
there are, so a case followed for years answers as quickly and as briefly as a new one; GET /cases/{ref}/notes
pages through every note, oldest first, for whoever may read the case."""

from __future__ import annotations

from typing import Any

from engine.views import NOTES_IN_VIEW
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, dispute, etag

NOTES = NOTES_IN_VIEW + 7


def _case_with_notes(api: ApiWorld, count: int) -> dict[str, Any]:
    opened = api["mediator"].post(collection("labor_dispute"), dispute())
    assert opened.status_code == 201, opened.get_json()
    case = opened.get_json()
    for i in range(count):
        api.clock.advance(hours=1)
        answer = api["mediator"].post(command_path("labor_dispute", case["case_id"], "add_note"), {"text": f"第{i}条"})
        assert answer.status_code == 200, answer.get_json()
        case = answer.get_json()
    return case


def _texts(notes: list[dict[str, Any]]) -> list[str]:
    return [n["text"] for n in notes]


def test_the_case_view_holds_the_latest_notes_oldest_first_and_how_many_there_are(api: ApiWorld) -> None:
    after_last = _case_with_notes(api, NOTES)
    latest = [f"第{i}条" for i in range(NOTES - NOTES_IN_VIEW, NOTES)]
    assert _texts(after_last["notes"]) == latest and after_last["notes_total"] == NOTES

    read = api["mediator"].get(f"/cases/{after_last['number']}").get_json()
    assert _texts(read["notes"]) == latest and read["notes_total"] == NOTES
    assert read["notes"][-1] == {"at": read["updated_at"], "by": "mediator", "text": f"第{NOTES - 1}条"}

    few = _case_with_notes(api, 2)
    assert _texts(few["notes"]) == ["第0条", "第1条"] and few["notes_total"] == 2


def test_the_notes_are_paged_oldest_first_with_the_cases_version(api: ApiWorld) -> None:
    case = _case_with_notes(api, NOTES)
    pages = [api["mediator"].get(f"/cases/{case['case_id']}/notes?per_page=10&page={n}") for n in (1, 2, 3, 4)]
    assert [p.status_code for p in pages] == [200] * 4
    bodies = [p.get_json() for p in pages]
    assert [len(b["items"]) for b in bodies] == [10, 10, NOTES - 20, 0]
    assert {(b["total"], b["pages"], b["per_page"]) for b in bodies} == {(NOTES, 3, 10)}
    assert [b["page"] for b in bodies] == [1, 2, 3, 4]
    every = [text for b in bodies for text in _texts(b["items"])]
    assert every == [f"第{i}条" for i in range(NOTES)]
    assert pages[0].headers["ETag"] == etag(case["version"])
    assert pages[0].headers["Cache-Control"] == "no-store"

    default = api["mediator"].get(f"/cases/{case['number']}/notes").get_json()
    assert (default["per_page"], default["pages"], len(default["items"])) == (50, 1, NOTES)

    empty = _case_with_notes(api, 0)
    none = api["mediator"].get(f"/cases/{empty['number']}/notes").get_json()
    assert (none["items"], none["total"], none["pages"]) == ([], 0, 0)


def test_notes_of_a_case_the_caller_may_not_see_or_with_a_bad_page_are_refused(api: ApiWorld) -> None:
    case = _case_with_notes(api, 1)
    hidden = api["wuzhong_mediator"].get(f"/cases/{case['case_id']}/notes")
    check_error(hidden, 404, "not_found")
    assert api["mediator"].get("/cases/LD-2026-999999/notes").status_code == 404
    for query in ("per_page=0", "per_page=201", "page=0", "page=x", "size=5"):
        bad = api["mediator"].get(f"/cases/{case['case_id']}/notes?{query}")
        check_error(bad, 422, "invalid_request")
    unauthenticated = api.new_client().get(f"/cases/{case['case_id']}/notes")
    assert unauthenticated.status_code == 401
