"""An admin in a real browser: a mediator locked out by five wrong passwords gets a new one, made up and shown once
on the admin's screen; it opens the workspace, and the mediator's session on another machine has ended."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.conftest import Site


def test_an_admin_gives_a_locked_out_mediator_a_new_password_shown_once(site: Site) -> None:
    desk = site.sign_in("gusu-mediator")  # the mediator signed in at their desk
    phone = site.tab()  # and, on a phone, five wrong passwords
    phone.goto("/sign-in")
    for _ in range(5):
        phone.fill("#user_id", "gusu-mediator")
        phone.fill("#password", "not the password at all")
        phone.click("main form button[type=submit]")
        phone.wait_for_load_state()
    expect(phone.locator("p.message")).to_contain_text("此账户已锁定至 09:15")

    admin = site.sign_in("gusu-admin")
    admin.click("header a:has-text('管理')")
    admin.click("main a[href='/admin/units']")
    expect(admin.locator("ul.tree")).to_contain_text("双塔街道总工会")  # the admin's unit and those below it
    expect(admin.locator("ul.tree")).not_to_contain_text("吴中区总工会")
    site.shot(admin, "admin-units-zh")
    admin.click(".admin-nav a[href='/admin/users']")
    listed = admin.locator("table.queue tbody tr").filter(has=admin.locator("a:text-is('gusu-mediator')"))
    expect(listed.locator("td").nth(5)).to_have_text("至 2026-03-02 09:15")  # locked, in the list of users
    site.shot(admin, "admin-users-zh")
    listed.locator("a").click()
    expect(admin.locator("dl.facts")).to_contain_text("至 2026-03-02 09:15")  # the lock, and until when
    admin.click("form[action$='/password'] button[type=submit]")  # "make one up" is the default
    shown = admin.locator("#new-password")
    expect(shown).to_contain_text("gusu-mediator 的新密码如下。用旧密码登录的会话均已结束。")
    expect(shown).to_contain_text("请立即复制：它不会再次显示。")
    new_password = shown.locator("code.secret").inner_text().strip()
    assert len(new_password) >= 10
    site.shot(admin, "admin-new-password-zh", mask=[shown.locator("code.secret")])
    admin.goto("/admin/users/gusu-mediator")  # shown once: not on the next visit
    expect(admin.locator("#new-password")).to_have_count(0)
    expect(admin.locator("main")).not_to_contain_text(new_password)

    desk.reload()  # the session signed in with the old password has ended
    expect(desk.locator("h1")).to_have_text("登录")
    site.sign_in("gusu-mediator", new_password, page=phone)  # the lock is lifted, the new password opens the queue
    expect(phone.locator("h1")).to_have_text("待办队列")
