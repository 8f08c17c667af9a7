"""Offer campaigns (百分百要约行动): validation, CSV input, and a run killed halfway then resumed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from aggregates.wage_negotiation import WageNegotiation
from engine.accounts import add_org
from engine.campaigns import CampaignError, create_campaign, get_campaign, list_campaigns, read_csv
from engine.read_model_check import check_read_models
from engine.reports import statistics
from engine.service import Actor, Casework
from engine.tables import campaign_targets, case_index
from tests.integration.scenarios import MEDIATOR, NEGOTIATOR, credit_code, get_as
from tests.workflows.support import ON_SQLITE, artifacts, count_cases, flow_run_id, issue_offer, run_flow
from workflows.campaigns import offer_campaign
from workflows.runtime import using

REPO = Path(__file__).resolve().parents[2]
OFFER: dict[str, Any] = {
    "issuing_union": "姑苏区总工会",
    "org_unit": "suzhou.gusu",
    "terms": {"wage_increase_pct": "5"},
}


@pytest.fixture
def cw(cw: Casework) -> Casework:
    """The engine with the campaigns' org unit: a campaign in a unit that does not exist is refused."""
    add_org(cw, "suzhou", "苏州市总工会")
    add_org(cw, "suzhou.gusu", "姑苏区总工会")
    return cw


def fields_of(error: pytest.ExceptionInfo[CampaignError]) -> dict[str, str]:
    return error.value.fields


# -- validation ----------------------------------------------------------------------------------


def test_each_bad_enterprise_is_named_by_its_row_and_nothing_is_stored(cw: Casework) -> None:
    enterprises: list[dict[str, Any]] = [
        {"name": "苏州甲公司", "credit_code": "91320500MA1AAAAAAL"},
        {"name": "  ", "credit_code": "91320500MA1BBBBBB0"},
        {"name": "苏州甲公司（分厂）", "credit_code": "91320500ma1aaaaaal"},  # the same code, another spelling
        {"name": "苏州丙公司", "employees": -3},
        {"name": "苏州丁公司"},
        {"name": "苏州丁公司"},
        {"name": "苏州戊公司", "employees": 40},
    ]
    with pytest.raises(CampaignError) as error:
        create_campaign(cw, NEGOTIATOR, document_number="姑工要〔2026〕7号", enterprises=enterprises, **OFFER)
    assert fields_of(error) == {
        "enterprises[1].name": "is required",
        "enterprises[2]": "lists the same enterprise as enterprises[0]",
        "enterprises[3].employees": "must be a whole number, zero or more",
        "enterprises[5]": "lists the same enterprise as enterprises[4]",
    }
    assert error.value.to_dict()["code"] == "invalid_campaign"
    with pytest.raises(CampaignError) as error:
        create_campaign(cw, NEGOTIATOR, document_number="姑工要〔2026〕7号", enterprises=[], **OFFER)
    assert fields_of(error) == {"enterprises": "at least one enterprise is required"}
    assert list_campaigns(cw) == []


def test_bad_terms_missing_fields_and_a_role_that_may_not_issue_offers_are_refused(cw: Casework) -> None:
    enterprises = [{"name": "苏州甲公司"}, {"name": "苏州乙公司"}]
    with pytest.raises(CampaignError) as error:
        create_campaign(
            cw,
            NEGOTIATOR,
            document_number="D-1",
            enterprises=enterprises,
            **{**OFFER, "terms": {"wage_increase_pct": "150", "minimum_wage": "-1"}},
        )
    assert set(fields_of(error)) == {"terms.wage_increase_pct", "terms.minimum_wage"}
    assert "-100 to 100" in fields_of(error)["terms.wage_increase_pct"]

    with pytest.raises(CampaignError) as error:
        create_campaign(
            cw, NEGOTIATOR, document_number=" ", issuing_union="", org_unit="suzhou.gusu", enterprises=enterprises
        )
    assert fields_of(error) == {"document_number": "is required", "issuing_union": "is required"}

    with pytest.raises(CampaignError) as error:
        create_campaign(cw, MEDIATOR, document_number="D-1", enterprises=enterprises, **OFFER)
    assert list(fields_of(error)) == ["role"]
    assert "'mediator'" in fields_of(error)["role"] and "negotiator" in fields_of(error)["role"]
    assert list_campaigns(cw) == []


