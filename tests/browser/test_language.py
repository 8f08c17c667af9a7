"""The language switch in a real browser: Chinese by default, English by choice, the choice kept from page to page
and across signing out, and back to Chinese."""

from __future__ import annotations

from playwright.sync_api import expect

from engine.service import Actor
from tests.browser.conftest import Site
from tests.integration.scenarios import file_dispute


def test_the_language_switch_goes_to_english_and_back_and_is_kept_across_pages(site: Site) -> None:
    number = file_dispute(site.cw, Actor("gusu-mediator", "mediator")).number
    page = site.sign_in("gusu-mediator")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("待办队列")

    page.click("header button[value=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Work queue")
    expect(page.locator(".counts")).to_contain_text("Open cases: 1")
    site.shot(page, "queue-en")

    page.click(f"text={number}")  # another page: still English
    expect(page.locator("#actions-h")).to_have_text("Actions you may take now")
    expect(page.locator("dd.stage")).to_have_text("filed, awaiting acceptance")
    expect(page.locator("a[data-action=accept]")).to_have_text("accept")
    site.shot(page, "case-en")
    page.click("text=History")
    expect(page.locator("h1")).to_have_text(f"History of {number}")
    site.shot(page, "history-en")

    page.click("header button:has-text('Sign out')")  # the choice outlives the session
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("label[for=password]")).to_have_text("Password")
    site.shot(page, "sign-in-en")
    site.sign_in("gusu-mediator", page=page)
    expect(page.locator("h1")).to_have_text("Work queue")

    page.goto(f"/case/{number}")
    page.click("header button[value=zh_CN]")
    expect(page).to_have_url(f"{site.base_url}/case/{number}")  # back on the page it was switched on
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#actions-h")).to_have_text("您现在可以进行的操作")
    page.goto("/")
    expect(page.locator("h1")).to_have_text("待办队列")
