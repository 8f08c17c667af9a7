"""Helpers for the workflow tests: actors, an org tree, offers, event counts and the Prefect client."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import func, select

from engine.accounts import add_org, add_user, set_active
from engine.audit import HistoryEntry, history
from engine.service import Actor, Casework, CommandResult
from engine.tables import case_index
from tests.integration.scenarios import NEGOTIATOR

SYSTEM = Actor("system", "system")
INSPECTOR = Actor("inspector-1", "inspector")
SUPERVISOR = Actor("supervisor-1", "supervisor")
ADMIN = Actor("admin-1", "admin")

ON_SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
"""For tests that run flows: the SQLite file only (the engine-level tests run on both databases)."""
ON_POSTGRES = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
"""For tests that need PostgreSQL itself (a trigger that injects a fault)."""

ORGS = (
    ("suzhou", "苏州市总工会"),
    ("suzhou.gusu", "姑苏区总工会"),
    ("suzhou.gusu.shuangta", "双塔街道总工会"),
    ("suzhou.wuzhong", "吴中区总工会"),
)
STREET = "suzhou.gusu.shuangta"
"""A street union: its higher-level union is 姑苏区总工会, its nearest supervisors sit in suzhou.gusu."""
GUSU_SUPERVISORS = ["gusu-sup-a", "gusu-sup-b"]


def org_tree(cw: Casework) -> None:
    """The city, two districts and a street; supervisors in the city and in gusu (none active in the street)."""
    for path, name in ORGS:
        add_org(cw, path, name)
    add_user(cw, "city-sup", "市总督查", "supervisor", "suzhou", by=ADMIN)
    add_user(cw, "gusu-sup-b", "姑苏区督查乙", "supervisor", "suzhou.gusu", by=ADMIN)
    add_user(cw, "gusu-sup-a", "姑苏区督查甲", "supervisor", "suzhou.gusu", by=ADMIN)
    add_user(cw, "gusu-mediator", "姑苏区调解员", "mediator", "suzhou.gusu", by=ADMIN)
    add_user(cw, "street-sup-gone", "已调离的督查", "supervisor", STREET, by=ADMIN)
    set_active(cw, "street-sup-gone", False, by=ADMIN)
    add_user(cw, "street-negotiator", "街道协商指导员", "negotiator", STREET, by=ADMIN)


def issue_offer(
    cw: Casework,
    name: str = "苏州示例电子有限公司",
    *,
    org_unit: str = STREET,
    document_number: str = "姑工要〔2026〕1号",
    actor: Actor = NEGOTIATOR,
    **extra: Any,
) -> CommandResult:
    return cw.open_case(
        "wage_negotiation",
        actor,
        org_unit=org_unit,
        document_number=document_number,
        enterprise={"name": name, "employees": 120},
        issuing_union="双塔街道总工会",
        terms={"wage_increase_pct": "5"},
        **extra,
    )


def events(cw: Casework, ref: UUID | str, event: str | None = None) -> list[HistoryEntry]:
    """A case's events, or only those of one event class."""
    return [e for e in history(cw, ref) if event is None or e.event == event]


def event_names(cw: Casework, ref: UUID | str) -> list[str]:
    return [e.event for e in history(cw, ref)]


def count_cases(cw: Casework, kind: str, **where: Any) -> int:
    c = case_index.c
    query = select(func.count()).select_from(case_index).where(c.kind == kind)
    for column, value in where.items():
        query = query.where(c[column] == value)
    with cw.read_transaction() as session:
        return session.execute(query).scalar_one()


def run_flow(flow: Callable[..., Any], **parameters: Any) -> Any:
    """Call a flow in this process and return its final State (the caller binds the engine with `using`)."""
    return flow(**parameters, return_state=True)


def flow_run_id(state: Any) -> str:
    return str(state.state_details.flow_run_id)


def task_runs(flow_run: str, name: str, until: Callable[[list[Any]], bool], timeout: float = 30) -> list[Any]:
    """The task runs named `name`-* of a flow run, as the server records them (task run states reach
    the server as events, a moment after the flow returns): polled until `until` holds or time is up."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    while True:
        with get_client(sync_client=True) as client:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run)])))
        runs = [r for r in runs if r.name.startswith(name + "-")]
        if until(runs) or time.monotonic() > deadline:
            return runs
        time.sleep(0.2)


def artifacts(flow_run: str) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        return client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[UUID(flow_run)]))
        )
