"""The case page of a person whose data was erased says so, in the reader's language, and shows none of it."""

from __future__ import annotations

from engine.accounts import add_user, get_user
from engine.erasure import erase_person
from engine.passwords import set_password
from tests.integration.scenarios import CASEWORKER, hardship_application
from tests.web.conftest import PASSWORD, TESTS, WebWorld


def test_the_case_page_says_the_worker_was_erased_and_shows_none_of_their_data(web: WebWorld) -> None:
    add_user(web.cw, "city-supervisor", "市总督查", "supervisor", "suzhou", by=TESTS)
    set_password(web.cw, "city-supervisor", PASSWORD, by=TESTS)
    application = hardship_application(org_unit="suzhou.gusu")
    opened = web.cw.open_case("hardship", CASEWORKER, **application)
    web.cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="撤回")
    browser = web.signed_in("city-supervisor")
    before = browser.get(f"/case/{opened.number}").get_data(as_text=True)
    assert "李秀英" in before
    top = get_user(web.cw, "city-supervisor")
    assert top is not None
    erase_person(web.cw, top, id_number=application["worker"]["id_number"], reason="本人申请删除")
    page = browser.get(f"/case/{opened.number}").get_data(as_text=True)
    assert "李秀英" not in page and application["worker"]["id_number"] not in page
    assert "已应本人请求删除（《个人信息保护法》第四十七条）" in page
