"""Fixtures for browser tests: the real app (bootstrap.http_app) over a migrated service on SQLite and PostgreSQL,
served over real HTTP on 127.0.0.1, driven by Debian's Chromium through Playwright, Chinese by default.

Chromium comes from the system (`apt-get install chromium fonts-noto-cjk`), never from Playwright's own download.
Without it the tests are skipped, except under CI=true, where that is a failure. Each test saves screenshots of
the screens it visits into docs/screenshots/ (from the SQLite run only, so each file is written once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Locator, Page, Playwright, ViewportSize, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from api.app import create_app
from bootstrap import http_app
from engine.accounts import add_org, add_user
from engine.clock import FixedClock
from engine.passwords import set_password
from engine.scheduler import Scheduler
from engine.service import Casework
from tests.conftest import IN_CI
from tests.web.conftest import ORGS, PASSWORD, TESTS, USERS
from web import WebSettings, register

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, and a closed network refuses its connections.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = ViewportSize(width=1366, height=768)
PHONE = ViewportSize(width=390, height=844)
SEND = "form.action button[type=submit]:not([name])"
"""An action form's Send button (a form may have other submit buttons, such as one adding a row)."""
SCREENSHOTS = Path(__file__).parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    """One Chromium for the browser tests: starting it takes about a second, a new context a few milliseconds. It is
    stopped after the last of them: Playwright's synchronous API keeps an event loop in this thread while it runs,
    and Prefect, seeing one, would take the later flow tests for async code."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        if IN_CI:
            pytest.fail(f"CI=true but {reason}", pytrace=False)
        pytest.skip(reason)
    playwright: Playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@dataclass
class Site:
    """The workspace served over HTTP for one test, its service and clock, and a way to open browser tabs."""

    cw: Casework
    clock: FixedClock
    base_url: str
    browser: Browser
    screenshots: bool
    """Whether this run writes the screenshots (the SQLite variant does; the PostgreSQL one would repeat them)."""
    contexts: list[BrowserContext] = field(default_factory=list)

    def context(self, locale: str = "zh-CN") -> BrowserContext:
        """A new browser profile (its own cookies), as a person on another machine would have."""
        context = self.browser.new_context(base_url=self.base_url, locale=locale, viewport=DESKTOP)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        return context

    def tab(self, context: BrowserContext | None = None) -> Page:
        return (context or self.context()).new_page()

    def sign_in(self, user_id: str, password: str = PASSWORD, page: Page | None = None) -> Page:
        """A tab signed in through the sign-in form, on the work queue."""
        page = page or self.tab()
        page.goto("/sign-in")
        page.fill("#user_id", user_id)
        page.fill("#password", password)
        page.click("main form button[type=submit]")
        page.wait_for_url(f"{self.base_url}/")
        return page

    def shot(self, page: Page, name: str, mask: Sequence[Locator] = ()) -> None:
        """A full-page PNG of what the page shows now, as docs/screenshots/<name>.png; what changes from run to run
        (a generated password) is masked, so the file changes only when the page does."""
        if self.screenshots:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.wait_for_load_state("load")  # a page shown while still arriving is measured too short
            page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True, mask=list(mask))

    def phone_shot(self, page: Page, name: str) -> None:
        """The same page at a phone's width, then back to the desktop's."""
        if self.screenshots:
            page.set_viewport_size(PHONE)
            self.shot(page, name)
            page.set_viewport_size(DESKTOP)


def _serve(app: Callable[..., object]) -> BaseWSGIServer:
    server = make_server("127.0.0.1", 0, app, threaded=True)  # type: ignore[arg-type]
    threading.Thread(target=server.serve_forever, name="casework-http", daemon=True).start()
    return server


@pytest.fixture
def campaign_scheduler() -> Scheduler | None:
    """What the served app starts campaign runs with: None for the app's own (Prefect's, which the tests have no
    server for); a test module overrides this fixture to run campaigns in the test's process."""
    return None


def _app(cw: Casework, scheduler: Scheduler | None) -> Flask:
    if scheduler is None:
        return http_app(cw)
    app = create_app(cw, scheduler)  # as http_app builds it, with another scheduler
    register(app, WebSettings.from_env())
    return app


@pytest.fixture
def site(
    request: pytest.FixtureRequest,
    cw: Casework,
    clock: FixedClock,
    chromium: Browser,
    campaign_scheduler: Scheduler | None,
) -> Iterator[Site]:
    """The org tree and users of the workspace tests, the app served on a free port, and tabs to open on it."""
    for path, name in ORGS:
        add_org(cw, path, name)
    for user_id, (role, unit) in USERS.items():
        add_user(cw, user_id, user_id, role, unit, by=TESTS)
        set_password(cw, user_id, PASSWORD, by=TESTS)
    server = _serve(_app(cw, campaign_scheduler))
    variant = request.node.callspec.params.get("database_url")
    world = Site(cw, clock, f"http://127.0.0.1:{server.server_port}", chromium, screenshots=variant == "sqlite")
    yield world
    for context in world.contexts:
        context.close()
    server.shutdown()
    server.server_close()
