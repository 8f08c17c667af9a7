"""Signing in through a real browser: a wrong password refused in plain words, the account locked after five, and
open again when the lock ends."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Site
from tests.web.conftest import PASSWORD

WRONG = "not the password at all"


def try_password(page: Page, user_id: str, password: str) -> None:
    page.fill("#user_id", user_id)
    page.fill("#password", password)
    page.click("main form button[type=submit]")
    page.wait_for_load_state()


def test_a_wrong_password_is_refused_and_five_lock_the_account(site: Site) -> None:
    page = site.tab()
    page.goto("/")  # not signed in: sent to the sign-in page
    expect(page).to_have_url(f"{site.base_url}/sign-in?next=/")
    expect(page.locator("h1")).to_have_text("登录")
    expect(page.locator("label[for=user_id]")).to_have_text("用户名")
    site.shot(page, "sign-in-zh")

    try_password(page, "gusu-mediator", WRONG)
    expect(page.locator("p.message")).to_have_text("用户名或密码错误，或账户未启用。")
    expect(page.locator("#user_id")).to_have_value("gusu-mediator")  # kept, the password not
    expect(page.locator("#password")).to_have_value("")
    site.shot(page, "sign-in-refused-zh")

    for _ in range(4):
        try_password(page, "gusu-mediator", WRONG)
    site.clock.advance(seconds=60)
    try_password(page, "gusu-mediator", PASSWORD)  # the right one, during the lock
    expect(page.locator("p.message")).to_contain_text("密码错误次数过多：此账户已锁定至 09:15")
    expect(page.locator("h1")).to_have_text("登录")
    site.shot(page, "sign-in-locked-zh")

    site.clock.advance(seconds=15 * 60)
    try_password(page, "gusu-mediator", PASSWORD)
    expect(page).to_have_url(f"{site.base_url}/")
    expect(page.locator("h1")).to_have_text("待办队列")
