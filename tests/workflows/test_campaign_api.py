"""Offer campaigns through the HTTP API against the session's Prefect test server.

The real app as bootstrap.http_app wires it (Prefect's scheduler) over a real SQLite file; the product's
deployments registered on the test server; POST /campaigns starts a run of offer-campaign/casework (202 with its
flow_run_id), which no worker picks up here, so the test then runs the flow in this process, as a worker would,
and follows the campaign through GET /campaigns/{id} to the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from flask import Flask

from bootstrap import http_app
from engine.accounts import add_org, add_user
from engine.service import Actor, Casework
from tests.integration.scenarios import credit_code
from tests.workflows.support import ON_SQLITE, ORGS, count_cases, flow_run_id, run_flow
from workflows.campaigns import offer_campaign
from workflows.deployments import CAMPAIGN_DEPLOYMENT, SCHEDULES, deployments
from workflows.runtime import using

pytestmark = ON_SQLITE

DOCUMENT = "姑工要〔2026〕40号"
NO_SCHEDULES = {item.setting: "off" for item in SCHEDULES if item.setting}
"""Every deployment is registered, none with a schedule: the session's server is shared with other tests."""


def enterprises(n: int) -> list[dict[str, Any]]:
    return [
        {"name": f"苏州要约{i:02d}有限公司", "credit_code": credit_code(i, "91320500MA2Y"), "employees": 20 + i}
        for i in range(1, n + 1)
    ]


@pytest.fixture
def tokens(cw: Casework) -> dict[str, str]:
    for path, name in ORGS:
        add_org(cw, path, name)
    found = {}
    for user_id, role in (
        ("gusu-negotiator", "negotiator"),
        ("gusu-supervisor", "supervisor"),
        ("gusu-auditor", "auditor"),
    ):
        _, found[role] = add_user(cw, user_id, user_id, role, "suzhou.gusu", by=Actor("tests", "admin"))
    return found


@pytest.fixture
def app(cw: Casework, tokens: dict[str, str]) -> Flask:
    return http_app(cw)


