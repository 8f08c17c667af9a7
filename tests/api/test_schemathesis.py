"""Property-based tests of the HTTP API against its own OpenAPI document (schemathesis).

Every operation in `/openapi.json` is called through the real Flask app (WSGI) with generated valid
and invalid requests: schemathesis' coverage phase (boundary values, missing and wrong-typed fields,
other methods) and a fuzzing phase of MAX_EXAMPLES requests. Commands run as a supervisor, reads as a
supervisor or an auditor, account management as an admin. Path parameters mostly name real cases (of
each type, in several stages) and users, so requests get past the look-up into the commands. No
response may be a 5xx; each must match the document (status, content type, headers, body); and a
request the document rules out must be refused with a 4xx.

Runs are reproducible: derandomized Hypothesis, a fixed schemathesis seed, no example database.
The document is read at import, from an app whose engine is never connected (it needs none);
schemathesis' fixture-based loader does not work with pytest 9. Each test then calls an app over
the test's own database, SQLite and PostgreSQL.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck
from requests.structures import CaseInsensitiveDict
from schemathesis import Case, checks
from schemathesis.core.result import Ok

from api.cases import IF_MATCH
from api.openapi_dump import document
from bootstrap import http_app
from engine.accounts import add_org, add_user
from engine.service import Actor, Casework

MAX_EXAMPLES = 15
"""Fuzzed requests per operation, on top of the coverage phase's: about 50 s for every operation on SQLite."""
SEED = 20260302


@dataclass
class World:
    """What the generated requests may point at: tokens by role, real cases and throwaway users."""

    tokens: dict[str, str] = field(default_factory=dict)
    cases: dict[str, list[str]] = field(default_factory=dict)  # collection -> case ids and numbers
    refs: list[str] = field(default_factory=list)  # case ids and numbers
    victims: list[str] = field(default_factory=list)  # users an admin may rotate or deactivate
    clocks: dict[str, set[str]] = field(default_factory=dict)  # collection -> names of clocks open on its cases


COLLECTION_OF = {
    "labor_dispute": "disputes",
    "wage_negotiation": "negotiations",
    "rectification_proposal": "rectifications",
    "hardship": "hardship-cases",
}


DISPUTE: dict[str, Any] = dict(
    org_unit="suzhou.gusu",
    employer={"name": "苏州示例精密机械有限公司", "credit_code": "91320500MA1XXXXXXC"},
    applicants=[{"name": "王建国", "id_number": "32050219800101123X", "phone": "13800000000"}],
    workers_involved=12,
    summary="拖欠工资",
    claims=[{"category": "wages", "amount": "8600.00", "description": "拖欠两个月工资"}],
)
OFFER: dict[str, Any] = dict(
    org_unit="suzhou.gusu",
    enterprise={"name": "苏州示例电子有限公司", "employees": 320},
    issuing_union="姑苏区总工会",
    document_number="姑工要〔2026〕7号",
    terms={"wage_increase_pct": "6.0"},
)
PROPOSAL: dict[str, Any] = dict(
    org_unit="suzhou",
    enterprise={"name": "苏州示例纺织有限公司", "employees": 80},
    issuing_union="苏州市总工会",
    source={"kind": "inspection", "case_id": None, "number": None},
    items=[
        {
            "category": "wages",
            "description": "按时足额支付工资",
            "legal_basis": "劳动法第五十条",
            "deadline": date(2026, 4, 1),
        }
    ],
)


def _hardship(name: str, id_number: str) -> dict[str, Any]:
    return dict(
        org_unit="suzhou.wuzhong",
        worker={"name": name, "id_number": id_number, "phone": "13900000000", "address": "吴中区某街道"},
        household={"members": 3, "monthly_income_per_capita": "900", "local_minimum": "1120"},
        causes=["illness"],
        category="deep",
    )


