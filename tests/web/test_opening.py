"""Opening a case from the workspace: one form per case type drawn from its creating action (structured parts as
groups, lists of parts as rows added without script), the owning unit within the reader's scope, the engine's
refusal beside the input it names, and a form sent twice opening one case."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from aggregates.hardship import HardshipCase
from aggregates.labor_dispute import LaborDispute
from engine.registry import CASE_TYPES
from engine.tables import case_index
from tests.integration.scenarios import get_as
from tests.web.conftest import Browser, WebWorld, csrf_token

KEY = re.compile(r'name="key" value="([0-9a-f]{32})"')


def _cases(web: WebWorld) -> int:
    with web.cw.read_transaction() as session:
        return session.execute(select(func.count()).select_from(case_index)).scalar_one()


def _blank(browser: Browser, kind: str) -> dict[str, str]:
    """The hidden fields of a new opening form for `kind`."""
    page = browser.get(f"/new/{kind}")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    found = KEY.search(text)
    assert found is not None
    return {"csrf_token": csrf_token(page), "key": found.group(1)}


DISPUTE = {
    "org_unit": "suzhou.gusu.shuangta",
    "employer.name": "苏州示例精密机械有限公司",
    "employer.credit_code": "91320500MA1XXXXXXC",
    "applicants.0.name": "王建国",
    "applicants.0.id_number": "32050219800101123X",
    "workers_involved": "12",
    "claims.0.category": "wages",
    "claims.0.amount": "8600.00",
    "claims.0.description": "拖欠两个月工资",
    "summary": "拖欠工资",
}


@pytest.mark.parametrize("kind", sorted(CASE_TYPES))
def test_every_case_type_has_an_opening_form_with_a_group_or_rows_for_each_structured_part(
    web: WebWorld, kind: str
) -> None:
    page = web.signed_in("gusu-supervisor").get(f"/new/{kind}").get_data(as_text=True)
    assert "<form" in page and "cannot take" not in page
    assert 'class="group' in page  # every creating action has a structured part (employer, enterprise, worker)
    assert 'name="org_unit"' in page and 'value="suzhou.wuzhong"' not in page  # only the reader's unit and below
    if kind == "labor_dispute":  # a part's hint, in the reader's language
        assert "18 位统一社会信用代码" in page and "characters are normalised" not in page


def test_a_mediator_opens_a_dispute_with_rows_added_by_the_form_and_lands_on_the_new_case(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    kinds = browser.get("/new").get_data(as_text=True)
    assert "<h1>新建案件</h1>" in kinds and "劳动争议调解" in kinds
    assert "/new/hardship" not in kinds  # a mediator opens disputes, not hardship cases
    data = {**_blank(browser, "labor_dispute"), **DISPUTE}
    grown = browser.client.post("/new/labor_dispute", data={**data, "add_row": "claims"})
    text = grown.get_data(as_text=True)
    assert grown.status_code == 200 and 'name="claims.1.category"' in text and "拖欠两个月工资" in text
    assert _cases(web) == 0  # adding a row runs nothing
    data |= {"claims.1.category": "overtime", "claims.1.amount": "1200", "applicants.1.name": ""}
    opened = browser.client.post("/new/labor_dispute", data=data)
    assert opened.status_code == 303
    number = opened.headers["Location"].rsplit("/", 1)[1]
    case = get_as(web.cw, number, LaborDispute)
    assert case.org_unit == "suzhou.gusu.shuangta" and case.workers_involved == 12
    assert [(c["category"], str(c["amount"])) for c in case.claims] == [("wages", "8600.00"), ("overtime", "1200.00")]
    assert [a["name"] for a in case.applicants] == ["王建国"]  # the row left empty is left out
    assert "申请" in browser.get(f"/case/{number}").get_data(as_text=True)


def test_the_engines_refusal_is_shown_beside_the_input_of_the_row_it_names_and_nothing_is_opened(
    web: WebWorld,
) -> None:
    browser = web.signed_in("gusu-mediator")
    data = {**_blank(browser, "labor_dispute"), **DISPUTE, "applicants.0.id_number": "320502198001011230"}
    refused = browser.client.post("/new/labor_dispute", data=data)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert re.search(r'id="f-applicants\.0\.id_number"[^>]*aria-describedby=applicants\.0\.id_number-problem', text)
    assert 'id="applicants.0.id_number-problem" role="alert">' in text
    assert "苏州示例精密机械有限公司" in text  # what was typed is kept
    assert _cases(web) == 0


def test_a_missing_required_part_and_a_bad_number_are_named_before_the_engine_is_asked(web: WebWorld) -> None:
    browser = web.signed_in("gusu-mediator")
    data = {**_blank(browser, "labor_dispute"), **DISPUTE, "employer.name": "", "workers_involved": "十二"}
    data = {k: v for k, v in data.items() if not k.startswith("claims.")}
    refused = browser.client.post("/new/labor_dispute", data=data)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'id="employer.name-problem" role="alert">必填' in text
    assert 'id="workers_involved-problem" role="alert">须为整数' in text
    assert 'id="claims-problem" role="alert">至少填写一行' in text
    assert _cases(web) == 0
    browser.post_form("/", "/language", {"lang": "en"})
    english = browser.client.post(
        "/new/labor_dispute", data={**data, "csrf_token": _blank(browser, "labor_dispute")["csrf_token"]}
    )
    assert 'id="workers_involved-problem" role="alert">must be a whole number' in english.get_data(as_text=True)


def test_a_form_sent_twice_opens_one_case_and_an_org_unit_outside_the_readers_scope_is_refused(
    web: WebWorld,
) -> None:
    browser = web.signed_in("gusu-mediator")
    data = {**_blank(browser, "labor_dispute"), **DISPUTE}
    first = browser.client.post("/new/labor_dispute", data=data)
    second = browser.client.post("/new/labor_dispute", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] and _cases(web) == 1
    elsewhere = browser.client.post(
        "/new/labor_dispute", data={**_blank(browser, "labor_dispute"), **DISPUTE, "org_unit": "suzhou.wuzhong"}
    )
    assert elsewhere.status_code == 422 and "须为本单位或下级单位" in elsewhere.get_data(as_text=True)
    assert _cases(web) == 1


def test_a_role_that_opens_no_such_case_gets_no_form(web: WebWorld) -> None:
    auditor = web.signed_in("gusu-auditor")
    assert auditor.get("/new/labor_dispute").status_code == 403
    assert "劳动争议调解" not in auditor.get("/new").get_data(as_text=True)
    assert web.signed_in("gusu-mediator").get("/new/no_such_kind").status_code == 404


def test_a_hardship_application_takes_its_worker_household_and_causes(web: WebWorld) -> None:
    browser = web.signed_in("gusu-supervisor")
    data = {
        **_blank(browser, "hardship"),
        "org_unit": "suzhou.gusu",
        "worker.name": "李秀英",
        "worker.id_number": "320506197502030026",
        "household.members": "3",
        "household.monthly_income_per_capita": "900",
        "household.local_minimum": "1120",
        "causes": ["illness", "unemployment"],
        "category": "deep",
    }
    opened = browser.client.post("/new/hardship", data=data)
    assert opened.status_code == 303, opened.get_data(as_text=True)
    case = get_as(web.cw, opened.headers["Location"].rsplit("/", 1)[1], HardshipCase)
    assert case.household["members"] == 3 and sorted(case.causes) == ["illness", "unemployment"]
