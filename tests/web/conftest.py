"""Fixtures for the web workspace: the real Flask app (as bootstrap.http_app builds it) over a migrated engine on
SQLite and PostgreSQL, a small org tree, and users with passwords who sign in through the sign-in form."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.accounts import add_org, add_user
from engine.clock import FixedClock
from engine.passwords import set_password
from engine.service import Actor, Casework

ORGS = (
    ("suzhou", "苏州市总工会"),
    ("suzhou.gusu", "姑苏区总工会"),
    ("suzhou.gusu.shuangta", "双塔街道总工会"),
    ("suzhou.wuzhong", "吴中区总工会"),
)
USERS = {
    "gusu-mediator": ("mediator", "suzhou.gusu"),
    "gusu-supervisor": ("supervisor", "suzhou.gusu"),
    "gusu-auditor": ("auditor", "suzhou.gusu"),
    "gusu-inspector": ("inspector", "suzhou.gusu"),
    "wuzhong-mediator": ("mediator", "suzhou.wuzhong"),
    "gusu-admin": ("admin", "suzhou.gusu"),
    "wuzhong-admin": ("admin", "suzhou.wuzhong"),
}
PASSWORD = "a long enough password"
TESTS = Actor("tests", "admin")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: TestResponse) -> str:
    """The CSRF token a page's form carries."""
    found = CSRF.search(page.get_data(as_text=True))
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A test client that signs in through the form, as a person would."""

    client: FlaskClient

    def sign_in(self, user_id: str, password: str = PASSWORD) -> TestResponse:
        token = csrf_token(self.client.get("/sign-in"))
        return self.client.post("/sign-in", data={"csrf_token": token, "user_id": user_id, "password": password})

    def get(self, path: str) -> TestResponse:
        return self.client.get(path)

    def post_form(self, page: str, action: str, data: dict[str, str]) -> TestResponse:
        """Submit a form of `page` to `action`, with the CSRF token the page carries."""
        return self.client.post(action, data={"csrf_token": csrf_token(self.client.get(page)), **data})


@dataclass
class WebWorld:
    cw: Casework
    clock: FixedClock
    app: Flask

    def browser(self) -> Browser:
        return Browser(self.app.test_client())

    def signed_in(self, user_id: str) -> Browser:
        browser = self.browser()
        assert browser.sign_in(user_id).status_code == 302
        return browser


@pytest.fixture
def web(cw: Casework, clock: FixedClock, app: Flask) -> WebWorld:
    for path, name in ORGS:
        add_org(cw, path, name)
    for user_id, (role, unit) in USERS.items():
        add_user(cw, user_id, user_id, role, unit, by=TESTS)
        set_password(cw, user_id, PASSWORD, by=TESTS)
    return WebWorld(cw, clock, app)