def _seed(cw: Casework) -> World:
    """An org tree, one user per role we test as, and cases of each type in their first stage and further on,
    so generated commands meet stages that allow them."""
    for path, name in [
        ("suzhou", "苏州市总工会"),
        ("suzhou.gusu", "姑苏区总工会"),
        ("suzhou.gusu.shuangta", "双塔街道总工会"),
        ("suzhou.wuzhong", "吴中区总工会"),
    ]:
        add_org(cw, path, name)
    world = World()
    for user_id, role in [("sup", "supervisor"), ("aud", "auditor"), ("adm", "admin")]:
        _, world.tokens[role] = add_user(cw, user_id, user_id, role, "suzhou", by=Actor("tests", "admin"))
    for user_id in ("clerk-1", "clerk-2"):
        add_user(cw, user_id, user_id, "caseworker", "suzhou.gusu", by=Actor("tests", "admin"))
        world.victims.append(user_id)
    sup, worker = Actor("sup", "supervisor"), Actor("clerk-1", "caseworker")
    today = cw.clock.now().astimezone(cw.settings.tz).date()
    opened = [
        cw.open_case("labor_dispute", sup, **DISPUTE),
        cw.open_case("wage_negotiation", sup, **OFFER),
        cw.open_case("rectification_proposal", sup, **PROPOSAL),
        cw.open_case("hardship", sup, **_hardship("李秀英", "320506197502030026")),
    ]
    mediating = cw.open_case("labor_dispute", sup, **DISPUTE).case_id
    cw.execute(mediating, "accept", sup)
    cw.execute(mediating, "start_mediation", sup, mediator="sup")
    cw.execute(mediating, "record_session", sup, held_on=today, summary="第一次调解")
    negotiating = cw.open_case(
        "wage_negotiation",
        sup,
        **{**OFFER, "document_number": "姑工要〔2026〕8号", "enterprise": {"name": "苏州示例食品有限公司"}},
    ).case_id
    cw.execute(negotiating, "accept_offer", sup)
    cw.execute(negotiating, "submit_proposal", sup, side="union", wage_increase_pct="6")
    implementing = cw.open_case("rectification_proposal", sup, **PROPOSAL).case_id
    cw.execute(implementing, "accept_plan", sup, plan="同意整改")
    registered = cw.open_case("hardship", worker, **_hardship("张伟", "320506198002030016")).case_id
    cw.execute(registered, "verify", worker, visited_on=today, findings="属实")
    cw.execute(registered, "approve", sup)
    cw.execute(registered, "pause_clock", sup, clock="review", reason="外出务工")
    for case_id in (mediating, negotiating, implementing, registered):
        opened.append(cw.execute(case_id, "add_note", sup, text="seeded"))
    for result in opened:
        world.cases.setdefault(COLLECTION_OF[result.kind], []).extend([str(result.case_id), result.number])
        world.clocks.setdefault(COLLECTION_OF[result.kind], set()).update(cw.get(result.case_id).clocks)
        world.refs += [str(result.case_id), result.number]
    return world


@pytest.fixture
def world(cw: Casework) -> World:
    return _seed(cw)


@pytest.fixture
def app(cw: Casework, world: World) -> Flask:
    return http_app(cw)


def _served_document() -> dict[str, Any]:
    """/openapi.json as the app serves it (one place builds it: api.openapi_dump)."""
    return document()


DOCUMENT = _served_document()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.config.seed = SEED
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]


