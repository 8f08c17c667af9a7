"""The work queue and the case page: the reader's unit and below, overdue first, search and pages, and exactly the
actions the engine would accept from the reader now, with personal data masked for the roles that see it masked."""

from __future__ import annotations

import re

from engine.service import Actor
from engine.views import case_view
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

MEDIATOR = Actor("gusu-mediator", "mediator")
ACTION = re.compile(r'data-action="([a-z_]+)"')
CASE_LINK = re.compile(r'href="/case/([A-Z]{2}-\d{4}-\d{6})"')


def _queue_numbers(page: str) -> list[str]:
    return CASE_LINK.findall(page)


def test_the_queue_lists_overdue_cases_first_then_those_due_soon_then_the_rest_with_counts(web: WebWorld) -> None:
    overdue = file_dispute(web.cw, MEDIATOR, summary="拖欠工资 A").number  # acceptance due in 3 working days
    web.clock.advance(days=8)
    due_soon = file_dispute(web.cw, MEDIATOR, summary="拖欠工资 B").number
    accepted = file_dispute(web.cw, MEDIATOR, employer={"name": "姑苏纺织服装有限公司"}).number
    web.cw.execute(web.cw.resolve(accepted), "accept", MEDIATOR)  # no clock runs while it waits for mediation
    elsewhere = file_dispute(web.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong").number
    page = web.signed_in("gusu-mediator").get("/").get_data(as_text=True)
    assert _queue_numbers(page) == [overdue, due_soon, accepted]
    assert elsewhere not in page
    assert "在办案件：3" in page and "已逾期：1" in page and "3 个工作日内到期：1" in page
    assert re.search(r'class="clock overdue">\s*受理期限', page)


def test_the_queue_searches_by_number_party_or_enterprise_and_pages(web: WebWorld) -> None:
    numbers = [file_dispute(web.cw, MEDIATOR).number for _ in range(26)]
    textile = file_dispute(web.cw, MEDIATOR, employer={"name": "姑苏纺织服装有限公司"}).number
    browser = web.signed_in("gusu-mediator")
    assert _queue_numbers(browser.get("/?q=纺织").get_data(as_text=True)) == [textile]
    assert _queue_numbers(browser.get(f"/?q={numbers[3]}").get_data(as_text=True)) == [numbers[3]]
    first, second = browser.get("/").get_data(as_text=True), browser.get("/?page=2").get_data(as_text=True)
    assert len(_queue_numbers(first)) == 25 and len(_queue_numbers(second)) == 2
    assert set(_queue_numbers(first)) | set(_queue_numbers(second)) == {*numbers, textile}
    assert "第 1 页，共 2 页" in first and 'href="/?page=2"' in first


def test_only_mine_lists_the_cases_assigned_to_the_reader(web: WebWorld) -> None:
    mine = file_dispute(web.cw, MEDIATOR, assignee="gusu-mediator").number
    file_dispute(web.cw, MEDIATOR, assignee="someone-else")
    browser = web.signed_in("gusu-mediator")
    assert len(_queue_numbers(browser.get("/").get_data(as_text=True))) == 2
    assert _queue_numbers(browser.get("/?mine=1").get_data(as_text=True)) == [mine]


def test_cases_with_a_deadline_alert_from_the_scheduler_are_marked_and_can_be_listed_alone(web: WebWorld) -> None:
    alerted = file_dispute(web.cw, MEDIATOR).number
    web.clock.advance(days=5)
    quiet = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(alerted), "raise_alert", Actor("system", "system"), clock="acceptance")
    browser = web.signed_in("gusu-supervisor")
    everything = browser.get("/").get_data(as_text=True)
    assert _queue_numbers(everything) == [alerted, quiet] and everything.count(">时限提醒</span>") == 1
    assert _queue_numbers(browser.get("/?alerts=1").get_data(as_text=True)) == [alerted]
    assert ">时限提醒</span>" in browser.get(f"/case/{alerted}").get_data(as_text=True)


