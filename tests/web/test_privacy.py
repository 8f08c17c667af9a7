"""The erasure screen: only a supervisor at the top of the tree sees it; refusals on the form; an erasure done."""

from __future__ import annotations

from engine.accounts import add_user
from engine.audit import history
from engine.passwords import set_password
from tests.integration.scenarios import CASEWORKER, hardship_application
from tests.web.conftest import PASSWORD, TESTS, WebWorld

ID = hardship_application()["worker"]["id_number"]


def _city_supervisor(web: WebWorld):
    add_user(web.cw, "city-supervisor", "市总督查", "supervisor", "suzhou", by=TESTS)
    set_password(web.cw, "city-supervisor", PASSWORD, by=TESTS)
    return web.signed_in("city-supervisor")


def _post(browser, form: dict[str, str]):
    return browser.post_form("/privacy/erasure", "/privacy/erasure", form)


def test_only_a_supervisor_at_the_top_of_the_tree_opens_the_erasure_screen(web: WebWorld) -> None:
    assert web.signed_in("gusu-supervisor").get("/privacy/erasure").status_code == 403
    browser = _city_supervisor(web)
    shown = browser.get("/privacy/erasure")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "删除个人信息" in text and "《个人信息保护法》第四十七条" in text


def test_a_person_is_erased_from_the_screen_after_the_form_s_refusals(web: WebWorld) -> None:
    opened = web.cw.open_case("hardship", CASEWORKER, **hardship_application(org_unit="suzhou.gusu"))
    browser = _city_supervisor(web)
    unconfirmed = _post(browser, {"id_number": ID, "reason": "本人申请删除"})
    assert unconfirmed.status_code == 422 and "请确认删除" in unconfirmed.get_data(as_text=True)
    still_open = _post(browser, {"id_number": ID, "reason": "本人申请删除", "confirm": "yes"})
    assert still_open.status_code == 409 and opened.number in still_open.get_data(as_text=True)
    web.cw.execute(opened.case_id, "withdraw", CASEWORKER, reason="撤回")
    done = _post(browser, {"id_number": ID, "reason": "本人申请删除", "confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"] == "/privacy/erasure"
    assert f"已删除。删除操作已记入 {opened.number}。" in browser.get("/privacy/erasure").get_data(as_text=True)
    last = history(web.cw, opened.number)[-1]
    assert (last.action, last.actor_id, last.reason) == ("erase_personal_data", "city-supervisor", "本人申请删除")
