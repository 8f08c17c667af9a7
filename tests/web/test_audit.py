"""The audit screens: a case's timeline, the case as it stood at any version, and its chain verified in plain
words; for the roles engine/access.py gives them to, with personal data masked as in the API."""

from __future__ import annotations

import re

from engine.service import Actor
from tests.integration.scenarios import file_dispute
from tests.integration.tamper import flip_byte
from tests.web.conftest import WebWorld

MEDIATOR = Actor("gusu-mediator", "mediator")
ROW = re.compile(r'<tr data-version="(\d+)">')


def _dispute_with_history(web: WebWorld) -> str:
    number = file_dispute(web.cw, MEDIATOR).number
    case_id = web.cw.resolve(number)
    web.cw.execute(case_id, "accept", MEDIATOR)
    web.cw.execute(case_id, "add_note", MEDIATOR, text="已电话联系申请人", reason="跟进")
    return number


def test_the_timeline_lists_every_event_with_who_when_why_and_the_stage_it_led_to(web: WebWorld) -> None:
    number = _dispute_with_history(web)
    page = web.signed_in("gusu-supervisor").get(f"/case/{number}/history").get_data(as_text=True)
    assert ROW.findall(page) == ["1", "2", "3"]
    assert "gusu-mediator (mediator)" in page and "跟进" in page and ">受理</td>" in page
    assert "32050219800101123X" in page  # a supervisor sees personal data
    auditor = web.signed_in("gusu-auditor").get(f"/case/{number}/history").get_data(as_text=True)
    assert ROW.findall(auditor) == ["1", "2", "3"] and "32050219800101123X" not in auditor


def test_the_case_as_it_stood_at_a_version_has_no_actions(web: WebWorld) -> None:
    number = _dispute_with_history(web)
    browser = web.signed_in("gusu-supervisor")
    then = browser.get(f"/case/{number}?version=1").get_data(as_text=True)
    assert 'id="as-of"' in then and '<dd class="stage">申请</dd>' in then and "data-action=" not in then
    assert "已电话联系申请人" not in then  # the note came later
    assert browser.get(f"/case/{number}?version=4").status_code == 404
    assert browser.get(f"/case/{number}?version=x").status_code == 404


def test_verification_says_in_plain_words_whether_the_history_is_intact(web: WebWorld) -> None:
    number = _dispute_with_history(web)
    browser = web.signed_in("gusu-auditor")
    intact = browser.get(f"/case/{number}/verification").get_data(as_text=True)
    assert "历史记录完整" in intact and "3 个事件" in intact
    flip_byte(web.cw, web.cw.resolve(number), 2)
    broken = browser.get(f"/case/{number}/verification").get_data(as_text=True)
    assert "在第 2 版被改动" in broken
    assert "在第 2 版被改动：内容与其哈希值不符：记录之后被改动过" in broken  # the finding in the reader's words
    browser.post_form("/", "/language", {"lang": "en"})
    english = browser.get(f"/case/{number}/verification").get_data(as_text=True)
    assert "its content does not match its hash: it was altered after it was recorded" in english


def test_the_audit_screens_follow_the_roles_of_engine_access(web: WebWorld) -> None:
    number = _dispute_with_history(web)
    mediator = web.signed_in("gusu-mediator")
    assert mediator.get(f"/case/{number}/history").status_code == 200
    assert mediator.get(f"/case/{number}/verification").status_code == 403
    case_page = mediator.get(f"/case/{number}").get_data(as_text=True)
    assert f"/case/{number}/history" in case_page and f"/case/{number}/verification" not in case_page
    assert web.signed_in("wuzhong-mediator").get(f"/case/{number}/history").status_code == 404
