"""The supervisor's screens: escalations the scheduler proposed (confirmed through the case's own action form),
alerts with the clock that ran out, the dossier download, and the unit dashboard whose figures are the statistics
report's and link to the cases behind them, with the overdue cases under each sub-unit."""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event

from aggregates.policy import DeadlinePolicy
from engine.accounts import add_org
from engine.config import Settings
from engine.queries import CaseFilter, search_cases
from engine.reports import SECTIONS, plain, statistics
from engine.service import Actor, Casework
from engine.sweeps import ESCALATION, LEGAL, run_sweep
from tests.conftest import make_settings
from tests.integration.scenarios import file_dispute
from tests.web.conftest import Browser, WebWorld, csrf_token

SYSTEM = Actor("system", "system")
NEGOTIATOR = Actor("gusu-negotiator", "negotiator")
MEDIATOR = Actor("gusu-mediator", "mediator")
CASE_LINK = re.compile(r'<a href="/case/([A-Z]{2}-\d{4}-\d{6})">')
HIDDEN = re.compile(r'name="(version|key)" value="([^"]*)"')
FIGURE = re.compile(r'<tr data-metric="([a-z_]+)"><td>[^<]*</td>\s*<td>(?:<a href="([^"]+)">)?([\d.]+)')
OVERDUE = re.compile(r'<tr data-unit="([a-z.]+)">.*?<a href="([^"]+)">(\d+)</a>', re.S)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """The engine behind the `web` fixture, with the scheduler proposing each ladder step for confirmation."""
    return make_settings(tmp_path, database_url, policy=dataclasses.replace(DeadlinePolicy(), escalation="confirm"))


def open_negotiation(cw: Casework, org_unit: str = "suzhou.gusu.shuangta", name: str = "苏州示例电子有限公司") -> str:
    return cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit=org_unit,
        enterprise={"name": name, "employees": 300},
        issuing_union="姑苏区总工会",
        document_number=f"姑工要〔2026〕{name}号",
    ).number


def text(browser: Browser, path: str, status: int = 200) -> str:
    response = browser.get(path)
    assert response.status_code == status, (path, response.status_code)
    return response.get_data(as_text=True)


def listed(page: str) -> list[str]:
    return CASE_LINK.findall(page)


def test_a_supervisor_confirms_an_escalation_the_sweep_proposed_through_the_cases_action_form(web: WebWorld) -> None:
    number = open_negotiation(web.cw)
    elsewhere = open_negotiation(web.cw, "suzhou.wuzhong", "吴中示例有限公司")
    web.clock.advance(days=21)  # the written offer's reply was due on day 20
    outcomes = run_sweep(web.cw, ESCALATION, SYSTEM).outcomes
    assert sorted((o.number, o.action) for o in outcomes) == sorted(
        [(number, "propose_escalation"), (elsewhere, "propose_escalation")]
    )
    found, _ = search_cases(web.cw, CaseFilter(flags=("escalation_pending",)))
    assert sorted(row["number"] for row in found) == sorted([number, elsewhere])  # the case index's flag

    supervisor = web.signed_in("gusu-supervisor")
    page = text(supervisor, "/supervision/escalations")
    assert listed(page) == [number]  # the other one is outside the reader's unit
    row = page[page.index(f'data-case="{number}"') :]
    assert "上级工会代行要约" in row  # what is proposed: the acting offer, in the reader's language
    assert "did not answer the written offer by 2026-03-22" in row  # why, as the scheduler recorded it
    confirm = f"/case/{number}/confirm_escalation"
    assert f'href="{confirm}"' in row and f'href="/case/{number}/dismiss_escalation"' in row

    form = supervisor.get(confirm)
    hidden = {"csrf_token": csrf_token(form), **dict(HIDDEN.findall(form.get_data(as_text=True)))}
    sent = supervisor.client.post(confirm, data=hidden)
    assert sent.status_code == 303 and sent.headers["Location"] == f"/case/{number}"
    case = web.cw.get(web.cw.resolve(number))
    assert case.stage == "acting_offer_issued"
    assert web.cw.command_result(f"gusu-supervisor:web-{hidden['key']}") is not None  # the form's own command path
    assert listed(text(supervisor, "/supervision/escalations")) == []


