"""Accounts over HTTP: who am I, the org tree (admins add units below their own), users and their bearer
tokens (shown once, stored only as a digest, rotated and revoked at once)."""

from __future__ import annotations

import hashlib
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import insert, text

from engine.tables import users
from tests.api.conftest import ORGS, ApiWorld
from tests.api.support import Caller, check_error, collection, dispute


def _me(client: FlaskClient, token: str) -> Any:
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def test_me_is_the_caller_without_any_secret(api: ApiWorld) -> None:
    for name, caller in api.callers.items():
        response = caller.get("/me")
        assert response.status_code == 200, name
        me = response.get_json()
        assert (me["user_id"], me["role"], me["org_unit"], me["active"]) == (
            caller.user_id,
            caller.role,
            caller.org_unit,
            True,
        )
        assert me["name"] == name and not {"token", "token_hash"} & set(me)
        assert caller.token not in response.get_data(as_text=True)


def test_the_org_tree_is_the_callers_unit_and_below(api: ApiWorld) -> None:
    names = dict(ORGS)
    for who, expected in (
        ("admin", ["suzhou.gusu", "suzhou.gusu.shuangta"]),
        ("shuangta_mediator", ["suzhou.gusu.shuangta"]),
        ("wuzhong_mediator", ["suzhou.wuzhong"]),
        ("city_supervisor", sorted(names)),
    ):
        orgs = api[who].get("/orgs").get_json()
        assert [o["path"] for o in orgs] == expected, who
        for org in orgs:
            assert org["name"] == names[org["path"]]
            assert org["parent"] == (org["path"].rpartition(".")[0] or None)
    levels = {o["path"]: o["level"] for o in api["city_supervisor"].get("/orgs").get_json()}
    assert levels == {
        "suzhou": "city",
        "suzhou.gusu": "district",
        "suzhou.gusu.shuangta": "street",
        "suzhou.wuzhong": "district",
    }


def test_admins_add_org_units_only_below_their_own(api: ApiWorld) -> None:
    admin = api["admin"]
    created = admin.post("/orgs", {"path": "suzhou.gusu.pingjiang", "name": "平江街道总工会"})
    assert created.status_code == 201
    assert {k: created.get_json()[k] for k in ("path", "level", "parent")} == {
        "path": "suzhou.gusu.pingjiang",
        "level": "street",
        "parent": "suzhou.gusu",
    }
    enterprise = admin.post("/orgs", {"path": "suzhou.gusu.pingjiang.acme", "name": "某公司工会"})
    assert enterprise.status_code == 201 and enterprise.get_json()["level"] == "enterprise"
    assert "suzhou.gusu.pingjiang.acme" in [o["path"] for o in admin.get("/orgs").get_json()]

    for path in ("suzhou.wuzhong.mudu", "suzhou.gusu", "suzhou.new", "elsewhere"):
        check_error(admin.post("/orgs", {"path": path, "name": "x"}), 403, "forbidden")
    for body, field in (
        ({"path": "suzhou.gusu.shuangta", "name": "重复"}, "path"),
        ({"path": "suzhou.gusu.Bad Name", "name": "x"}, "path"),
        ({"path": "suzhou.gusu.nowhere.unit", "name": "x"}, "path"),
        ({"path": "suzhou.gusu.ok", "name": ""}, "name"),
        ({"path": "suzhou.gusu.ok", "name": "x", "level": "galaxy"}, "level"),
        ({"path": "suzhou.gusu.ok", "name": "x", "colour": "red"}, "colour"),
        ({"name": "x"}, "path"),
    ):
        assert field in check_error(admin.post("/orgs", body), 422)["fields"], body
    for who in ("supervisor", "city_supervisor", "auditor"):
        body = check_error(api[who].post("/orgs", {"path": "suzhou.gusu.x", "name": "x"}), 403, "forbidden")
        assert body["roles"] == ["admin"]
    assert len(api["city_supervisor"].get("/orgs").get_json()) == len(ORGS) + 2


