"""One corrupted case does not stop a sweep: it acts on every other case, and reports the broken one (case number,
version, the supervisors of its unit) in its outcome, its artifact and its log."""

from __future__ import annotations

import pytest

from engine.service import Casework, CommandResult
from engine.sweeps import ESCALATION, run_sweep
from tests.integration.scenarios import NEGOTIATOR, count_rows
from tests.integration.tamper import TAMPERINGS
from tests.workflows.support import (
    GUSU_SUPERVISORS,
    ON_SQLITE,
    SYSTEM,
    artifacts,
    flow_run_id,
    issue_offer,
    org_tree,
    run_flow,
)
from workflows.runtime import using
from workflows.sweeps import escalation_sweep


def _three_overdue_offers(cw: Casework, clock) -> list[CommandResult]:
    """Three offers of three events each (issued, two notes), all past their reply clock on day 21."""
    offers = [issue_offer(cw, f"苏州示例电子有限公司{i}") for i in range(3)]
    for offer in offers:
        for text in ("电话催告企业", "再次书面催告"):
            cw.execute(offer.case_id, "add_note", NEGOTIATOR, text=text)
    clock.advance(days=21)
    return offers


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_an_escalation_sweep_escalates_the_others_and_reports_the_broken_offer(
    cw: Casework, clock, tampering: str
) -> None:
    org_tree(cw)
    first, broken, last = _three_overdue_offers(cw, clock)
    TAMPERINGS[tampering](cw, broken.case_id)
    events = count_rows(cw, "casework_events")

    report = run_sweep(cw, ESCALATION, SYSTEM, batch_size=2)  # the broken case in the first batch, one after it
    assert report.found == 3 and report.counts == {"applied": 2, "broken": 1}
    assert {o.number for o in report.outcomes if o.status == "applied"} == {first.number, last.number}
    for offer in (first, last):
        assert cw.get(offer.case_id).stage == "acting_offer_issued"
    [outcome] = report.broken
    assert (outcome.number, outcome.due.case_id, outcome.action) == (broken.number, broken.case_id, None)
    assert f"case {broken.number} " in outcome.detail and "version 2" in outcome.detail
    assert outcome.notify == GUSU_SUPERVISORS  # the nearest unit upward with active supervisors
    assert outcome.to_dict()["notify"] == GUSU_SUPERVISORS
    assert count_rows(cw, "casework_events") == events + 2  # one step each on the two others, nothing on it

    again = run_sweep(cw, ESCALATION, SYSTEM)  # still broken next time: reported again, nothing else to do
    assert again.counts == {"broken": 1}


@ON_SQLITE
def test_the_escalation_flow_completes_with_the_broken_case_in_its_result_artifact_and_log(
    cw: Casework, clock, caplog
) -> None:
    org_tree(cw)
    first, broken, last = _three_overdue_offers(cw, clock)
    TAMPERINGS["deleted"](cw, broken.case_id)
    with using(cw), caplog.at_level("ERROR"):
        state = run_flow(escalation_sweep)
    assert state.is_completed(), state.message
    result = state.result()
    assert result["counts"] == {"applied": 2, "broken": 1}
    [reported] = result["broken"]
    assert reported["case"] == broken.number and "version 2" in reported["detail"]
    assert reported["notify"] == GUSU_SUPERVISORS
    assert all(cw.get(o.case_id).stage == "acting_offer_issued" for o in (first, last))

    [summary] = [a for a in artifacts(flow_run_id(state)) if a.key == "escalation-sweep"]
    text = summary.data
    assert "Broken cases" in text and broken.number in text and ", ".join(GUSU_SUPERVISORS) in text
    assert text.index("Broken cases") < text.index(first.number)  # named first, above the table
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any(broken.number in m and "version 2" in m and GUSU_SUPERVISORS[0] in m for m in logged), logged
