"""Cached token look-ups (engine/tokens.py) and one read transaction per request (api/reads.py), on the real app.

Two apps, each over its own Casework service on the one database, stand for two API processes: a token both
have looked up and cached is refused by both on its next request once any of them (or the command line, past
either) revokes it, deactivates its user, or changes the user's role or unit; a reactivated user is let in
at once. A change made to the users table by hand, past the record of account changes, is seen once the
cache's time-to-live has run out. What a request costs is counted on the database engine itself: one
transaction for a case read, and no read of the users table for a token already cached."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy
from flask import Flask
from sqlalchemy import event, update
from sqlalchemy.pool import QueuePool

from api.app import create_app
from engine.accounts import set_active, update_user
from engine.clock import FixedClock
from engine.service import Casework
from engine.tables import users
from engine.tokens import token_cache
from tests.api.conftest import TESTS, ApiWorld
from tests.api.support import Caller, check_error, collection, dispute


@pytest.fixture
def other(api: ApiWorld, clock: FixedClock) -> Iterator[Casework]:
    """A second service on the test's database, as another API process has."""
    service = Casework(api.cw.settings, clock)
    yield service
    service.close()


@pytest.fixture
def other_app(other: Casework) -> Flask:
    return create_app(other)


def on(app: Flask, caller: Caller, token: str | None = None) -> Caller:
    """The same user calling the other app (with another token if given)."""
    return replace(caller, client=app.test_client(), token=token or caller.token)


class Statements:
    """Every statement the engine sends and every transaction it begins, from the engine's own events."""

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self.engine, self.begins = engine, 0
        self.sql: list[str] = []
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "begin", self._begin)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.sql.append(" ".join(statement.split()).lower())

    def _begin(self, _conn: Any) -> None:
        self.begins += 1

    def reset(self) -> None:
        self.sql, self.begins = [], 0

    def reading(self, table: str) -> list[str]:
        return [s for s in self.sql if s.startswith("select") and f"from {table}" in s]

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._statement)
        event.remove(self.engine, "begin", self._begin)


@pytest.fixture
def statements(api: ApiWorld) -> Iterator[Statements]:
    counted = Statements(api.cw.sql_engine)
    yield counted
    counted.close()


def test_a_token_revoked_or_a_user_deactivated_in_one_process_is_refused_at_once_in_every_other(
    api: ApiWorld, other_app: Flask, other: Casework
) -> None:
    admin, mediator = api["admin"], api["mediator"]
    here, there = mediator, on(other_app, mediator)
    for caller in (here, there, here, there):  # looked up, then served from each app's cache
        assert caller.get("/me").status_code == 200

    assert admin.post(f"/users/{mediator.user_id}/deactivate").status_code == 200  # through this app
    check_error(there.get("/me"), 401, "unauthorized")
    check_error(here.get("/me"), 401, "unauthorized")

    assert on(other_app, admin).post(f"/users/{mediator.user_id}/reactivate").status_code == 200  # through the other
    assert here.get("/me").status_code == 200 and there.get("/me").status_code == 200

    new_token = admin.post(f"/users/{mediator.user_id}/token").get_json()["token"]
    check_error(there.get("/me"), 401, "unauthorized")
    check_error(here.get("/me"), 401, "unauthorized")
    assert on(other_app, mediator, new_token).get("/me").get_json()["user_id"] == mediator.user_id

    set_active(other, mediator.user_id, False, by=TESTS)  # neither app: the command line, say
    check_error(on(other_app, mediator, new_token).get("/me"), 401, "unauthorized")
    check_error(replace(mediator, token=new_token).get("/me"), 401, "unauthorized")


def test_a_new_role_or_unit_applies_at_once_in_every_process(api: ApiWorld, other_app: Flask) -> None:
    mediator = api["mediator"]
    case_id = mediator.post(collection("labor_dispute"), json=dispute()).get_json()["case_id"]
    there = on(other_app, mediator)
    assert there.get(f"/cases/{case_id}").status_code == 200
    assert there.get("/me").get_json()["role"] == "mediator"

    update_user(api.cw, mediator.user_id, by=TESTS, role="auditor", org_unit="suzhou.wuzhong")
    me = there.get("/me").get_json()
    assert (me["role"], me["org_unit"]) == ("auditor", "suzhou.wuzhong")
    check_error(there.get(f"/cases/{case_id}"), 404, "not_found")  # gusu's case is out of the new unit's sight
    check_error(there.post(f"/disputes/{case_id}/add-note", json={"text": "x"}), 404, "not_found")