def _pick(case: Case, choices: list[str], salt: str) -> str | None:
    """One of `choices` or None, chosen from the generated request itself, so a run is reproducible."""
    body = str(case.body)  # as it was first written: a body of bytes in its b'...' form
    digest = zlib.crc32(f"{salt}|{case.method}|{case.path}|{case.path_parameters}|{case.query}|{body}".encode())
    return None if digest % 4 == 0 else choices[(digest // 4) % len(choices)]


def _point_at_real_things(case: Case, world: World) -> None:
    """Three times in four, name a real case (of the right type) or a throwaway user instead of a generated one.

    Containers are replaced, not edited in place, so schemathesis re-checks whether the request is still one
    the document rules out (a negative case) before judging the response."""
    params = dict(case.path_parameters or {})
    if params.get("case_id"):  # a command route takes a case's id or its number
        params["case_id"] = _pick(case, world.cases[case.path.split("/")[1]], "case_id") or params["case_id"]
    if params.get("ref"):  # a real id or number, or a generated one shaped like a number so it reaches the look-up
        params["ref"] = _pick(case, [*world.refs, f"LD-{params['ref']}"], "ref") or params["ref"]
    if params.get("user_id"):
        params["user_id"] = _pick(case, world.victims, "user_id") or params["user_id"]
    if params != (case.path_parameters or {}):
        case.path_parameters = params


def _steer_body(case: Case, world: World) -> None:
    """Three times in four: no `occurred_at` (a generated business time is nearly always outside the back-dating
    window), a clock that is open on cases of this type, a real case to link to. Otherwise the engine would
    refuse almost every generated command before running it."""
    body = case.body
    if not isinstance(body, dict):
        return
    steered = dict(body)
    if "occurred_at" in steered and _pick(case, ["drop"], "occurred_at"):
        del steered["occurred_at"]
    if isinstance(steered.get("clock"), str):
        steered["clock"] = _pick(case, sorted(world.clocks[case.path.split("/")[1]]), "clock") or steered["clock"]
    if isinstance(steered.get("case"), str):
        steered["case"] = _pick(case, world.refs, "case") or steered["case"]
    if steered != body:
        case.body = steered


def _role(case: Case) -> str:
    """Account management as an admin, commands as a supervisor, reads as a supervisor or an auditor."""
    if case.path.startswith("/users") or (case.path == "/orgs" and case.method == "POST"):
        return "admin"
    if case.method != "GET":
        return "supervisor"
    return _pick(case, ["auditor"], "role") or "supervisor"


def _authenticate(case: Case, world: World) -> None:
    """A real token in place of the generated one (a request generated without one, to test the 401, stays so);
    and mostly `If-Match: *` in place of a generated version, which would nearly always be stale (412) and keep
    the command from running."""
    headers = dict(case.headers or {})
    for name, value in headers.items():
        if name.lower() == "authorization":
            headers[name] = f"Bearer {world.tokens[_role(case)]}"
        elif name.lower() == "if-match" and isinstance(value, str) and IF_MATCH.fullmatch(value):
            headers[name] = _pick(case, ["*"], "if-match") or value
    if headers != (case.headers or {}):
        case.headers = CaseInsensitiveDict(headers)


@schema.parametrize()
@hypothesis.settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)  # whole requests are large, filtered and slow to make
def test_every_operation_conforms_to_the_openapi_document(case: Case, app: Flask, world: World) -> None:
    """No 5xx; status, content type, headers and body as documented; schema-violating requests refused."""
    _point_at_real_things(case, world)
    _steer_body(case, world)
    _authenticate(case, world)
    case.call_and_validate(app=app, checks=CHECKS)


def test_the_run_above_uses_the_document_the_app_serves(app: Flask) -> None:
    """The document was read from an app with no database; the one over a real database serves the same."""
    assert app.test_client().get("/openapi.json").get_json() == DOCUMENT


def test_every_documented_operation_gets_requests() -> None:
    """The run above skips, without a word, an operation it cannot generate requests for: a path parameter
    without a schema did that to GET /cases/{ref}."""
    documented = {
        (method.upper(), path) for path, item in DOCUMENT["paths"].items() for method in item if method != "parameters"
    }
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert {(operation.method.upper(), operation.path) for operation in operations} == documented
    for operation in operations:
        one = hypothesis.settings(max_examples=1, database=None, phases=[hypothesis.Phase.generate])
        one(hypothesis.given(operation.as_strategy())(lambda case: None))()


def test_unknown_query_parameters_are_named(app: Flask, world: World) -> None:
    """Found by the run above: webargs dropped unknown query parameters, so a misspelt filter listed every case."""
    headers = {"Authorization": f"Bearer {world.tokens['supervisor']}"}
    for url in ("/cases?stge=filed", "/reports/statistics?form=2026-01-01", f"/cases/{world.refs[1]}/as-of?vers=1"):
        response = app.test_client().get(url, headers=headers)
        assert response.status_code == 422, url
        assert response.get_json()["code"] == "invalid_request"
        assert list(response.get_json()["fields"]) == [f"query.{url.partition('?')[2].partition('=')[0]}"]


def test_a_body_that_is_not_json_is_refused(app: Flask, world: World) -> None:
    """Found alongside the run above: a form or text body was read as no body, so `accept` ran regardless."""
    headers = {"Authorization": f"Bearer {world.tokens['supervisor']}"}
    accept = f"/disputes/{world.cases['disputes'][0]}/accept"
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        response = app.test_client().post(accept, data="reason=x", content_type=content_type, headers=headers)
        assert response.status_code == 415
        assert response.get_json()["code"] == "unsupported_media_type"
    assert app.test_client().post(accept, headers=headers).status_code == 200  # no body at all is fine