def test_a_case_of_another_district_does_not_exist_for_the_reader(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    outsider = web.signed_in("wuzhong-mediator")
    assert outsider.get(f"/case/{number}").status_code == 404
    assert outsider.get("/case/LD-2026-999999").status_code == 404
    assert web.signed_in("gusu-mediator").get(f"/case/{number}").status_code == 200


def test_the_case_page_offers_exactly_the_actions_the_engine_would_accept_from_the_reader(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    case = web.cw.get(web.cw.resolve(number))
    today = web.clock.now().astimezone(web.cw.settings.tz).date()
    for user_id, role in (
        ("gusu-mediator", "mediator"),
        ("gusu-supervisor", "supervisor"),
        ("gusu-auditor", "auditor"),
    ):
        page = web.signed_in(user_id).get(f"/case/{number}").get_data(as_text=True)
        expected = case_view(case, role, today, web.cw.settings.tz, actor_id=user_id, policy=web.cw.settings.policy)
        assert ACTION.findall(page) == expected["allowed_actions"], role
    assert "accept" in ACTION.findall(web.signed_in("gusu-mediator").get(f"/case/{number}").get_data(as_text=True))
    assert ACTION.findall(web.signed_in("gusu-auditor").get(f"/case/{number}").get_data(as_text=True)) == []


def test_the_case_page_shows_stage_clocks_with_working_days_left_and_notes(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(number), "add_note", MEDIATOR, text="已电话联系申请人")
    page = web.signed_in("gusu-mediator").get(f"/case/{number}").get_data(as_text=True)
    assert '<dd class="stage">申请</dd>' in page
    assert "受理期限: 2026年3月5日" in page and "剩余 3 个工作日" in page  # filed on Monday 2 March
    assert "已电话联系申请人" in page
    web.clock.advance(days=4)
    later = web.signed_in("gusu-mediator").get(f"/case/{number}").get_data(as_text=True)
    assert re.search(r'class="clock overdue">\s*受理期限', later) and "已逾期 1 个工作日" in later


def test_personal_data_is_masked_for_the_roles_that_see_it_masked(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    full = "32050219800101123X"
    assert full in web.signed_in("gusu-mediator").get(f"/case/{number}").get_data(as_text=True)
    for reader in ("gusu-auditor", "gusu-inspector"):
        page = web.signed_in(reader).get(f"/case/{number}").get_data(as_text=True)
        assert full not in page and "13800000000" not in page, reader


def test_the_case_page_shows_the_latest_notes_and_links_to_every_note_by_pages(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    case_id = web.cw.resolve(number)
    for i in range(30):
        web.cw.execute(case_id, "add_note", MEDIATOR, text=f"回访记录{i:02d}")
    browser = web.signed_in("gusu-mediator")
    page = browser.get(f"/case/{number}").get_data(as_text=True)
    shown = re.findall(r"回访记录(\d\d)", page)
    assert shown == [f"{i:02d}" for i in range(10, 30)]
    assert "最近 20 条，共 30 条备注。" in page
    assert f'href="/case/{number}/notes?page=2"' in page  # the page with the newest notes

    first = browser.get(f"/case/{number}/notes").get_data(as_text=True)
    second = browser.get(f"/case/{number}/notes?page=2").get_data(as_text=True)
    assert re.findall(r"回访记录(\d\d)", first) == [f"{i:02d}" for i in range(25)]
    assert re.findall(r"回访记录(\d\d)", second) == [f"{i:02d}" for i in range(25, 30)]
    assert "共 30 条备注，按时间先后排列。" in first and "第 1 页，共 2 页" in first
    assert f'href="/case/{number}/notes?page=2"' in first
    for odd in ("0", "x", "9" * 40):  # not a page number: the first page
        assert (
            re.findall(r"回访记录(\d\d)", browser.get(f"/case/{number}/notes?page={odd}").get_data(as_text=True))[0]
            == "00"
        )

    few = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(few), "add_note", MEDIATOR, text="唯一的备注")
    page = browser.get(f"/case/{few}").get_data(as_text=True)
    assert "唯一的备注" in page and "全部备注" not in page


def test_notes_of_a_case_in_another_unit_are_not_found(web: WebWorld) -> None:
    elsewhere = file_dispute(web.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong").number
    assert web.signed_in("gusu-mediator").get(f"/case/{elsewhere}/notes").status_code == 404
    assert web.browser().get(f"/case/{elsewhere}/notes").status_code in (302, 303)


def test_a_page_number_past_any_integer_the_database_holds_is_the_first_page(web: WebWorld) -> None:
    """`?page=` with 40 digits reached the database as an offset it cannot hold: a 500 on the queue and the inbox."""
    number = file_dispute(web.cw, MEDIATOR).number
    browser = web.signed_in("gusu-mediator")
    huge = "9" * 40
    queue = browser.get(f"/?page={huge}")
    assert queue.status_code == 200 and _queue_numbers(queue.get_data(as_text=True)) == [number]
    assert browser.get(f"/inbox?page={huge}").status_code == 200
