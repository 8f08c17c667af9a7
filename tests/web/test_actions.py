"""Action forms: drawn from the command catalogue, carrying the case version (a stale form says so and changes
nothing) and an idempotency key (a double submit runs once), with the engine's refusal beside the field it names."""

from __future__ import annotations

import re

from aggregates.labor_dispute import LaborDispute
from engine.service import Actor
from tests.integration.scenarios import file_dispute, get_as
from tests.web.conftest import Browser, WebWorld, csrf_token

MEDIATOR = Actor("gusu-mediator", "mediator")
HIDDEN = re.compile(r'name="(version|key)" value="([^"]*)"')


def _form(browser: Browser, path: str) -> dict[str, str]:
    """The hidden fields of the action form at `path` (CSRF token, case version, idempotency key)."""
    page = browser.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)
    return {"csrf_token": csrf_token(page), **dict(HIDDEN.findall(page.get_data(as_text=True)))}


def test_an_action_without_parameters_runs_from_its_form_and_leads_back_to_the_case(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/accept"
    hidden = _form(browser, path)
    assert hidden["version"] == "1" and len(hidden["key"]) == 32
    sent = browser.client.post(path, data=hidden)
    assert sent.status_code == 303 and sent.headers["Location"] == f"/case/{number}"
    case = web.cw.get(web.cw.resolve(number))
    assert case.stage == "accepted" and case.version == 2
    recorded = web.cw.command_result(f"gusu-mediator:web-{hidden['key']}")  # the form's key is the command id
    assert recorded is not None and recorded.action == "accept"


def test_the_form_has_a_field_per_parameter_and_a_missing_required_one_is_named_beside_it(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(number), "accept", MEDIATOR)
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/start_mediation"
    page = browser.get(path).get_data(as_text=True)
    assert 'name="mediator"' in page and 'maxlength="120"' in page
    refused = browser.client.post(path, data={**_form(browser, path), "mediator": ""})
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert re.search(r'id="f-mediator"[^>]*aria-describedby=mediator-problem', text)
    assert 'id="mediator-problem" role="alert">必填' in text  # said in the reader's language (Chinese by default)
    assert web.cw.get(web.cw.resolve(number)).stage == "accepted"


def test_the_engines_refusal_is_shown_beside_the_field_it_names(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    case_id = web.cw.resolve(number)
    web.cw.execute(case_id, "accept", MEDIATOR)
    web.cw.execute(case_id, "start_mediation", MEDIATOR, mediator="gusu-mediator")
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/record_session"
    page = browser.get(path).get_data(as_text=True)
    assert 'type="date"' in page and 'name="attendees"' in page
    sent = {**_form(browser, path), "held_on": "2026-03-09", "summary": "第一次调解", "attendees": "王建国\n调解员"}
    refused = browser.client.post(path, data=sent)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert 'id="held_on-problem" role="alert">may not lie in the future' in text  # the aggregate's own words
    assert "第一次调解" in text  # what was typed is kept
    sent["held_on"] = "2026-03-02"
    assert browser.client.post(path, data=sent).status_code == 303
    assert web.cw.get(case_id).version == 4


def test_a_stale_form_says_so_shows_the_case_as_it_now_stands_and_changes_nothing(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/add_note"
    hidden = _form(browser, path)
    web.cw.execute(web.cw.resolve(number), "accept", Actor("gusu-supervisor", "supervisor"))  # someone else moved it
    stale = browser.client.post(path, data={**hidden, "text": "我的备注"})
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert 'id="stale"' in text and '<dd class="stage">受理</dd>' in text and 'name="version" value="2"' in text
    case = web.cw.get(web.cw.resolve(number))
    assert case.version == 2 and case.notes == []


def test_a_double_submit_runs_the_command_once(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/add_note"
    hidden = _form(browser, path)
    first = browser.client.post(path, data={**hidden, "text": "已电话联系"})
    second = browser.client.post(path, data={**hidden, "text": "已电话联系"})
    assert first.status_code == second.status_code == 303
    case = web.cw.get(web.cw.resolve(number))
    assert [n["text"] for n in case.notes] == ["已电话联系"] and case.version == 2
    other = browser.client.post(path, data={**hidden, "text": "别的内容"})
    assert other.status_code == 422 and web.cw.get(web.cw.resolve(number)).version == 2


def test_a_role_without_the_action_or_a_reader_elsewhere_gets_no_form(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    auditor = web.signed_in("gusu-auditor")
    page = auditor.get(f"/case/{number}/accept").get_data(as_text=True)
    assert 'name="key"' not in page
    posted = auditor.client.post(
        f"/case/{number}/accept", data={**_form(auditor, f"/case/{number}/accept"), "version": "1", "key": "a" * 32}
    )
    assert posted.status_code in (403, 409) and web.cw.get(web.cw.resolve(number)).stage == "filed"
    assert web.signed_in("wuzhong-mediator").get(f"/case/{number}/accept").status_code == 404
    assert web.signed_in("gusu-mediator").get(f"/case/{number}/no_such_action").status_code == 404


def test_an_agreement_takes_amounts_by_name_as_rows_of_a_name_and_an_amount(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    case_id = web.cw.resolve(number)
    web.cw.execute(case_id, "accept", MEDIATOR)
    web.cw.execute(case_id, "start_mediation", MEDIATOR, mediator="gusu-mediator")
    browser = web.signed_in("gusu-mediator")
    path = f"/case/{number}/reach_agreement"
    sent = {
        **_form(browser, path),
        "terms": "企业分两期支付拖欠工资",
        "performance_due": "2026-03-20",
        "amounts.0.name": "工资",
        "amounts.0.amount": "8600.00",
    }
    grown = browser.client.post(path, data={**sent, "add_row": "amounts"})
    assert grown.status_code == 200 and 'name="amounts.1.amount"' in grown.get_data(as_text=True)
    assert 'name="version" value="3"' in grown.get_data(as_text=True) and web.cw.get(case_id).version == 3
    refused = browser.client.post(path, data={**sent, "amounts.1.name": "加班费", "amounts.1.amount": "很多"})
    assert refused.status_code == 422 and web.cw.get(case_id).version == 3
    assert 'id="amounts.1.amount-problem" role="alert">须为数字，如 8600.00' in refused.get_data(as_text=True)
    done = browser.client.post(path, data={**sent, "amounts.1.name": "加班费", "amounts.1.amount": "1200"})
    assert done.status_code == 303
    agreed = get_as(web.cw, case_id, LaborDispute)
    assert agreed.stage == "agreement_reached" and agreed.agreement is not None
    assert {k: str(v) for k, v in agreed.agreement["amounts"].items()} == {
        "工资": "8600.00",
        "加班费": "1200.00",
    }


def test_a_choice_inside_a_row_starts_empty_so_a_row_left_alone_sends_nothing(web: WebWorld) -> None:
    """A browser always sends a select's chosen option: without an empty one, a row nobody touched was a row with a
    category and nothing else, refused for its missing parts (the confirm form's rectification items)."""
    page = web.signed_in("gusu-mediator").get("/new/labor_dispute").get_data(as_text=True)
    select = re.search(r'<select id="f-claims\.0\.category" name="claims\.0\.category" *>\s*(<option[^>]*>)', page)
    assert select is not None, "the claim row's category is a select the browser does not insist on"
    assert select.group(1) == '<option value="">'
