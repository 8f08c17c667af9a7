"""A mediator's day in a real browser: the work queue, a filed dispute taken from acceptance to an agreement through
the case page's buttons and forms; a form left open while the case moved, and a form sent twice."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect

from aggregates.labor_dispute import LaborDispute
from engine.service import Actor
from tests.browser.conftest import SEND, Site
from tests.integration.scenarios import file_dispute, get_as

MEDIATOR = Actor("gusu-mediator", "mediator")


def send_action(page: Page, action: str, fields: dict[str, str] | None = None) -> None:
    """Open an action from the case page's button, fill its fields and send it, back on the case page."""
    case_url = page.url
    page.click(f"a[data-action={action}]")
    page.wait_for_url(f"{case_url}/{action}")
    for name, value in (fields or {}).items():
        page.fill(f"#f-{name}", value)
    page.click(SEND)
    page.wait_for_url(case_url)


def test_a_mediator_takes_a_filed_dispute_from_the_queue_to_an_agreement(site: Site) -> None:
    number = file_dispute(site.cw, MEDIATOR).number
    page = site.sign_in("gusu-mediator")

    expect(page.locator("h1")).to_have_text("待办队列")
    expect(page.locator(".counts")).to_contain_text("在办案件：1")
    row = page.locator("table.queue tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("申请")  # the stage, in Chinese
    site.shot(page, "queue-zh")
    site.phone_shot(page, "queue-phone-zh")

    page.click(f"text={number}")
    page.wait_for_url(f"**/case/{number}")
    expect(page.locator("h1")).to_contain_text(number)
    expect(page.locator("dd.stage")).to_have_text("申请")
    expect(page.locator("#actions-h")).to_have_text("您现在可以进行的操作")
    expect(page.locator("a[data-action=accept]")).to_have_text("受理")
    site.shot(page, "case-zh")
    site.phone_shot(page, "case-phone-zh")

    page.click("a[data-action=accept]")
    expect(page.locator("h1")).to_have_text("受理")
    expect(page.locator("label[for=f-reason]")).to_have_text("理由")
    site.shot(page, "action-form-zh")
    page.click(SEND)
    page.wait_for_url(f"**/case/{number}")
    expect(page.locator("dd.stage")).to_have_text("受理")
    expect(page.locator(".clocks")).to_contain_text("剩余")  # the mediation clock started, working days left

    send_action(page, "start_mediation", {"mediator": "gusu-mediator"})
    expect(page.locator("dd.stage")).to_have_text("调解中")

    page.click("a[data-action=reach_agreement]")
    expect(page.locator("label[for=f-terms]")).to_contain_text("条款")
    expect(page.locator("label[for=f-performance_due]")).to_contain_text("履行期限")
    page.fill("#f-terms", "公司于三月底前一次性支付拖欠工资 8600 元")
    page.fill('[name="amounts.0.name"]', "拖欠工资")  # one row of two; the other, left empty, is left out
    page.fill('[name="amounts.0.amount"]', "8600.00")
    page.fill("#f-performance_due", "2026-03-31")
    site.shot(page, "agreement-form-zh")
    page.click(SEND)
    page.wait_for_url(f"**/case/{number}")

    expect(page.locator("dd.stage")).to_have_text("达成调解协议")
    version = page.locator("dl.facts dt:text-is('版本') + dd")
    expect(version).to_have_text("4")  # filed, accepted, mediation started, agreement
    expect(page.locator("a[data-action=confirm_performance]")).to_be_visible()
    site.shot(page, "case-agreement-zh")
    case = get_as(site.cw, number, LaborDispute)
    assert case.stage == "agreement_reached"
    assert case.agreement is not None and case.agreement["total_amount"] == Decimal("8600.00")


def test_a_form_opened_before_the_case_moved_says_so_and_changes_nothing(site: Site) -> None:
    number = file_dispute(site.cw, MEDIATOR).number
    first = site.sign_in("gusu-mediator")
    second = first.context.new_page()  # a second tab of the same person

    first.goto(f"/case/{number}/add_note")
    first.fill("#f-text", "旧表单里的备注")
    second.goto(f"/case/{number}")
    send_action(second, "accept")
    expect(second.locator("dd.stage")).to_have_text("受理")

    first.click(SEND)
    stale = first.locator("#stale")
    expect(stale).to_contain_text("您打开表单后，他人已修改了此案件（版本 1，现为 2）")
    expect(stale).to_contain_text("您的表单未做任何更改")
    expect(stale.locator("dd.stage")).to_have_text("受理")
    site.shot(first, "stale-form-zh")

    first.goto(f"/case/{number}")
    expect(first.locator("dd.stage")).to_have_text("受理")
    expect(first.locator("body")).not_to_contain_text("旧表单里的备注")
    first.goto(f"/case/{number}/history")
    expect(first.locator("table.history tbody tr")).to_have_count(2)  # filed, accepted: no note
    case = site.cw.get(site.cw.resolve(number))
    assert case.version == 2 and case.stage == "accepted"


def test_the_same_form_sent_twice_runs_its_command_once(site: Site) -> None:
    number = file_dispute(site.cw, MEDIATOR).number
    page = site.sign_in("gusu-mediator")
    form_url = f"/case/{number}/add_note"
    page.goto(form_url)
    page.fill("#f-text", "与企业负责人电话沟通")
    sent: dict[str, Any] = page.locator("form.action").evaluate("f => Object.fromEntries(new FormData(f))")
    assert len(sent["key"]) == 32 and sent["version"] == "1"

    page.click(SEND)
    page.wait_for_url(f"**/case/{number}")
    again = page.request.post(form_url, form=sent)  # the browser sends the very same form again (its cookies too)
    assert again.ok and again.url.endswith(f"/case/{number}")  # as the first: on to the case page, no error

    page.goto(f"/case/{number}/history")
    rows = page.locator("table.history tbody tr")
    expect(rows).to_have_count(2)  # filed, and the note once
    expect(rows.nth(1)).to_contain_text("添加备注")
    site.shot(page, "history-zh")
    page.goto(f"/case/{number}")
    expect(page.locator("ul.notes li")).to_have_count(1)
    assert site.cw.get(site.cw.resolve(number)).version == 2