def test_a_document_number_already_used_by_a_campaign_or_a_negotiation_is_refused(cw: Casework) -> None:
    first = create_campaign(cw, NEGOTIATOR, document_number="姑工要〔2026〕8号", enterprises=[{"name": "甲"}], **OFFER)
    with pytest.raises(CampaignError) as error:
        create_campaign(cw, NEGOTIATOR, document_number="姑工要〔2026〕8号", enterprises=[{"name": "乙"}], **OFFER)
    assert list(fields_of(error)) == ["document_number"]
    assert str(first.campaign_id) in fields_of(error)["document_number"]

    issue_offer(cw, document_number="姑工要〔2026〕9号")
    with pytest.raises(CampaignError) as error:
        create_campaign(cw, NEGOTIATOR, document_number="姑工要〔2026〕9号", enterprises=[{"name": "乙"}], **OFFER)
    assert "1 negotiation(s) already carry" in fields_of(error)["document_number"]
    assert [c.document_number for c in list_campaigns(cw)] == ["姑工要〔2026〕8号"]


def test_read_csv_takes_chinese_headers_and_names_the_line_of_a_bad_value() -> None:
    content = (
        "\ufeff企业名称,统一社会信用代码,职工人数\n"
        "苏州甲公司,91320500MA1AAAAAAL,120\n"
        "苏州乙公司,,\n"
        "苏州丙公司,91320500MA1CCCCCCB, 35 \n"
    )
    assert read_csv(content) == [
        {"name": "苏州甲公司", "credit_code": "91320500MA1AAAAAAL", "employees": 120},
        {"name": "苏州乙公司", "credit_code": ""},
        {"name": "苏州丙公司", "credit_code": "91320500MA1CCCCCCB", "employees": 35},
    ]
    with pytest.raises(CampaignError) as error:
        read_csv("单位名称,职工数\n苏州甲公司,120\n苏州乙公司,一百\n苏州丙公司,3.5\n")
    assert fields_of(error) == {
        "line 3.employees": "'一百' is not a whole number",
        "line 4.employees": "'3.5' is not a whole number",
    }
    with pytest.raises(CampaignError) as error:
        read_csv("公司,人数\n苏州甲公司,120\n")
    assert list(fields_of(error)) == ["csv"] and "企业名称" in fields_of(error)["csv"]


# -- a campaign of 500, killed halfway and resumed ------------------------------------------------

RUNNER = """
import sys

from workflows.campaigns import offer_campaign

offer_campaign(campaign_id=sys.argv[1], batch_size=int(sys.argv[2]))
"""
TOTAL, BATCH = 500, 25
KILL_AT = TOTAL // 2 - BATCH // 2
"""About halfway, and in the middle of a batch (a task run cut off between its transactions)."""


def opened_so_far(cw: Casework, campaign_id: UUID) -> int:
    t = campaign_targets.c
    with cw.read_transaction() as session:
        return session.execute(select(func.count(t.case_id)).where(t.campaign_id == campaign_id)).scalar_one()