def test_a_cached_token_is_checked_against_the_record_without_reading_the_user(
    api: ApiWorld, statements: Statements
) -> None:
    mediator = api["mediator"]
    assert mediator.get("/me").status_code == 200
    statements.reset()
    assert mediator.get("/me").status_code == 200
    assert statements.reading("users") == [] and len(statements.reading("account_changes")) == 1

    update_user(api.cw, api["auditor"].user_id, by=TESTS, name="另一位审计员")  # anyone's change ends every entry
    statements.reset()
    assert mediator.get("/me").status_code == 200
    assert len(statements.reading("users")) == 1


def test_a_change_made_by_hand_past_the_record_is_seen_once_the_time_to_live_is_over(
    api: ApiWorld, other_app: Flask, other: Casework
) -> None:
    mediator = api["mediator"]
    there = on(other_app, mediator)
    now = [0.0]
    cache = token_cache(other)
    cache.clock = lambda: now[0]
    assert there.get("/me").status_code == 200
    with api.cw.write_transaction() as session:
        session.execute(update(users).where(users.c.user_id == mediator.user_id).values(active=False))
    check_error(mediator.get("/me"), 401, "unauthorized")  # this app had not cached it: read now
    now[0] += cache.ttl - 1
    assert there.get("/me").status_code == 200  # within the time-to-live, nothing in the record changed
    now[0] += 1
    check_error(there.get("/me"), 401, "unauthorized")


def test_without_the_cache_every_request_reads_the_user(api: ApiWorld) -> None:
    uncached = Casework(replace(api.cw.settings, token_cache_seconds=0), api.clock)
    try:
        app, mediator = create_app(uncached), api["mediator"]
        caller = on(app, mediator)
        counted = Statements(uncached.sql_engine)
        for _ in range(2):
            assert caller.get("/me").status_code == 200
        assert len(counted.reading("users")) == 2 and counted.reading("account_changes") == []
        counted.close()
    finally:
        uncached.close()


def test_a_case_read_is_one_transaction_and_a_command_two(api: ApiWorld, statements: Statements) -> None:
    mediator = api["mediator"]
    case_id = mediator.post(collection("labor_dispute"), json=dispute()).get_json()["case_id"]
    for _ in range(2):  # the token looked up, then from the cache
        statements.reset()
        assert mediator.get(f"/cases/{case_id}").status_code == 200
        assert statements.begins == 1, statements.sql
    statements.reset()
    assert mediator.post(f"/disputes/{case_id}/add-note", json={"text": "回访"}).status_code == 200
    assert statements.begins == 2, statements.sql  # the token and the guard's look-up; then the command


def test_an_unknown_token_is_looked_up_each_time_and_no_request_leaves_a_connection_taken(
    api: ApiWorld, statements: Statements
) -> None:
    mediator = api["mediator"]
    unknown = replace(mediator, token="cw_" + "x" * 43)
    for _ in range(2):
        check_error(unknown.get("/me"), 401, "unauthorized")
    assert len(statements.reading("users")) == 2  # a refusal is never cached
    case_id = mediator.post(collection("labor_dispute"), json=dispute()).get_json()["case_id"]
    answers = [
        mediator.get(f"/cases/{case_id}"),
        mediator.get("/cases/LD-1999-000001"),  # 404 from inside the transaction
        mediator.post(f"/disputes/{case_id}/add-note", json={"text": "回访"}),
        mediator.post(f"/disputes/{case_id}/add-note", json={"text": ""}),  # 422 after the guard
        api["auditor"].post(f"/disputes/{case_id}/add-note", json={"text": "x"}),  # 403 from the guard
    ]
    assert [a.status_code for a in answers] == [200, 404, 200, 422, 403]
    pool = api.cw.sql_engine.pool
    assert isinstance(pool, QueuePool) and pool.checkedout() == 0  # every request's transaction ended with it
