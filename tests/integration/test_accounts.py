"""Accounts in the engine: the `system` role is the scheduler's, and every change to a user is recorded with who
made it and when, in the transaction that makes it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eventsourcing.persistence import PersistenceError
from sqlalchemy import insert, select, text

from engine.accounts import (
    AccountError,
    AccountNotFound,
    add_org,
    add_user,
    authenticate,
    get_user,
    hash_token,
    list_account_changes,
    rotate_token,
    set_active,
    update_user,
)
from engine.service import Actor, Casework
from engine.tables import account_changes, users

CITY_ADMIN = Actor("city-admin", "admin")
GUSU_ADMIN = Actor("gusu-admin", "admin")


@pytest.fixture
def tree(cw: Casework) -> Casework:
    for path, name in (
        ("suzhou", "苏州市总工会"),
        ("suzhou.gusu", "姑苏区总工会"),
        ("suzhou.gusu.shuangta", "双塔街道总工会"),
        ("suzhou.wuzhong", "吴中区总工会"),
    ):
        add_org(cw, path, name)
    return cw


def _record(cw: Casework, user_id: str) -> list[tuple[str, dict, str, str]]:
    """(change, detail, actor id, actor role) of a user's record, oldest first."""
    return [
        (c.change, c.detail, c.actor_id, c.actor_role)
        for c in reversed(list_account_changes(cw, user_id=user_id, limit=1000))
    ]


def test_every_change_to_an_account_is_recorded_with_who_made_it_and_when(tree: Casework, clock) -> None:
    cw = tree
    created_at = clock.now()
    _, first_token = add_user(cw, "zhang.min", "张敏", "mediator", "suzhou.gusu", by=GUSU_ADMIN)
    clock.advance(hours=2)
    update_user(
        cw, "zhang.min", by=GUSU_ADMIN, name="张敏（调解员）", role="supervisor", org_unit="suzhou.gusu.shuangta"
    )
    clock.advance(hours=1)
    rotated_at = clock.now()
    new_token = rotate_token(cw, "zhang.min", by=CITY_ADMIN)  # whoever holds this token can act as 张敏
    clock.advance(hours=1)
    assert set_active(cw, "zhang.min", False, by=GUSU_ADMIN) is True
    assert set_active(cw, "zhang.min", True, by=CITY_ADMIN) is True

    assert _record(cw, "zhang.min") == [
        (
            "created",
            {
                "name": {"old": None, "new": "张敏"},
                "role": {"old": None, "new": "mediator"},
                "org_unit": {"old": None, "new": "suzhou.gusu"},
            },
            "gusu-admin",
            "admin",
        ),
        ("name_changed", {"name": {"old": "张敏", "new": "张敏（调解员）"}}, "gusu-admin", "admin"),
        ("role_changed", {"role": {"old": "mediator", "new": "supervisor"}}, "gusu-admin", "admin"),
        ("unit_changed", {"org_unit": {"old": "suzhou.gusu", "new": "suzhou.gusu.shuangta"}}, "gusu-admin", "admin"),
        ("token_issued", {}, "city-admin", "admin"),
        ("deactivated", {"active": {"old": True, "new": False}}, "gusu-admin", "admin"),
        ("reactivated", {"active": {"old": False, "new": True}}, "city-admin", "admin"),
    ]
    entries = list_account_changes(cw, user_id="zhang.min")
    assert [e.seq for e in entries] == sorted((e.seq for e in entries), reverse=True)  # newest first
    assert entries[-1].recorded_at == created_at and entries[2].recorded_at == rotated_at
    user = get_user(cw, "zhang.min")
    assert user is not None and (user.name, user.role, user.org_unit, user.active) == (
        "张敏（调解员）",
        "supervisor",
        "suzhou.gusu.shuangta",
        True,
    )
    assert user.created_at == created_at  # the same instant on SQLite too, which keeps no offset
    assert authenticate(cw, first_token) is None and authenticate(cw, new_token) is not None

    with cw.read_transaction() as session:
        stored = " ".join(str(cell) for row in session.execute(select(account_changes)) for cell in row)
    for secret in (first_token, new_token, hash_token(first_token), hash_token(new_token)):
        assert secret not in stored


def test_a_change_that_changes_nothing_records_nothing(tree: Casework) -> None:
    add_user(tree, "li.qiang", "李强", "negotiator", "suzhou.gusu", by=GUSU_ADMIN)
    updated = update_user(tree, "li.qiang", by=GUSU_ADMIN, name=" 李强 ", role="negotiator", org_unit="suzhou.gusu")
    assert updated.name == "李强"
    assert set_active(tree, "li.qiang", True, by=GUSU_ADMIN) is False
    assert [c for c, *_ in _record(tree, "li.qiang")] == ["created"]