@pytest.fixture
def scheduler(cw: Casework, prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The deployments registered on the test server, and PREFECT_API_URL naming it (the Prefect scheduler checks
    the environment variable before it tries to start a run; Prefect's own client reads the harness's setting)."""
    from prefect.settings import get_current_settings

    url = str(get_current_settings().api.url)
    assert url == prefect_server
    registered = [d.apply() for d in deployments(cw.settings, NO_SCHEDULES)]  # sync dispatch: no event loop here
    assert len(registered) == len(SCHEDULES) and all(isinstance(d, UUID) for d in registered)
    monkeypatch.setenv("PREFECT_API_URL", url)
    yield url


@pytest.fixture
def unserved(scheduler: str) -> Iterator[list[str]]:
    """Flow runs the API started that no worker will run: deleted afterwards, so nothing is left scheduled on
    the shared server for a worker of another test to pick up against another database."""
    from prefect.client.orchestration import get_client

    runs: list[str] = []
    yield runs
    with get_client(sync_client=True) as client:
        for run in runs:
            client.delete_flow_run(UUID(run))


def call(app: Flask, token: str, method: str, path: str, body: Any = None) -> Any:
    kwargs = {"json": body} if body is not None else {}
    return app.test_client().open(path, method=method, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def test_a_campaign_of_30_is_started_over_http_run_by_the_flow_and_followed_to_the_end(
    cw: Casework, app: Flask, tokens: dict[str, str], unserved: list[str]
) -> None:
    from prefect.client.orchestration import get_client

    negotiator, supervisor = tokens["negotiator"], tokens["supervisor"]
    response = call(
        app,
        negotiator,
        "POST",
        "/campaigns",
        {
            "document_number": DOCUMENT,
            "issuing_union": "姑苏区总工会",
            "org_unit": "suzhou.gusu",
            "terms": {"wage_increase_pct": "5.5", "minimum_wage": "2490"},
            "enterprises": enterprises(30),
        },
    )
    assert response.status_code == 202, response.get_json()
    started = response.get_json()
    campaign_id, run_id = started["campaign_id"], started["flow_run_id"]
    unserved.append(run_id)
    assert response.headers["Location"].endswith(f"/campaigns/{campaign_id}")
    UUID(run_id)
    assert started["counts"] == {"total": 30, "opened": 0, "failed": 0, "pending": 30}
    assert started["run"]["state"] == "scheduled" and started["finished_at"] is None

    with get_client(sync_client=True) as client:  # the run the API started, as the server knows it
        run = client.read_flow_run(UUID(run_id))
        assert run.deployment_id is not None
        deployment = client.read_deployment(run.deployment_id)
        flow = client.read_flow(deployment.flow_id)
    assert f"{flow.name}/{deployment.name}" == CAMPAIGN_DEPLOYMENT
    assert run.parameters == {"campaign_id": campaign_id} and {"casework", "campaign"} <= set(run.tags)

    followed = call(app, supervisor, "GET", f"/campaigns/{campaign_id}").get_json()
    assert followed["flow_run_id"] == run_id
    assert followed["run"]["state"] == "scheduled" and followed["run"]["state_name"] == "Scheduled"
    assert followed["counts"]["pending"] == 30 and followed["counts"]["opened"] == 0
    assert count_cases(cw, "wage_negotiation") == 0  # nothing opened until the run runs

    # No worker serves the deployment here: run the flow in this process, as the worker would.
    with using(cw):
        state = run_flow(offer_campaign, campaign_id=campaign_id)
    assert state.is_completed(), state
    result = state.result()
    assert result["counts"] == {"total": 30, "opened": 30, "failed": 0, "pending": 0}
    assert result["this_run"] == {"opened": 30, "already_open": 0, "failed": 0}

    done = call(app, tokens["auditor"], "GET", f"/campaigns/{campaign_id}").get_json()
    assert done["counts"] == {"total": 30, "opened": 30, "failed": 0, "pending": 0}
    assert done["finished_at"] is not None and done["failures"] == []
    assert done["flow_run_id"] == flow_run_id(state)  # the run that did the work records itself
    assert done["run"]["state"] == "completed"
    [listed] = call(app, supervisor, "GET", "/campaigns").get_json()["items"]
    assert listed["counts"] == done["counts"] and listed["finished_at"] == done["finished_at"]

    response = call(app, supervisor, "POST", f"/campaigns/{campaign_id}/start")
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["code"] == "nothing_pending" and campaign_id in response.get_json()["message"]

    page = call(app, supervisor, "GET", f"/cases?q={DOCUMENT}&per_page=50").get_json()
    assert page["total"] == 30
    rows = page["items"]
    assert {r["kind"] for r in rows} == {"wage_negotiation"} and {r["reference"] for r in rows} == {DOCUMENT}
    assert {r["stage"] for r in rows} == {"offer_issued"} and {r["org_unit"] for r in rows} == {"suzhou.gusu"}
    assert sorted(r["parties"] for r in rows) == [e["name"] for e in enterprises(30)]
    assert all("multi_enterprise_offer" in r["flags"] for r in rows)
    assert count_cases(cw, "wage_negotiation", reference=DOCUMENT) == 30

    first = min(rows, key=lambda r: r["number"])
    case = call(app, negotiator, "GET", f"/cases/{first['number']}").get_json()
    assert case["details"]["covers"] == 30 and case["details"]["terms"]["wage_increase_pct"] == "5.5"
    history = call(app, negotiator, "GET", f"/cases/{first['number']}/history").get_json()["events"]
    [issued] = history
    assert (issued["event"], issued["actor_id"], issued["actor_role"]) == (
        "OfferIssued",
        "gusu-negotiator",
        "negotiator",
    )
    assert issued["flow_run_id"] == flow_run_id(state)


def test_an_unreachable_scheduler_is_503_naming_the_stored_campaign(
    cw: Casework,
    app: Flask,
    tokens: dict[str, str],
    scheduler: str,
    unserved: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    body = {
        "document_number": "姑工要〔2026〕41号",
        "issuing_union": "姑苏区总工会",
        "org_unit": "suzhou.gusu",
        "enterprises": enterprises(3),
    }
    nowhere = "http://127.0.0.1:9/api"
    monkeypatch.setenv("PREFECT_API_URL", nowhere)
    with temporary_settings(updates={PREFECT_API_URL: nowhere, PREFECT_CLIENT_MAX_RETRIES: 0}):
        response = call(app, tokens["negotiator"], "POST", "/campaigns", body)
        assert response.status_code == 503, response.get_json()
        error = response.get_json()
        campaign_id = error["campaign_id"]
        assert error["code"] == "scheduler_unavailable" and campaign_id in error["message"]
        assert "could not be started" in error["message"]
        stored = call(app, tokens["supervisor"], "GET", f"/campaigns/{campaign_id}").get_json()
        assert stored["counts"] == {"total": 3, "opened": 0, "failed": 0, "pending": 3}
        assert stored["flow_run_id"] is None and stored["run"] is None

    # The scheduler is back: the stored campaign is started, not created again.
    monkeypatch.setenv("PREFECT_API_URL", scheduler)
    response = call(app, tokens["supervisor"], "POST", f"/campaigns/{campaign_id}/start")
    assert response.status_code == 202, response.get_json()
    unserved.append(response.get_json()["flow_run_id"])
    assert response.get_json()["campaign_id"] == campaign_id and response.get_json()["run"]["state"] == "scheduled"
    followed = call(app, tokens["auditor"], "GET", f"/campaigns/{campaign_id}").get_json()
    assert followed["flow_run_id"] == unserved[-1] and followed["run"]["state"] == "scheduled"
    assert response.headers["Location"].endswith(f"/campaigns/{campaign_id}")
    assert os.environ["PREFECT_API_URL"] == scheduler