def test_a_referral_the_sweep_proposed_is_listed_and_confirmed_through_the_cases_action_form(web: WebWorld) -> None:
    inspector = Actor("gusu-inspector", "inspector")
    number = web.cw.open_case(
        "rectification_proposal",
        inspector,
        org_unit="suzhou.gusu",
        enterprise={"name": "苏州示例纺织有限公司"},
        issuing_union="姑苏区总工会",
        source={"kind": "inspection"},
        items=[
            {
                "category": "collective_contract",
                "description": "拒不应约",
                "legal_basis": "集体合同规定第三十二条",
                "deadline": date(2026, 5, 1),
            }
        ],
    ).number
    web.cw.execute(web.cw.resolve(number), "refuse", inspector, reason="企业拒绝整改")
    assert [(o.number, o.action) for o in run_sweep(web.cw, LEGAL, SYSTEM).outcomes] == [(number, "propose_referral")]
    supervisor = web.signed_in("gusu-supervisor")
    page = text(supervisor, "/supervision/escalations")
    row = page[page.index(f'data-case="{number}"') :]
    assert "the enterprise refused to rectify" in row  # why, as the scheduler recorded it
    confirm = f"/case/{number}/confirm_referral"
    assert f'href="{confirm}"' in row and f'href="/case/{number}/dismiss_referral"' in row
    form = supervisor.get(confirm)
    hidden = {"csrf_token": csrf_token(form), **dict(HIDDEN.findall(form.get_data(as_text=True)))}
    assert supervisor.client.post(confirm, data=hidden).status_code == 303
    assert web.cw.get(web.cw.resolve(number)).stage == "referred"
    assert number not in text(supervisor, "/supervision/escalations")


def test_an_auditor_reads_the_pending_escalations_but_gets_no_decision(web: WebWorld) -> None:
    number = open_negotiation(web.cw)
    web.clock.advance(days=21)
    run_sweep(web.cw, ESCALATION, SYSTEM)
    page = text(web.signed_in("gusu-auditor"), "/supervision/escalations")
    assert listed(page) == [number]
    assert "confirm_escalation" not in page and "dismiss_escalation" not in page


def test_a_mediator_is_refused_the_supervision_screens_and_the_dossier(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    mediator = web.signed_in("gusu-mediator")
    for path in ("/supervision/escalations", "/supervision/alerts", f"/case/{number}/dossier.csv"):
        assert mediator.get(path).status_code == 403, path
    queue = text(mediator, "/")
    assert "/supervision/escalations" not in queue and "/supervision/alerts" not in queue
    assert "dossier.csv" not in text(mediator, f"/case/{number}")
    nav = text(web.signed_in("gusu-supervisor"), "/")
    assert 'href="/supervision/escalations"' in nav and 'href="/supervision/alerts"' in nav
    assert 'href="/supervision/dashboard"' in nav


def test_the_alerts_screen_names_the_clock_that_ran_out_its_due_date_and_how_long_ago(web: WebWorld) -> None:
    alerted = file_dispute(web.cw, MEDIATOR).number  # acceptance due in 3 working days: 2026-03-05
    web.clock.advance(days=10)
    quiet = file_dispute(web.cw, MEDIATOR).number
    outcomes = run_sweep(web.cw, LEGAL, SYSTEM).outcomes
    assert [(o.number, o.status) for o in outcomes] == [(alerted, "alerted")]
    supervisor = web.signed_in("gusu-supervisor")
    page = text(supervisor, "/supervision/alerts")
    assert listed(page) == [alerted] and quiet not in page
    row = page[page.index(f'data-case="{alerted}"') :]
    assert '<td class="clock-name">受理期限</td>' in row
    assert "2026年3月5日" in row and "7 天（5 个工作日）" in row  # due Thursday, today is Thursday a week later
    assert f'href="/case/{alerted}/extend_clock"' in row  # what the supervisor may do about it
    assert "extend_clock" not in text(web.signed_in("gusu-auditor"), "/supervision/alerts")


def test_the_dossier_downloads_as_csv_for_a_supervisor_and_an_auditor(web: WebWorld) -> None:
    number = file_dispute(web.cw, MEDIATOR).number
    web.cw.execute(web.cw.resolve(number), "accept", MEDIATOR)
    for who, name in (("gusu-supervisor", "王建国"), ("gusu-auditor", "王**")):
        browser = web.signed_in(who)
        assert f'href="/case/{number}/dossier.csv"' in text(browser, f"/case/{number}")
        response = browser.get(f"/case/{number}/dossier.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"] == f'attachment; filename="{number}-dossier.csv"'
        rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))
        assert rows[0][:4] == ["# case", number, "labor_dispute", "accepted"]
        assert [r[2] for r in rows[3:]] == ["file", "accept"]
        assert name in rows[1][1]  # personal data masked for the auditor, as the API's dossier masks it
    assert web.signed_in("wuzhong-mediator").get(f"/case/{number}/dossier.csv").status_code == 403


