"""Signing in to the workspace: the password form, the lockout, CSRF on every form, the session cookie, the idle
timeout, signing out and the headers every page carries."""

from __future__ import annotations

from engine.passwords import MAX_FAILURES
from tests.web.conftest import PASSWORD, WebWorld, csrf_token


def test_the_workspace_sends_a_stranger_to_the_sign_in_page_and_signs_in_with_the_right_password(
    web: WebWorld,
) -> None:
    browser = web.browser()
    first = browser.get("/")
    assert first.status_code == 302 and first.headers["Location"].startswith("/sign-in")
    signed_in = browser.sign_in("gusu-mediator")
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/"
    queue = browser.get("/")
    assert queue.status_code == 200 and "gusu-mediator" in queue.get_data(as_text=True)


def test_a_wrong_password_is_refused_and_the_page_says_so_without_saying_which_was_wrong(web: WebWorld) -> None:
    browser = web.browser()
    browser.get("/sign-in")
    for user_id, password in (("gusu-mediator", "not the password"), ("nobody", PASSWORD)):
        refused = browser.sign_in(user_id, password)
        assert refused.status_code == 401
        assert "用户名或密码错误" in refused.get_data(as_text=True)
    assert browser.get("/").status_code == 302


def test_after_five_wrong_passwords_even_the_right_one_is_refused_with_the_time_the_lock_ends(web: WebWorld) -> None:
    browser = web.browser()
    for _ in range(MAX_FAILURES):
        browser.sign_in("gusu-mediator", "not the password")
    locked = browser.sign_in("gusu-mediator")
    assert locked.status_code == 401
    assert "已锁定至 09:15" in locked.get_data(as_text=True)  # 09:00 + 15 minutes, in the installation's zone
    web.clock.advance(seconds=15 * 60)
    assert browser.sign_in("gusu-mediator").status_code == 302


def test_a_form_without_its_csrf_token_is_refused(web: WebWorld) -> None:
    browser = web.browser()
    refused = browser.client.post("/sign-in", data={"user_id": "gusu-mediator", "password": PASSWORD})
    assert refused.status_code == 400 and "表单已过期" in refused.get_data(as_text=True)
    signed_in = web.signed_in("gusu-mediator")
    assert signed_in.client.post("/sign-out").status_code == 400
    assert signed_in.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
    forged = signed_in.client.post("/sign-out", data={"csrf_token": "forged"})
    assert forged.status_code == 400


def test_the_session_cookie_is_http_only_and_same_site_lax_and_secure_over_https(web: WebWorld) -> None:
    cookie = web.browser().sign_in("gusu-mediator").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    browser = web.browser()
    token = csrf_token(browser.client.get("/sign-in", base_url="https://localhost"))
    over_tls = browser.client.post(
        "/sign-in",
        data={"csrf_token": token, "user_id": "gusu-mediator", "password": PASSWORD},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/sign-in"},
    )
    assert over_tls.status_code == 302 and "Secure" in over_tls.headers["Set-Cookie"]


def test_secure_cookies_can_be_required_behind_a_proxy_that_ends_tls() -> None:
    from web import WebSettings

    assert WebSettings.from_env({"CASEWORK_SECURE_COOKIES": "1"}).secure_cookies
    assert not WebSettings.from_env({}).secure_cookies
    assert WebSettings.from_env({}).idle_minutes == 30


def test_a_session_idle_longer_than_the_timeout_is_signed_out_and_told_why(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    web.clock.advance(seconds=29 * 60)
    assert browser.get("/").status_code == 200  # activity renews the idle time
    web.clock.advance(seconds=29 * 60)
    assert browser.get("/").status_code == 200
    web.clock.advance(seconds=31 * 60)
    expired = browser.get("/")
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/sign-in")
    assert "长时间未操作" in browser.get("/sign-in").get_data(as_text=True)


def test_signing_out_ends_the_session(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    out = browser.post_form("/", "/sign-out", {})
    assert out.status_code == 302 and out.headers["Location"] == "/sign-in"
    assert browser.get("/").status_code == 302


def test_a_deactivated_user_is_signed_out_at_their_next_request(web: WebWorld) -> None:
    from engine.accounts import set_active
    from tests.web.conftest import TESTS

    browser = web.signed_in("gusu-mediator")
    set_active(web.cw, "gusu-mediator", False, by=TESTS)
    assert browser.get("/").status_code == 302


def test_a_new_password_ends_every_session_signed_in_with_the_old_one(web: WebWorld) -> None:
    from engine.passwords import set_password
    from tests.web.conftest import TESTS

    browser, other = web.signed_in("gusu-mediator"), web.signed_in("gusu-supervisor")
    set_password(web.cw, "gusu-mediator", "another long password", by=TESTS)
    assert browser.get("/").status_code == 302
    assert other.get("/").status_code == 200  # another user's session is untouched
    assert browser.sign_in("gusu-mediator", "another long password").status_code == 302
    assert browser.get("/").status_code == 200


def test_every_page_forbids_inline_script_and_framing_and_is_not_cached(web: WebWorld) -> None:
    for response in (web.browser().get("/sign-in"), web.signed_in("gusu-mediator").get("/")):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Cache-Control"] == "no-store"
        assert "<script" not in response.get_data(as_text=True)


def test_the_style_sheet_is_served_by_the_app_itself(web: WebWorld) -> None:
    page = web.browser().get("/sign-in").get_data(as_text=True)
    assert 'href="/assets/workspace.css"' in page and "http" not in page.split("<body>")[0]
    sheet = web.browser().get("/assets/workspace.css")
    assert sheet.status_code == 200 and sheet.mimetype == "text/css"


def test_an_address_to_return_to_after_signing_in_stays_on_this_site(web: WebWorld) -> None:
    browser = web.browser()
    token = csrf_token(browser.get("/sign-in"))
    for target, expected in (("/case/LD-2026-000001", "/case/LD-2026-000001"), ("//evil.example/", "/")):
        answer = browser.client.post(
            "/sign-in", data={"csrf_token": token, "user_id": "gusu-mediator", "password": PASSWORD, "next": target}
        )
        assert answer.headers["Location"] == expected
        token = csrf_token(browser.get("/sign-in"))


def test_chinese_by_default_and_english_by_choice_kept_in_the_session(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    assert "待办队列" in browser.get("/").get_data(as_text=True)
    switched = browser.post_form("/", "/language", {"lang": "en", "next": "/?q=x"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/?q=x"
    page = browser.get("/").get_data(as_text=True)
    assert "Work queue" in page and "待办队列" not in page and '<html lang="en">' in page
    browser.post_form("/", "/language", {"lang": "zh_CN"})
    assert "待办队列" in browser.get("/").get_data(as_text=True)
    browser.post_form("/", "/language", {"lang": "xx"})  # not a language of the workspace: nothing changes
    assert "待办队列" in browser.get("/").get_data(as_text=True)