@ON_SQLITE
def test_a_campaign_of_500_killed_halfway_and_resumed_opens_exactly_500_negotiations(
    cw: Casework, tmp_path: Path, prefect_server: str
) -> None:
    document = "苏工要〔2026〕100号"
    enterprises = [
        {"name": f"苏州示例企业{i:03d}有限公司", "credit_code": credit_code(i), "employees": 10 + i}
        for i in range(TOTAL)
    ]
    campaign = create_campaign(
        cw, Actor("negotiator-1", "negotiator"), document_number=document, enterprises=enterprises, **OFFER
    )
    assert (campaign.total, campaign.pending) == (TOTAL, TOTAL)

    # A worker process runs the campaign against the same database and the same Prefect server ...
    script = tmp_path / "run_campaign.py"
    script.write_text(RUNNER, encoding="utf-8")
    env = {
        **os.environ,
        "CASEWORK_DATA_DIR": str(tmp_path),
        "CASEWORK_DATABASE_URL": cw.settings.database_url,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PYTHONPATH": str(REPO),
    }
    process = subprocess.Popen(
        [sys.executable, str(script), str(campaign.campaign_id), str(BATCH)],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while opened_so_far(cw, campaign.campaign_id) < KILL_AT:
            if process.poll() is not None:
                output = process.stdout.read().decode(errors="replace") if process.stdout else ""
                pytest.fail(
                    f"the campaign process ended (rc {process.returncode}) before it was killed:\n{output[-4000:]}"
                )
            assert time.monotonic() < deadline, "the campaign process opened too few negotiations in time"
            time.sleep(0.01)
    finally:
        process.kill()  # ... and is killed (SIGKILL) about halfway, wherever it stands.
        process.wait(timeout=30)
        if process.stdout:
            process.stdout.close()
    assert process.returncode == -9

    opened = opened_so_far(cw, campaign.campaign_id)
    assert 0 < opened < TOTAL
    killed = get_campaign(cw, campaign.campaign_id)
    assert killed.finished_at is None and killed.pending == TOTAL - opened
    assert killed.flow_run_id is not None  # the killed run is on record
    assert count_cases(cw, "wage_negotiation", reference=document) == opened
    killed_check = check_read_models(cw)  # the kill left no row written without its events, nor events without rows
    assert killed_check.ok and killed_check.cases == opened, killed_check.differences

    # Resumed in this process: only the targets still missing are opened.
    with using(cw):
        state = run_flow(offer_campaign, campaign_id=str(campaign.campaign_id), batch_size=BATCH)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["this_run"] == {"opened": TOTAL - opened, "already_open": 0, "failed": 0}
    assert result["counts"] == {"total": TOTAL, "opened": TOTAL, "failed": 0, "pending": 0}

    done = get_campaign(cw, campaign.campaign_id)
    assert (done.opened, done.failed, done.pending) == (TOTAL, 0, 0)
    assert done.finished_at is not None
    assert done.flow_run_id == flow_run_id(state) != killed.flow_run_id

    assert count_cases(cw, "wage_negotiation", reference=document) == TOTAL
    t = campaign_targets.c
    with cw.read_transaction() as session:
        targets = session.execute(
            select(t.seq, t.case_id, t.number, t.enterprise)
            .where(t.campaign_id == campaign.campaign_id)
            .order_by(t.seq)
        ).all()
        indexed = dict(
            session.execute(select(case_index.c.case_id, case_index.c.number).where(case_index.c.reference == document))
            .tuples()
            .all()
        )
    assert len({r.case_id for r in targets}) == TOTAL
    assert {r.case_id: r.number for r in targets} == indexed
    first = []
    for row in targets:
        case = get_as(cw, row.case_id, WageNegotiation)
        assert case.covers == TOTAL and case.document_number == document
        assert case.enterprise["name"] == json.loads(row.enterprise)["name"]
        if case.first_of_document:
            first.append(row.seq)
    assert first == [1]
    figures = statistics(cw).figures
    assert figures["offers_written"] == 1 and figures["enterprises_covered"] == TOTAL
    assert check_read_models(cw).ok

    found = artifacts(flow_run_id(state))
    [progress] = [a for a in found if a.type == "progress"]
    assert float(progress.data) == 100.0
    [summary] = [a for a in found if a.type == "markdown"]
    assert summary.key == f"campaign-{str(campaign.campaign_id)[:8]}"
    assert f"| {TOTAL} | {TOTAL} | 0 | 0 |" in summary.data
    assert f"This run opened {TOTAL - opened} (found 0 already open)" in summary.data
