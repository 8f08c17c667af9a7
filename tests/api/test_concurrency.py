"""Optimistic concurrency and idempotency over HTTP: If-Match against the ETag, Idempotency-Key replays,
and two clients racing on one case (threads, each with its own test client, on the same engine)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from werkzeug.test import TestResponse

from engine.service import Actor
from tests.api.conftest import ApiWorld
from tests.api.support import Caller, check_error, collection, command_path, count_rows, dispute, etag


@pytest.fixture
def case(api: ApiWorld) -> dict[str, Any]:
    response = api["mediator"].post(collection("labor_dispute"), dispute())
    assert response.status_code == 201
    return response.get_json()


def _note(case: dict[str, Any]) -> str:
    return command_path("labor_dispute", case["case_id"], "add_note")


def test_a_stale_if_match_is_412_naming_the_current_version_and_appends_nothing(
    api: ApiWorld, case: dict[str, Any]
) -> None:
    med = api["mediator"]
    first = med.post(_note(case), {"text": "一"}, headers={"If-Match": etag(1)})
    assert first.status_code == 200 and first.headers["ETag"] == etag(2)
    before = count_rows(api.cw)
    for stale in (etag(1), "1", 'W/"1"', etag(7)):
        body = check_error(med.post(_note(case), {"text": "二"}, headers={"If-Match": stale}), 412, "version_conflict")
        assert body["current_version"] == 2 and body["expected_version"] == int(stale.strip('W/"'))
        assert "version 2" in body["message"]
    assert count_rows(api.cw) == before
    for fresh in (first.headers["ETag"], "*"):
        response = med.post(_note(case), {"text": "二"}, headers={"If-Match": fresh})
        assert response.status_code == 200
    assert med.get(f"/cases/{case['case_id']}").headers["ETag"] == etag(4)


def test_a_repeated_idempotency_key_returns_the_first_response_and_appends_nothing(
    api: ApiWorld, case: dict[str, Any]
) -> None:
    med = api["mediator"]
    key = {"Idempotency-Key": "note-7f3a"}
    first = med.post(_note(case), {"text": "第一次"}, headers=key)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    before = count_rows(api.cw)
    again = med.post(_note(case), {"text": "第一次"}, headers=key)
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() and again.headers["ETag"] == first.headers["ETag"]
    assert count_rows(api.cw) == before

    moved_on = med.post(command_path("labor_dispute", case["case_id"], "accept"), {})
    assert moved_on.get_json()["version"] == 3
    late = med.post(_note(case), {"text": "第一次"}, headers=key)  # still the first response, not a new note
    assert late.get_json() == first.get_json() and late.headers["Idempotent-Replayed"] == "true"
    assert len(med.get(f"/cases/{case['case_id']}").get_json()["notes"]) == 1

    reused = check_error(
        med.post(
            command_path("labor_dispute", case["case_id"], "start_mediation"), {"mediator": "mediator"}, headers=key
        ),
        422,
        "idempotency_key_reused",
    )
    assert list(reused["fields"]) == ["Idempotency-Key"]
    another_case = med.post(collection("labor_dispute"), dispute()).get_json()
    elsewhere = check_error(
        med.post(_note(another_case), {"text": "第一次"}, headers=key), 422, "idempotency_key_reused"
    )  # not the first case's response passed off as this one's
    assert case["number"] in elsewhere["message"] and list(elsewhere["fields"]) == ["Idempotency-Key"]
    assert med.get(f"/cases/{another_case['case_id']}").get_json()["version"] == 1
    other_user = api["supervisor"].post(_note(case), {"text": "主管"}, headers=key)  # keys are per user
    assert other_user.status_code == 200 and "Idempotent-Replayed" not in other_user.headers
    assert other_user.get_json()["version"] == 4


def test_a_repeated_open_returns_the_same_case_and_a_refused_command_does_not_use_up_its_key(api: ApiWorld) -> None:
    med = api["mediator"]
    key = {"Idempotency-Key": "open-1"}
    first = med.post(collection("labor_dispute"), dispute(), headers=key)
    before = count_rows(api.cw)
    again = med.post(collection("labor_dispute"), dispute(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert count_rows(api.cw) == before
    assert med.get("/cases").get_json()["total"] == 1

    retry = {"Idempotency-Key": "decline-1"}
    path = command_path("labor_dispute", first.get_json()["case_id"], "decline")
    check_error(med.post(path, {}, headers=retry), 422)  # no reason: refused, nothing recorded under the key
    assert count_rows(api.cw) == before
    done = med.post(path, {"reason": "不属于受理范围"}, headers=retry)
    assert done.status_code == 200 and done.get_json()["stage"] == "declined"
    assert "Idempotent-Replayed" not in done.headers


def test_a_used_idempotency_key_with_another_body_is_422_and_changes_nothing(
    api: ApiWorld, case: dict[str, Any]
) -> None:
    """The IETF Idempotency-Key draft: a key reused with a different payload is a 422, never the first response."""
    med = api["mediator"]
    key = {"Idempotency-Key": "note-body"}
    first = med.post(_note(case), {"text": "第一次"}, headers=key)
    assert first.status_code == 200
    before = count_rows(api.cw)
    reused = check_error(med.post(_note(case), {"text": "第二次"}, headers=key), 422, "idempotency_key_reused")
    assert list(reused["fields"]) == ["Idempotency-Key"] and "another body" in reused["message"]
    assert case["number"] in reused["message"]
    check_error(med.post(_note(case), {"text": "第一次", "reason": "补充"}, headers=key), 422, "idempotency_key_reused")
    assert count_rows(api.cw) == before
    # the same JSON with its keys in another order and other spacing is the same request: a replay
    same = med.post(_note(case), data='{ "text" :"第一次" }', content_type="application/json", headers=key)
    assert same.status_code == 200 and same.headers["Idempotent-Replayed"] == "true"
    assert same.get_json() == first.get_json()

    opened = med.post(collection("labor_dispute"), dispute(), headers={"Idempotency-Key": "open-body"})
    assert opened.status_code == 201
    before = count_rows(api.cw)
    other = dispute(summary="另一起争议", workers_involved=3)
    check_error(
        med.post(collection("labor_dispute"), other, headers={"Idempotency-Key": "open-body"}),
        422,
        "idempotency_key_reused",
    )
    assert count_rows(api.cw) == before
    accept = command_path("labor_dispute", case["case_id"], "accept")
    assert med.post(accept, headers={"Idempotency-Key": "accept"}).status_code == 200
    empty = med.post(accept, {}, headers={"Idempotency-Key": "accept"})  # no body and {} are the same command
    assert empty.status_code == 200 and empty.headers["Idempotent-Replayed"] == "true"


def test_a_command_recorded_without_a_fingerprint_still_replays(api: ApiWorld, case: dict[str, Any]) -> None:
    """Commands recorded before requests were fingerprinted keep answering their retries with the first response."""
    med = api["mediator"]
    result = api.cw.execute(
        UUID(case["case_id"]),
        "add_note",
        Actor(med.user_id, med.role),
        command_id=f"{med.user_id}:legacy",
        text="旧记录",
    )
    assert result.fingerprint is None
    before = count_rows(api.cw)
    again = med.post(_note(case), {"text": "旧记录"}, headers={"Idempotency-Key": "legacy"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["version"] == result.version and count_rows(api.cw) == before


def _race(api: ApiWorld, who: str, send: Callable[[Caller], TestResponse], n: int = 2) -> list[TestResponse]:
    """`n` clients, each with its own test client, send at the same moment."""
    barrier = threading.Barrier(n)

    def go(_: int) -> TestResponse:
        caller = dataclasses.replace(api[who], client=api.new_client())
        barrier.wait()
        return send(caller)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(go, range(n)))


def test_two_clients_with_the_same_etag_one_wins_and_nothing_is_lost(api: ApiWorld, case: dict[str, Any]) -> None:
    for round_ in range(3):
        current = api["mediator"].get(f"/cases/{case['case_id']}")
        version = current.get_json()["version"]
        tag = current.headers["ETag"]

        def add_note(c: Caller, tag: str = tag, r: int = round_) -> TestResponse:
            return c.post(_note(case), {"text": f"第{r}轮 {id(c)}"}, headers={"If-Match": tag})

        responses = _race(api, "mediator", add_note)
        statuses = sorted(r.status_code for r in responses)
        assert statuses[0] == 200 and statuses[1] in (409, 412), [r.get_json() for r in responses]
        winner = next(r for r in responses if r.status_code == 200).get_json()
        loser = check_error(next(r for r in responses if r.status_code != 200), statuses[1])
        assert winner["version"] == version + 1
        if statuses[1] == 412:
            assert loser["current_version"] == version + 1
        after = api["mediator"].get(f"/cases/{case['case_id']}").get_json()
        assert after["version"] == version + 1 and after["notes"][-1]["text"] == winner["notes"][-1]["text"]
    history = api["auditor"].get(f"/cases/{case['case_id']}/history").get_json()["events"]
    assert [e["version"] for e in history] == [1, 2, 3, 4]
    assert [e["prev_hash"] for e in history[1:]] == [e["hash"] for e in history[:-1]]


def test_racing_clients_without_if_match_all_land(api: ApiWorld, case: dict[str, Any]) -> None:
    responses = _race(api, "mediator", lambda c: c.post(_note(case), {"text": f"并发 {id(c)}"}), n=4)
    assert [r.status_code for r in responses] == [200] * 4, [r.get_json() for r in responses]
    assert sorted(r.get_json()["version"] for r in responses) == [2, 3, 4, 5]
    after = api["mediator"].get(f"/cases/{case['case_id']}").get_json()
    assert after["version"] == 5
    assert sorted(n["text"] for n in after["notes"]) == sorted(r.get_json()["notes"][-1]["text"] for r in responses)


def test_racing_repeats_of_one_idempotency_key_append_once(api: ApiWorld, case: dict[str, Any]) -> None:
    before = count_rows(api.cw)
    responses = _race(
        api,
        "mediator",
        lambda c: c.post(_note(case), {"text": "重复提交"}, headers={"Idempotency-Key": "double-click"}),
        n=3,
    )
    assert [r.status_code for r in responses] == [200] * 3, [r.get_json() for r in responses]
    assert len({r.get_data() for r in responses}) == 1
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true", "true"]
    after = count_rows(api.cw)
    assert after["casework_events"] == before["casework_events"] + 1
    assert after["command_log"] == before["command_log"] + 1
    assert api["mediator"].get(f"/cases/{case['case_id']}").get_json()["version"] == 2