def test_users_are_listed_and_made_by_admins_with_a_token_shown_once_and_stored_hashed(api: ApiWorld) -> None:
    admin = api["admin"]
    listed = admin.get("/users").get_json()
    expected = sorted((c.org_unit, c.user_id) for c in api.callers.values() if c.org_unit.startswith("suzhou.gusu"))
    assert [(u["org_unit"], u["user_id"]) for u in listed] == expected
    assert all(not {"token", "token_hash"} & set(u) for u in listed)
    for who in ("supervisor", "mediator", "auditor", "city_supervisor"):
        assert check_error(api[who].get("/users"), 403, "forbidden")["roles"] == ["admin"]

    response = admin.post(
        "/users", {"user_id": "zhang.wei@gusu", "name": "张伟", "role": "mediator", "org_unit": "suzhou.gusu.shuangta"}
    )
    assert response.status_code == 201
    created = response.get_json()
    token = created["token"]
    assert (created["user_id"], created["role"], created["active"], created["created_by"]) == (
        "zhang.wei@gusu",
        "mediator",
        True,
        admin.user_id,
    )
    me = _me(api.client, token)
    assert me.status_code == 200 and me.get_json()["user_id"] == "zhang.wei@gusu"
    opened = api.client.post(collection("labor_dispute"), json=dispute(), headers={"Authorization": f"Bearer {token}"})
    assert opened.status_code == 201 and opened.get_json()["org_unit"] == "suzhou.gusu.shuangta"
    assert token not in admin.get("/users").get_data(as_text=True)  # shown only once

    with api.cw.read_transaction() as session:
        rows = [tuple(map(str, r)) for r in session.execute(text("select * from users"))]
        stored = session.execute(text("select token_hash from users where user_id = 'zhang.wei@gusu'")).scalar_one()
    assert rows and not any(token in cell for row in rows for cell in row)
    assert stored == hashlib.sha256(token.encode()).hexdigest()

    for body, status, field in (
        ({"user_id": "x1", "name": "x", "role": "mediator", "org_unit": "suzhou.wuzhong"}, 403, None),
        ({"user_id": "x1", "name": "x", "role": "mediator", "org_unit": "suzhou"}, 403, None),
        ({"user_id": "zhang.wei@gusu", "name": "x", "role": "mediator", "org_unit": "suzhou.gusu"}, 422, "user_id"),
        ({"user_id": "x1", "name": "x", "role": "boss", "org_unit": "suzhou.gusu"}, 422, "role"),
        ({"user_id": "x1", "name": "x", "role": "mediator", "org_unit": "suzhou.gusu.nowhere"}, 422, "org_unit"),
        ({"user_id": "bad id!", "name": "x", "role": "mediator", "org_unit": "suzhou.gusu"}, 422, "user_id"),
        ({"user_id": "x1", "name": "x", "role": "mediator", "org_unit": "suzhou.gusu", "token": "mine"}, 422, "token"),
    ):
        error = check_error(admin.post("/users", body), status)
        if field:
            assert field in error["fields"], body
    check_error(
        api["supervisor"].post("/users", {"user_id": "x1", "name": "x", "role": "mediator", "org_unit": "suzhou.gusu"}),
        403,
        "forbidden",
    )
    assert len(admin.get("/users").get_json()) == len(expected) + 1


def test_a_rotated_token_replaces_the_old_one_at_once(api: ApiWorld) -> None:
    admin, mediator = api["admin"], api["mediator"]
    old = mediator.token
    response = admin.post(f"/users/{mediator.user_id}/token")
    assert response.status_code == 200
    new = response.get_json()["token"]
    assert new != old and response.get_json()["user_id"] == mediator.user_id
    check_error(_me(api.client, old), 401, "unauthorized")
    assert _me(api.client, new).get_json()["user_id"] == mediator.user_id
    check_error(admin.post("/users/nobody/token"), 404, "not_found")
    check_error(admin.post("/users/wuzhong-mediator/token"), 404, "not_found")  # another unit's user
    check_error(api["supervisor"].post(f"/users/{mediator.user_id}/token"), 403, "forbidden")
    assert _me(api.client, new).status_code == 200  # the refused rotations changed nothing


def test_a_deactivated_user_is_refused_at_once(api: ApiWorld) -> None:
    admin, caseworker = api["admin"], api["caseworker"]
    assert caseworker.get("/me").status_code == 200
    response = admin.post(f"/users/{caseworker.user_id}/deactivate")
    assert response.status_code == 200 and response.get_json()["active"] is False
    check_error(caseworker.get("/me"), 401, "unauthorized")
    check_error(caseworker.post(collection("hardship"), {}), 401, "unauthorized")
    listed = {u["user_id"]: u["active"] for u in admin.get("/users").get_json()}
    assert listed[caseworker.user_id] is False and listed[api["mediator"].user_id] is True
    rotated = admin.post(f"/users/{caseworker.user_id}/token").get_json()["token"]  # a new token: still inactive
    check_error(_me(api.client, rotated), 401, "unauthorized")
    check_error(admin.post(f"/users/{admin.user_id}/deactivate"), 409)
    check_error(admin.post("/users/wuzhong-admin/deactivate"), 404, "not_found")
    check_error(api["wuzhong_admin"].post(f"/users/{caseworker.user_id}/deactivate"), 404, "not_found")
    check_error(api["supervisor"].post(f"/users/{api['mediator'].user_id}/deactivate"), 403, "forbidden")
    assert api["mediator"].get("/me").status_code == 200


