"""The inbox and the channels over HTTP: the caller's own notifications by pages, unread first, marked read; their
own channels; an admin's channels for users of their unit and no one else's."""

from __future__ import annotations

from engine.service import Actor
from tests.api.conftest import ApiWorld
from tests.api.support import check_error
from tests.integration.scenarios import file_dispute

SUPERVISOR = Actor("supervisor", "supervisor")


def assign_to_mediator(api: ApiWorld, count: int) -> list[str]:
    numbers = []
    for _ in range(count):
        case = file_dispute(api.cw)
        api.cw.execute(case.case_id, "assign", SUPERVISOR, assignee="mediator")
        numbers.append(case.number)
    return numbers


def test_the_inbox_lists_unread_first_by_pages_and_marks_read(api: ApiWorld) -> None:
    first, second, third = assign_to_mediator(api, 3)
    mediator = api["mediator"]
    answer = mediator.get("/me/notifications?per_page=2")
    assert answer.status_code == 200
    page = answer.get_json()
    assert (page["total"], page["unread"], page["page"]) == (3, 3, 1)
    assert [n["case_number"] for n in page["items"]] == [third, second]
    item = page["items"][0]
    assert item["kind"] == "assigned" and item["link"] == f"/case/{third}" and item["read_at"] is None
    assert third in item["subject"] and "已分派给您" in item["subject"] and f"/case/{third}" in item["body"]
    assert [n["case_number"] for n in mediator.get("/me/notifications?page=2&per_page=2").get_json()["items"]] == [
        first
    ]

    read = mediator.post(f"/me/notifications/{item['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert mediator.post(f"/me/notifications/{item['id']}/read").get_json() == read.get_json()  # kept, not moved
    page = mediator.get("/me/notifications").get_json()
    assert page["unread"] == 2 and [n["case_number"] for n in page["items"]] == [second, first, third]
    by_time = mediator.get("/me/notifications?order=time").get_json()
    assert [n["case_number"] for n in by_time["items"]] == [third, second, first]


def test_another_persons_notification_is_not_found_and_a_bad_query_is_named(api: ApiWorld) -> None:
    assign_to_mediator(api, 1)
    [item] = api["mediator"].get("/me/notifications").get_json()["items"]
    check_error(api["supervisor"].post(f"/me/notifications/{item['id']}/read"), 404, "not_found")
    assert api["supervisor"].get("/me/notifications").get_json()["total"] == 0
    check_error(api["mediator"].post(f"/me/notifications/{2**40}/read"), 404, "not_found")
    check_error(api["mediator"].get("/me/notifications?order=sideways"), 422)
    check_error(api.client.get("/me/notifications"), 401)


def test_the_caller_adds_lists_and_removes_their_own_channels(api: ApiWorld) -> None:
    mediator = api["mediator"]
    made = mediator.post("/me/channels", {"kind": "email", "target": "m@union.example", "digest_muted": True})
    assert made.status_code == 201
    channel = made.get_json()
    assert (channel["kind"], channel["target"], channel["digest_muted"]) == ("email", "m@union.example", True)
    bot = mediator.post("/me/channels", {"kind": "wecom", "target": "abcdef0123456789"}).get_json()
    assert bot["target"] == "abcd…"  # a bot's token is its credential: shown cut short
    assert [c["id"] for c in mediator.get("/me/channels").get_json()] == [channel["id"], bot["id"]]
    problem = check_error(mediator.post("/me/channels", {"kind": "email", "target": "not an address"}), 422)
    assert "target" in problem["fields"]
    check_error(mediator.post("/me/channels", {"kind": "pager", "target": "x"}), 422)
    check_error(
        api["supervisor"].client.delete(
            f"/me/channels/{bot['id']}", headers={"Authorization": f"Bearer {api['supervisor'].token}"}
        ),
        404,
    )  # not the supervisor's
    gone = mediator.client.delete(f"/me/channels/{bot['id']}", headers={"Authorization": f"Bearer {mediator.token}"})
    assert gone.status_code == 204
    assert [c["id"] for c in mediator.get("/me/channels").get_json()] == [channel["id"]]


def test_an_admin_manages_the_channels_of_users_of_their_unit_only(api: ApiWorld) -> None:
    made = api["admin"].post("/users/mediator/channels", {"kind": "webhook", "target": "https://hooks.example/x?k=1"})
    assert made.status_code == 201 and made.get_json()["target"] == "https://hooks.example/x"  # no query shown
    assert len(api["admin"].get("/users/mediator/channels").get_json()) == 1
    check_error(api["wuzhong_admin"].get("/users/mediator/channels"), 404)  # outside their unit
    check_error(api["supervisor"].get("/users/mediator/channels"), 403)
