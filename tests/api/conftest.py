"""Fixtures for the HTTP API tests: the real Flask app (wired as bootstrap.py wires it) over a migrated engine
(SQLite and PostgreSQL), a small org tree and one user per role, each with their own bearer token."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import Flask
from flask.testing import FlaskClient

from aggregates.stages import USER_ROLES
from engine.accounts import add_org, add_user
from engine.clock import FixedClock
from engine.service import Actor, Casework
from tests.api.support import Caller, Walk

ORGS = (
    ("suzhou", "苏州市总工会"),
    ("suzhou.gusu", "姑苏区总工会"),
    ("suzhou.gusu.shuangta", "双塔街道总工会"),
    ("suzhou.wuzhong", "吴中区总工会"),
)
TESTS = Actor("tests", "admin")
"""Who the record of account changes names for the fixture's users."""
HOME = "suzhou.gusu"
"""Where the one-user-per-role callers work: they see gusu and shuangta, not wuzhong or the city."""

EXTRA_USERS = {
    "city_supervisor": ("supervisor", "suzhou"),
    "shuangta_mediator": ("mediator", "suzhou.gusu.shuangta"),
    "wuzhong_mediator": ("mediator", "suzhou.wuzhong"),
    "wuzhong_admin": ("admin", "suzhou.wuzhong"),
}


@dataclass
class ApiWorld:
    """The app, its engine and clock, and a caller per role (by role name) plus a few in other units."""

    cw: Casework
    clock: FixedClock
    app: Flask
    client: FlaskClient
    callers: dict[str, Caller] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Caller:
        return self.callers[name]

    def new_client(self) -> FlaskClient:
        return self.app.test_client()

    def walk(self) -> Walk:
        return Walk(self.callers, self.clock)


@pytest.fixture
def api(cw: Casework, clock: FixedClock, app: Flask) -> ApiWorld:
    for path, name in ORGS:
        add_org(cw, path, name)
    world = ApiWorld(cw, clock, app, app.test_client())
    users = {role: (role, HOME) for role in USER_ROLES} | EXTRA_USERS
    for name, (role, unit) in users.items():
        user_id = name.replace("_", "-")
        _, token = add_user(cw, user_id, name, role, unit, by=TESTS)
        world.callers[name] = Caller(world.client, user_id, role, unit, token)
    return world