def test_the_dashboards_figures_are_the_statistics_report_and_a_figure_lists_the_cases_behind_it(
    web: WebWorld,
) -> None:
    file_dispute(web.cw, MEDIATOR)  # on 2 March: before the period asked for
    web.clock.advance(days=2)
    in_period = [
        file_dispute(web.cw, MEDIATOR).number,
        file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.shuangta").number,
    ]
    web.cw.execute(web.cw.resolve(in_period[0]), "accept", MEDIATOR)
    file_dispute(web.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong")  # another unit
    open_negotiation(web.cw)

    supervisor = web.signed_in("gusu-supervisor")
    page = html.unescape(text(supervisor, "/supervision/dashboard?unit=suzhou.gusu&from=2026-03-04&to=2026-12-31"))
    shown = {metric: (url, value) for metric, url, value in FIGURE.findall(page)}
    report = statistics(web.cw, org_unit="suzhou.gusu", start=date(2026, 3, 4), end=date(2026, 12, 31))
    every = [metric for metrics in SECTIONS.values() for metric, _, _ in metrics]
    assert {m: value for m, (_, value) in shown.items()} == {m: plain(report.figure(m)) for m in every}
    assert shown["disputes_filed"][1] == "2" and shown["disputes_accepted"][1] == "1"
    assert shown["enterprises_covered"][1] == "1"

    cases = text(supervisor, shown["disputes_filed"][0])
    assert sorted(listed(cases)) == sorted(in_period)
    assert "<svg" in page and 'data-metric="disputes_accepted"' in page  # the charts, drawn on the server
    assert "<script" not in page


def test_the_dashboard_counts_open_cases_with_an_overdue_clock_under_each_sub_unit(web: WebWorld) -> None:
    add_org(web.cw, "suzhou.gusu.pingjiang", "平江街道总工会")
    file_dispute(web.cw, MEDIATOR)  # in suzhou.gusu itself
    shuangta = [file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.shuangta").number for _ in range(2)]
    paused = file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.pingjiang").number
    web.cw.execute(
        web.cw.resolve(paused),
        "pause_clock",
        Actor("gusu-supervisor", "supervisor"),
        reason="当事人联系不上",
        clock="acceptance",
    )
    web.clock.advance(days=10)  # every acceptance clock ran out but the paused one
    file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.pingjiang")  # not overdue yet
    file_dispute(web.cw, Actor("wuzhong-mediator", "mediator"), org_unit="suzhou.wuzhong")

    supervisor = web.signed_in("gusu-supervisor")
    page = html.unescape(text(supervisor, "/supervision/dashboard?unit=suzhou.gusu"))
    section = page[page.index('class="queue overdue-by-unit"') :]
    counts = {unit: (url, int(n)) for unit, url, n in OVERDUE.findall(section)}
    assert {unit: n for unit, (_, n) in counts.items()} == {
        "suzhou.gusu.pingjiang": 0,
        "suzhou.gusu.shuangta": 2,
        "suzhou.gusu": 3,
    }
    assert sorted(listed(text(supervisor, counts["suzhou.gusu.shuangta"][0]))) == sorted(shuangta)
    assert len(listed(text(supervisor, counts["suzhou.gusu"][0]))) == 3
    assert supervisor.get("/supervision/dashboard?unit=suzhou").status_code == 404  # above the reader's unit


def statements(web: WebWorld, browser: Browser, path: str) -> int:
    """How many SQL statements the page at `path` runs."""
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append("")

    event.listen(web.cw.sql_engine, "before_cursor_execute", count)
    try:
        text(browser, path)
    finally:
        event.remove(web.cw.sql_engine, "before_cursor_execute", count)
    return len(seen)


def test_the_dashboard_and_the_case_list_run_as_many_statements_for_many_cases_as_for_few(web: WebWorld) -> None:
    pages = ("/supervision/dashboard", "/supervision/cases?unit=suzhou.gusu&kind=labor_dispute&overdue=1")
    file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.shuangta")
    web.clock.advance(days=10)
    supervisor = web.signed_in("gusu-supervisor")
    few = [statements(web, supervisor, path) for path in pages]
    for _ in range(12):
        file_dispute(web.cw, MEDIATOR, org_unit="suzhou.gusu.shuangta")
    web.clock.advance(days=10)
    supervisor = web.signed_in("gusu-supervisor")
    assert [statements(web, supervisor, path) for path in pages] == few


def test_the_supervision_screens_speak_chinese_by_default_and_english_by_choice(web: WebWorld) -> None:
    supervisor = web.signed_in("gusu-supervisor")
    chinese = text(supervisor, "/supervision/dashboard")
    assert "单位看板" in chinese and "受理劳动争议(件)" in chinese and "待确认的升级" in chinese
    assert "待确认的升级" in text(supervisor, "/supervision/escalations")
    assert "<h1>预警</h1>" in text(supervisor, "/supervision/alerts")
    supervisor.post_form("/", "/language", {"lang": "en"})
    english = text(supervisor, "/supervision/dashboard")
    assert "Unit dashboard" in english and "disputes accepted" in english and "受理劳动争议" not in english