def test_the_system_role_is_the_schedulers_and_cannot_be_given_to_a_user(tree: Casework) -> None:
    with pytest.raises(AccountError) as refused:
        add_user(tree, "robot", "调度程序", "system", "suzhou", by=CITY_ADMIN)
    assert set(refused.value.fields) == {"role"} and "scheduler" in refused.value.fields["role"]
    assert get_user(tree, "robot") is None

    add_user(tree, "wang.fang", "王芳", "inspector", "suzhou.gusu", by=GUSU_ADMIN)
    with pytest.raises(AccountError) as refused:
        update_user(tree, "wang.fang", by=CITY_ADMIN, role="system", name="王芳")
    assert set(refused.value.fields) == {"role"} and "scheduler" in refused.value.fields["role"]
    assert get_user(tree, "wang.fang").role == "inspector"  # type: ignore[union-attr]
    assert get_user(tree, "wang.fang").name == "王芳"  # type: ignore[union-attr]
    assert list_account_changes(tree, user_id="robot") == []
    assert [c for c, *_ in _record(tree, "wang.fang")] == ["created"]


def test_a_system_user_made_before_the_role_was_refused_cannot_sign_in_and_can_be_given_a_real_role(
    tree: Casework, clock
) -> None:
    token = "cw_made-by-an-earlier-demo"
    with tree.write_transaction() as session:  # what earlier demos stored: a user holding the scheduler's role
        session.execute(
            insert(users).values(
                user_id="system",
                name="调度程序",
                role="system",
                org_unit="suzhou",
                token_hash=hash_token(token),
                active=True,
                created_at=clock.now(),
                created_by="demo",
            )
        )
    assert authenticate(tree, token) is None
    update_user(tree, "system", by=CITY_ADMIN, role="auditor")
    assert authenticate(tree, token).role == "auditor"  # type: ignore[union-attr]
    assert _record(tree, "system") == [
        ("role_changed", {"role": {"old": "system", "new": "auditor"}}, "city-admin", "admin")
    ]


def test_a_refused_change_leaves_the_account_and_the_record_as_they_were(tree: Casework) -> None:
    _, token = add_user(tree, "liu.yang", "刘洋", "caseworker", "suzhou.gusu", by=GUSU_ADMIN)
    with pytest.raises(AccountError) as refused:
        update_user(tree, "liu.yang", by=GUSU_ADMIN, role="inspector", org_unit="suzhou.nowhere")
    assert set(refused.value.fields) == {"org_unit"}
    assert get_user(tree, "liu.yang").role == "caseworker"  # type: ignore[union-attr]
    for change in (
        lambda: rotate_token(tree, "nobody", by=GUSU_ADMIN),
        lambda: set_active(tree, "nobody", False, by=GUSU_ADMIN),
        lambda: update_user(tree, "nobody", by=GUSU_ADMIN, name="x"),
    ):
        with pytest.raises(AccountNotFound):
            change()
    assert len(list_account_changes(tree, limit=1000)) == 1

    with tree.write_transaction() as session:  # the record cannot be written: the change must not happen either
        session.execute(text("drop table account_changes"))
    with pytest.raises(PersistenceError):
        rotate_token(tree, "liu.yang", by=CITY_ADMIN)
    with pytest.raises(PersistenceError):
        set_active(tree, "liu.yang", False, by=CITY_ADMIN)
    assert authenticate(tree, token) is not None  # the old token still works: nothing changed unrecorded


def test_the_record_is_listed_by_scope_user_and_page(tree: Casework, clock) -> None:
    for user_id, unit in (
        ("gusu-1", "suzhou.gusu"),
        ("street-1", "suzhou.gusu.shuangta"),
        ("wuzhong-1", "suzhou.wuzhong"),
        ("city-1", "suzhou"),
    ):
        add_user(tree, user_id, user_id, "mediator", unit, by=CITY_ADMIN)
        clock.advance(hours=1)
    rotate_token(tree, "street-1", by=CITY_ADMIN)
    in_gusu = list_account_changes(tree, scope="suzhou.gusu")
    assert [(c.user_id, c.change) for c in in_gusu] == [
        ("street-1", "token_issued"),
        ("street-1", "created"),
        ("gusu-1", "created"),
    ]
    assert {c.user_id for c in list_account_changes(tree, scope="suzhou")} == {
        "gusu-1",
        "street-1",
        "wuzhong-1",
        "city-1",
    }
    assert list_account_changes(tree, scope="suzhou.gusu", user_id="wuzhong-1") == []
    # the record follows the account: moved to wuzhong, its whole record is wuzhong's to see
    update_user(tree, "street-1", by=CITY_ADMIN, org_unit="suzhou.wuzhong")
    assert [c.user_id for c in list_account_changes(tree, scope="suzhou.gusu")] == ["gusu-1"]
    assert [c.change for c in list_account_changes(tree, scope="suzhou.wuzhong", user_id="street-1")] == [
        "unit_changed",
        "token_issued",
        "created",
    ]

    everything = list_account_changes(tree, limit=1000)
    pages, before = [], None
    while page := list_account_changes(tree, limit=2, before=before):
        pages.append(page)
        before = page[-1].seq
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [c for p in pages for c in p] == everything
    assert everything[0].recorded_at - everything[-1].recorded_at == timedelta(hours=4)