def _patch(caller: Caller, user_id: str, body: Any) -> Any:
    return caller.client.patch(f"/users/{user_id}", json=body, headers={"Authorization": f"Bearer {caller.token}"})


def _changes(caller: Caller, path: str = "/account-changes", **query: Any) -> list[tuple[str, str, str, str]]:
    """(user id, change, actor id, actor role) of the caller's first page, newest first."""
    response = caller.get(path, query_string=query)
    assert response.status_code == 200, response.get_json()
    return [(c["user_id"], c["change"], c["actor_id"], c["actor_role"]) for c in response.get_json()["items"]]


def test_an_admin_who_rotates_another_users_token_is_on_the_record_for_admins_and_auditors(api: ApiWorld) -> None:
    admin, mediator, auditor = api["admin"], api["mediator"], api["auditor"]
    new_token = admin.post(f"/users/{mediator.user_id}/token").get_json()["token"]
    admin.post(f"/users/{api['caseworker'].user_id}/deactivate")

    for reader in (auditor, admin):
        assert _changes(reader)[:2] == [
            ("caseworker", "deactivated", admin.user_id, "admin"),
            ("mediator", "token_issued", admin.user_id, "admin"),
        ]
        assert _changes(reader, f"/users/{mediator.user_id}/changes") == [
            ("mediator", "token_issued", admin.user_id, "admin"),
            ("mediator", "created", "tests", "admin"),
        ]
        assert _changes(reader, user_id=mediator.user_id) == _changes(reader, f"/users/{mediator.user_id}/changes")
    entry = auditor.get(f"/users/{mediator.user_id}/changes").get_json()["items"][0]
    assert entry["detail"] == {} and entry["recorded_at"] == api.clock.now().isoformat()
    body = auditor.get("/account-changes?limit=200").get_data(as_text=True)
    assert new_token not in body and hashlib.sha256(new_token.encode()).hexdigest() not in body

    for who in ("negotiator", "supervisor", "city_supervisor"):
        for path in ("/account-changes", f"/users/{mediator.user_id}/changes"):
            error = check_error(api[who].get(path), 403, "forbidden")
            assert error["roles"] == ["admin", "auditor"], (who, path)
    # an admin elsewhere sees neither the record nor the user of another unit
    wuzhong = api["wuzhong_admin"]
    assert {user for user, *_ in _changes(wuzhong)} == {"wuzhong-admin", "wuzhong-mediator"}
    assert _changes(wuzhong, user_id=mediator.user_id) == []
    check_error(wuzhong.get(f"/users/{mediator.user_id}/changes"), 404, "not_found")
    check_error(auditor.get("/users/nobody/changes"), 404, "not_found")
    assert {user for user, *_ in _changes(auditor, limit=200)} == {
        c.user_id for c in api.callers.values() if c.org_unit.startswith("suzhou.gusu")
    }


