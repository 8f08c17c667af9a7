"""Ready-made commands for integration tests."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from aggregates.base import Case
from engine.service import Actor, Casework, CommandResult

C = TypeVar("C", bound=Case)

MEDIATOR = Actor("mediator-1", "mediator")
SUPERVISOR = Actor("supervisor-1", "supervisor")
CASEWORKER = Actor("caseworker-1", "caseworker")
NEGOTIATOR = Actor("negotiator-1", "negotiator")


def credit_code(n: int, prefix: str = "91320500MA1") -> str:
    """A valid unified social credit code (GB 32100: the engine checks its check digit), distinct per n."""
    from stdnum.cn import uscc

    body = f"{prefix}{n:0{17 - len(prefix)}d}"
    return body + uscc.calc_check_digit(body)


def file_dispute(cw: Casework, actor: Actor = MEDIATOR, **overrides: Any) -> CommandResult:
    data: dict[str, Any] = dict(
        org_unit="suzhou.gusu",
        employer={"name": "苏州示例精密机械有限公司", "credit_code": "91320500MA1XXXXXXC"},
        applicants=[{"name": "王建国", "id_number": "32050219800101123X", "phone": "13800000000"}],
        workers_involved=12,
        claims=[{"category": "wages", "amount": "8600.00", "description": "拖欠两个月工资"}],
        summary="拖欠工资",
    )
    data.update(overrides)
    return cw.open_case("labor_dispute", actor, **data)


def hardship_application(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = dict(
        org_unit="suzhou.wuzhong",
        worker={"name": "李秀英", "id_number": "320506197502030026", "phone": "13900000000", "address": "吴中区某街道"},
        household={"members": 3, "monthly_income_per_capita": "900", "local_minimum": "1120"},
        causes=["illness"],
        category="deep",
    )
    data.update(overrides)
    return data


def get_as(cw: Casework, ref: UUID | str, cls: type[C]) -> C:
    """The case `ref` as the case type it is, whose own state a test then reads."""
    case = cw.get(ref)
    assert isinstance(case, cls), f"{case.label} is not a {cls.__name__}"
    return case


def count_rows(cw: Casework, table: str) -> int:
    from sqlalchemy import text

    with cw.read_transaction() as session:
        return session.execute(text(f"select count(*) from {table}")).scalar_one()
