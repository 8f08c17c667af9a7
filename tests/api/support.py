"""Helpers for the HTTP API tests: callers with bearer tokens, request bodies, stage walks, error checks."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import marshmallow as ma
from flask.testing import FlaskClient
from sqlalchemy import text
from stdnum.cn import ric
from werkzeug.test import TestResponse

from api.cases import COLLECTIONS
from api.fields import DecimalText, Whole
from engine.clock import FixedClock
from engine.registry import CASE_TYPES
from engine.service import Casework

TABLES = (
    "casework_events",
    "case_index",
    "open_clocks",
    "case_statistics",
    "command_log",
    "case_numbers",
    "person_reservations",
)
"""Every table a command writes: a refused command must leave each of them as it was."""

ERROR_KEYS = {"status", "code", "message"}


@dataclass
class Caller:
    """One user of the API: their test client and bearer token."""

    client: FlaskClient
    user_id: str
    role: str
    org_unit: str
    token: str

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers=self._headers(headers), **kwargs)

    def post(
        self, path: str, json: Any = None, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        if json is not None:
            kwargs["json"] = json
        return self.client.post(path, headers=self._headers(headers), **kwargs)


def collection(kind: str) -> str:
    return f"/{COLLECTIONS[kind]}"


def command_path(kind: str, case_id: str, action: str) -> str:
    """`/disputes/<id>/start-mediation`: the route of one action of one case type."""
    return f"{collection(kind)}/{case_id}/{action.replace('_', '-')}"


def etag(version: int) -> str:
    return f'"{version}"'


def check_error(response: TestResponse, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an error in the API's one JSON shape, with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:2000])
    assert response.is_json, response.get_data(as_text=True)[:500]
    body = response.get_json()
    assert ERROR_KEYS <= set(body), body
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    if code is not None:
        assert body["code"] == code, body
    return body


def count_rows(cw: Casework) -> dict[str, int]:
    with cw.read_transaction() as session:
        return {t: session.execute(text(f"select count(*) from {t}")).scalar_one() for t in TABLES}


# -- request bodies ------------------------------------------------------------------------------


def dispute(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "employer": {"name": "苏州示例精密机械有限公司", "credit_code": "91320500MA1XXXXXXC"},
        "applicants": [{"name": "王建国", "id_number": "32050219800101123X", "phone": "13800000000"}],
        "workers_involved": 12,
        "claims": [{"category": "wages", "amount": "8600.00", "description": "拖欠两个月工资"}],
        "summary": "拖欠工资",
    }
    body.update(overrides)
    return body


def offer(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enterprise": {"name": "苏州示例电子有限公司", "employees": 300},
        "issuing_union": "姑苏区总工会",
        "document_number": "姑工要〔2026〕1号",
    }
    body.update(overrides)
    return body


def items(today: date, count: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "category": "collective_contract",
            "description": f"拒不应约 {n}",
            "legal_basis": "集体合同规定第三十二条",
            "deadline": (today + timedelta(days=60)).isoformat(),
        }
        for n in range(1, count + 1)
    ]


def rectification(today: date, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "enterprise": {"name": "苏州示例纺织有限公司"},
        "issuing_union": "姑苏区总工会",
        "source": {"kind": "inspection"},
        "items": items(today),
    }
    body.update(overrides)
    return body


def csv_rows(response: TestResponse) -> list[list[str]]:
    """The rows of a CSV download, which must be UTF-8 with a byte-order mark (for Excel and WPS)."""
    body = response.get_data()
    assert body.startswith(codecs.BOM_UTF8), body[:20]
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def id_number(n: int) -> str:
    """A distinct, valid ID number per person (one open hardship case per person), with its check digit."""
    body = f"32050619750203{n:03d}"
    return body + ric.calc_check_digit(body + "0")


def hardship(n: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "worker": {"name": "李秀英", "id_number": id_number(n), "phone": "13900000000", "address": "吴中区某街道"},
        "household": {"members": 3, "monthly_income_per_capita": "900", "local_minimum": "1120"},
        "causes": ["illness"],
        "category": "deep",
    }
    body.update(overrides)
    return body


def minimal_body(schema: type[ma.Schema] | ma.Schema) -> dict[str, Any]:
    """A body that passes `schema` with every required field filled in (the engine may still refuse it)."""
    instance = schema() if isinstance(schema, type) else schema
    return {f.data_key or name: _sample(f) for name, f in instance.fields.items() if f.required}


def _sample(f: ma.fields.Field) -> Any:
    if isinstance(f, ma.fields.Nested):
        return minimal_body(f.schema)
    if isinstance(f, ma.fields.List):
        return [_sample(f.inner)]
    if isinstance(f, ma.fields.Dict):
        return {}
    if isinstance(f, ma.fields.Boolean):
        return True
    if isinstance(f, Whole):
        return 1
    if isinstance(f, ma.fields.Date):
        return "2026-03-02"
    if isinstance(f, ma.fields.UUID):
        return str(uuid.uuid4())
    if isinstance(f, DecimalText):
        return "1"
    if isinstance(f, ma.fields.String):
        return "x"
    raise TypeError(f"no sample for {type(f).__name__}")


# -- walking cases through their stages ------------------------------------------------------------


def assert_listed_from_table(case: dict[str, Any], role: str) -> None:
    """The actions a case lists for `role` are ones its stage table allows that role in its stage, in the table's
    order (those whose state guard refuses now are left out; the property tests check which)."""
    table = CASE_TYPES[case["kind"]].TABLE
    listed = case["allowed_actions"]
    assert listed == [a for a in table.allowed(case["stage"], role) if a in listed], (case["stage"], listed)


class Walk:
    """Runs commands over HTTP, each with If-Match, and checks every response against the stage table."""

    def __init__(self, callers: dict[str, Caller], clock: FixedClock) -> None:
        self.callers, self.clock = callers, clock
        self.stages: dict[str, set[str]] = defaultdict(set)

    @property
    def today(self) -> date:
        return self.clock.now().date()

    def open(self, kind: str, who: str, body: dict[str, Any]) -> dict[str, Any]:
        caller = self.callers[who]
        response = caller.post(collection(kind), body)
        assert response.status_code == 201, response.get_json()
        case = response.get_json()
        table = CASE_TYPES[kind].TABLE
        assert (case["kind"], case["stage"], case["version"]) == (kind, table.initial, 1)
        assert response.headers["ETag"] == etag(1)
        assert_listed_from_table(case, caller.role)
        self.stages[kind].add(case["stage"])
        return case

    def __call__(
        self, case: dict[str, Any], action: str, who: str, *, days: int = 0, reason: str | None = None, **body: Any
    ) -> dict[str, Any]:
        """Run `action` on `case` (as last returned) after `days`; returns the case as the command left it."""
        self.clock.advance(days=days)
        caller = self.callers[who]
        kind = case["kind"]
        payload = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in body.items()}
        if reason is not None:
            payload["reason"] = reason
        response = caller.post(
            command_path(kind, case["case_id"], action), payload, headers={"If-Match": etag(case["version"])}
        )
        assert response.status_code == 200, (action, response.get_json())
        after = response.get_json()
        a = CASE_TYPES[kind].TABLE.actions[action]
        assert after["case_id"] == case["case_id"] and after["version"] == case["version"] + 1
        assert response.headers["ETag"] == etag(after["version"])
        assert after["stage"] in (a.targets or (case["stage"],)), (action, after["stage"])
        assert_listed_from_table(after, caller.role)
        assert after["is_open"] == (after["stage"] not in CASE_TYPES[kind].TABLE.terminal)
        self.stages[kind].add(after["stage"])
        return after
