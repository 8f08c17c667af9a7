"""Maintenance flows: whole-store chain verification, the statistics report, read-model rebuilds."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text, update

from aggregates.base import DEFAULT_TZ
from engine.service import Casework
from engine.tables import case_index, open_clocks
from tests.integration.scenarios import MEDIATOR, NEGOTIATOR, file_dispute
from tests.workflows.support import ON_SQLITE, artifacts, flow_run_id, issue_offer, run_flow
from workflows.maintenance import (
    ChainBroken,
    ReadModelsDiffer,
    rebuild_read_models,
    statistics_report,
    verify_event_store,
)
from workflows.runtime import using

pytestmark = ON_SQLITE


def small_store(cw: Casework, clock) -> tuple[UUID, UUID]:
    """A dispute with three events and an offer with one."""
    dispute = file_dispute(cw).case_id
    clock.advance(hours=3)
    cw.execute(dispute, "accept", MEDIATOR)
    cw.execute(dispute, "start_mediation", MEDIATOR, mediator=MEDIATOR.id)
    return dispute, issue_offer(cw).case_id


def artifact(run: str, key: str) -> Any:
    [found] = [a for a in artifacts(run) if a.key == key]
    return found


def test_verify_event_store_passes_on_an_untouched_store(cw: Casework, clock) -> None:
    small_store(cw, clock)
    with using(cw):
        state = run_flow(verify_event_store)
    assert state.is_completed(), state.message
    rows = state.result()["read_model_rows"]
    assert state.result() == {"ok": True, "events": 4, "cases": 2, "read_model_rows": rows} and rows > 2
    report = artifact(flow_run_id(state), "chain-verification").data
    assert "4 events of 2 cases verify" in report and f"their {rows} read-model rows are what the events give" in report


def test_verify_event_store_fails_the_run_when_a_read_model_row_was_edited(cw: Casework, clock) -> None:
    """Every chain verifies after an edit of the derived tables; the replay against them catches it."""
    dispute, offer = small_store(cw, clock)
    with cw.write_transaction() as session:
        session.execute(update(case_index).where(case_index.c.case_id == offer).values(is_open=False, stage="closed"))
    number = cw.get(offer).number

    with using(cw):
        run = run_flow(verify_event_store)
    assert run.is_failed()
    error = run.result(raise_on_failure=False)
    assert isinstance(error, ReadModelsDiffer)
    assert f"case_index, {number}: " in str(error) and "2 read-model row(s)" in str(error)
    report = artifact(flow_run_id(run), "chain-verification").data
    assert "READ MODELS DIFFER" in report and "4 events of 2 cases verify" in report
    assert f"- case_index, {number}: stage is closed, the events give " in report
    assert f"- case_index, {number}: is_open is False, the events give True" in report
    assert str(cw.get(dispute).number) not in report


def test_verify_event_store_fails_the_run_and_names_the_case_whose_event_was_altered(cw: Casework, clock) -> None:
    dispute, offer = small_store(cw, clock)
    with cw.write_transaction() as session:
        # the dispute's second event (the offer has only one): flip one bit of its actor id
        row = session.execute(text("select id, state from casework_events where originator_version = 2")).one()
        state = bytes(row.state)
        position = state.index(b'"actor_id":"') + len(b'"actor_id":"')
        tampered = state[:position] + bytes([state[position] ^ 0x01]) + state[position + 1 :]
        session.execute(text("update casework_events set state = :s where id = :i"), {"s": tampered, "i": row.id})

    with using(cw):
        run = run_flow(verify_event_store)
    assert run.is_failed()
    error = run.result(raise_on_failure=False)
    assert isinstance(error, ChainBroken)
    assert str(dispute) in str(error) and "v2" in str(error) and "altered" in str(error)
    assert str(offer) not in str(error)
    report = artifact(flow_run_id(run), "chain-verification").data
    assert "CHAIN BROKEN" in report and str(dispute) in report


def test_statistics_report_tables_last_months_figures_for_the_unit(cw: Casework, clock) -> None:
    # March 2026 in suzhou.gusu: two disputes (one collective, accepted; one declined) and a written
    # offer covering two enterprises, one of which answered.
    accepted = file_dispute(cw, workers_involved=12).case_id
    cw.execute(accepted, "accept", MEDIATOR)
    declined = file_dispute(cw, workers_involved=1).case_id
    cw.execute(declined, "decline", MEDIATOR, reason="不属于受理范围")
    answered = issue_offer(cw, "苏州甲公司", org_unit="suzhou.gusu").case_id
    issue_offer(cw, "苏州乙公司", org_unit="suzhou.gusu")
    clock.advance(days=3)
    cw.execute(answered, "accept_offer", NEGOTIATOR)
    file_dispute(cw, org_unit="suzhou.wuzhong")  # another district: not in gusu's figures
    clock.set(datetime(2026, 4, 10, 9, 0, tzinfo=DEFAULT_TZ))
    file_dispute(cw)  # April: not in March's figures

    with using(cw):
        state = run_flow(statistics_report, org_unit="suzhou.gusu")
    assert state.is_completed(), state.message
    result = state.result()
    assert (result["org_unit"], result["from"], result["to"]) == ("suzhou.gusu", "2026-03-01", "2026-03-31")
    expected = {
        "disputes_filed": "2",
        "disputes_accepted": "1",
        "collective_disputes_accepted": "1",
        "dispute_workers_involved": "12",
        "disputes_mediated": "0",
        "offers_written": "1",
        "enterprises_covered": "2",
        "offers_answered": "1",
        "acting_offers": "0",
    }
    assert {k: result["figures"][k] for k in expected} == expected
    assert result["rates"]["answer_rate"] == "50.0"

    table = artifact(flow_run_id(state), "statistics-month")
    assert table.type == "table"
    assert "suzhou.gusu" in table.description and "2026-03-01 to 2026-03-31" in table.description
    rows = {r["metric"]: r for r in json.loads(table.data)}
    assert {k: rows[k]["total"] for k in expected} == expected
    assert rows["offers_written"]["section"] == "wage_negotiation"
    assert "发出书面要约" in rows["offers_written"]["label"]


def test_rebuild_read_models_restores_a_deleted_case_index_row(cw: Casework, clock) -> None:
    dispute, offer = small_store(cw, clock)
    with cw.read_transaction() as session:
        before = session.execute(select(case_index).where(case_index.c.case_id == offer)).one()._asdict()
        clocks_before = session.execute(select(open_clocks).where(open_clocks.c.case_id == offer)).all()
    with cw.write_transaction() as session:
        session.execute(delete(case_index).where(case_index.c.case_id == offer))
        session.execute(delete(open_clocks).where(open_clocks.c.case_id == offer))
    assert cw.find(offer) is None

    with using(cw):
        state = run_flow(rebuild_read_models)
    assert state.is_completed(), state.message
    assert {k: state.result()[k] for k in ("events", "cases")} == {"events": 4, "cases": 2}
    with cw.read_transaction() as session:
        after = session.execute(select(case_index).where(case_index.c.case_id == offer)).one()._asdict()
        clocks_after = session.execute(select(open_clocks).where(open_clocks.c.case_id == offer)).all()
    assert after == before
    assert clocks_after == clocks_before and [c.clock for c in clocks_after] == ["reply"]
    found = cw.find(offer)
    assert found is not None and found.number == before["number"]
    assert cw.get(dispute).stage == "in_mediation"
    assert "4 events, 2 cases" in artifact(flow_run_id(state), "rebuild").data