def test_the_record_is_read_a_page_at_a_time(api: ApiWorld) -> None:
    auditor = api["auditor"]
    everything = auditor.get("/account-changes?limit=200").get_json()
    in_gusu = [c for c in api.callers.values() if c.org_unit.startswith("suzhou.gusu")]
    assert everything["next_cursor"] is None and len(everything["items"]) == len(in_gusu) > 6  # one entry each
    seen, cursor = [], None
    while True:
        page = auditor.get("/account-changes", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200
        seen += page.get_json()["items"]
        cursor = page.get_json()["next_cursor"]
        if cursor is None:
            break
    assert seen == everything["items"]
    for query in (
        "limit=0",
        "limit=201",
        "cursor=0",
        "cursor=x",
        f"cursor={2**31}",
        f"cursor={2**62}",
        "colour=red",
        "user_id=",
    ):
        field = "query." + query.split("=")[0]
        assert field in check_error(auditor.get(f"/account-changes?{query}"), 422)["fields"], query


def test_the_system_role_cannot_be_given_to_a_user_over_http(api: ApiWorld) -> None:
    admin = api["admin"]
    before = admin.get("/account-changes?limit=200").get_json()["items"]
    created = admin.post(
        "/users", {"user_id": "robot", "name": "调度程序", "role": "system", "org_unit": "suzhou.gusu"}
    )
    assert "scheduler" in check_error(created, 422)["fields"]["role"]
    changed = _patch(admin, api["mediator"].user_id, {"role": "system"})
    assert "scheduler" in check_error(changed, 422)["fields"]["role"]
    assert api["mediator"].get("/me").get_json()["role"] == "mediator"
    assert admin.get("/account-changes?limit=200").get_json()["items"] == before
    assert "robot" not in [u["user_id"] for u in admin.get("/users").get_json()]


def test_a_system_user_from_an_earlier_demo_cannot_sign_in(api: ApiWorld) -> None:
    token = "cw_kept-from-an-earlier-demo"
    with api.cw.write_transaction() as session:
        session.execute(
            insert(users).values(
                user_id="system",
                name="调度程序",
                role="system",
                org_unit="suzhou.gusu",
                token_hash=hashlib.sha256(token.encode()).hexdigest(),
                active=True,
                created_at=api.clock.now(),
                created_by="demo",
            )
        )
    check_error(_me(api.client, token), 401, "unauthorized")
    check_error(
        api.client.post(collection("labor_dispute"), json=dispute(), headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthorized",
    )


def test_admins_change_a_users_name_role_and_unit_on_the_record(api: ApiWorld) -> None:
    admin, negotiator = api["admin"], api["negotiator"]
    response = _patch(
        admin, negotiator.user_id, {"name": "李强", "role": "supervisor", "org_unit": "suzhou.gusu.shuangta"}
    )
    assert response.status_code == 200, response.get_json()
    assert {k: response.get_json()[k] for k in ("name", "role", "org_unit")} == {
        "name": "李强",
        "role": "supervisor",
        "org_unit": "suzhou.gusu.shuangta",
    }
    me = negotiator.get("/me").get_json()  # the same token, the new role and unit
    assert (me["role"], me["org_unit"]) == ("supervisor", "suzhou.gusu.shuangta")
    items = api["auditor"].get(f"/users/{negotiator.user_id}/changes").get_json()["items"]
    assert [(c["change"], c["detail"], c["actor_id"]) for c in items[:3]] == [
        ("unit_changed", {"org_unit": {"old": "suzhou.gusu", "new": "suzhou.gusu.shuangta"}}, admin.user_id),
        ("role_changed", {"role": {"old": "negotiator", "new": "supervisor"}}, admin.user_id),
        ("name_changed", {"name": {"old": "negotiator", "new": "李强"}}, admin.user_id),
    ]

    user = api["inspector"].user_id
    check_error(_patch(admin, user, {"org_unit": "suzhou.wuzhong"}), 403, "forbidden")  # out of the admin's reach
    check_error(_patch(admin, "wuzhong-mediator", {"name": "x"}), 404, "not_found")
    check_error(_patch(admin, admin.user_id, {"role": "mediator"}), 409, "conflict")
    assert "org_unit" in check_error(_patch(admin, user, {"org_unit": "suzhou.gusu.nowhere"}), 422)["fields"]
    assert "body" in check_error(_patch(admin, user, {}), 422)["fields"]
    assert "token" in check_error(_patch(admin, user, {"token": "mine"}), 422)["fields"]
    check_error(_patch(api["supervisor"], user, {"name": "x"}), 403, "forbidden")
    check_error(_patch(api["auditor"], user, {"name": "x"}), 403, "forbidden")
    assert [c["change"] for c in api["auditor"].get(f"/users/{user}/changes").get_json()["items"]] == ["created"]


def test_a_reactivated_user_signs_in_again_and_both_switches_are_on_the_record(api: ApiWorld) -> None:
    admin, caseworker = api["admin"], api["caseworker"]
    admin.post(f"/users/{caseworker.user_id}/deactivate")
    check_error(caseworker.get("/me"), 401, "unauthorized")
    response = admin.post(f"/users/{caseworker.user_id}/reactivate")
    assert response.status_code == 200 and response.get_json()["active"] is True
    assert caseworker.get("/me").status_code == 200
    assert admin.post(f"/users/{caseworker.user_id}/reactivate").status_code == 200  # already active: no entry
    assert _changes(admin, f"/users/{caseworker.user_id}/changes") == [
        ("caseworker", "reactivated", admin.user_id, "admin"),
        ("caseworker", "deactivated", admin.user_id, "admin"),
        ("caseworker", "created", "tests", "admin"),
    ]
    check_error(api["wuzhong_admin"].post(f"/users/{caseworker.user_id}/reactivate"), 404, "not_found")
    check_error(api["auditor"].post(f"/users/{caseworker.user_id}/reactivate"), 403, "forbidden")
