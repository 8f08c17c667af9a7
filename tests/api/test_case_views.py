"""A case view says in the OpenAPI document what a client receives: each case type declares its `details`.

Cases of every type are driven through every branch that adds to their state (notes, links, alerts,
sessions, agreements, proposals, objections, escalations proposed and dismissed, items moved, verified
and referred, referrals proposed and dismissed, visits, disbursements, reviews). Then, at every version
of every case and for a reader who sees personal data and one who does not, the view is exactly what its
type's schema dumps (so a field the schema does not declare would be lost, and fails here) and the API's
answer validates against the document.
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any
from uuid import UUID

import jsonschema
import marshmallow as ma
from sqlalchemy import text

from api.case_views import CASE_SCHEMAS, AnyCaseSchema
from engine.service import Actor
from engine.views import case_view
from tests.api.conftest import ApiWorld
from tests.api.support import id_number

MEDIATOR, NEGOTIATOR = Actor("mediator-1", "mediator"), Actor("negotiator-1", "negotiator")
INSPECTOR, CASEWORKER = Actor("inspector-1", "inspector"), Actor("caseworker-1", "caseworker")
SUPERVISOR, REGISTRAR, SYSTEM = (
    Actor("supervisor-1", "supervisor"),
    Actor("supervisor-2", "supervisor"),
    Actor("system", "system"),
)
UNIT = "suzhou.gusu"
CREDIT_CODE = "91320500MA1XXXXXXC"


def _drive_every_branch(api: ApiWorld) -> None:
    cw, clock = api.cw, api.clock

    def today():
        return clock.now().date()

    def run(case_id: UUID, action: str, actor: Actor, days: int = 0, **data: Any) -> Any:
        clock.advance(days=days)
        return cw.execute(case_id, action, actor, **data)

    # a dispute: two applicants (one with only a name), a session, an extension, an alert, a note, a link,
    # an agreement with amounts, performed
    withdrawn = cw.open_case(
        "labor_dispute",
        MEDIATOR,
        org_unit=UNIT,
        employer={"name": "乙公司"},
        applicants=[{"name": "李四"}],
        workers_involved=1,
        claims=[{"category": "overtime", "amount": "300"}],
    ).case_id
    run(withdrawn, "withdraw", SUPERVISOR, reason="撤回")
    d = cw.open_case(
        "labor_dispute",
        MEDIATOR,
        org_unit=UNIT,
        employer={"name": "甲公司", "credit_code": CREDIT_CODE},
        applicants=[
            {"name": "王建国", "id_number": id_number(1), "phone": "13800000000", "address": "姑苏区某街道"},
            {"name": "张三"},
        ],
        workers_involved=12,
        summary="拖欠工资",
        claims=[{"category": "wages", "amount": "8600.00", "description": "两个月工资"}],
    ).case_id
    run(d, "add_note", MEDIATOR, text="电话联系申请人")
    run(d, "assign", SUPERVISOR, assignee="mediator-1")
    run(d, "link_case", MEDIATOR, case=str(withdrawn), relation="related")
    run(d, "accept", MEDIATOR)
    run(d, "start_mediation", MEDIATOR, mediator="mediator-1")
    run(d, "record_session", MEDIATOR, days=1, held_on=today(), summary="第一次调解", attendees=["王建国"])
    run(d, "extend_mediation", MEDIATOR, parties_consent=True, reason="双方同意延长")
    run(d, "raise_alert", SYSTEM, days=40, clock="mediation", notify=["supervisor-1"])
    run(
        d,
        "reach_agreement",
        MEDIATOR,
        terms="分期支付",
        amounts={"wages": "8600.00", "compensation": "1000"},
        performance_due=today() + timedelta(days=10),
    )
    run(d, "confirm_performance", MEDIATOR, days=10)

    # a negotiation: an alert, an escalation proposed and dismissed, proposals countered and accepted, a contract
    # objected to and signed again, in effect by the bureau's confirmation
    n = cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit=UNIT,
        issuing_union="姑苏区总工会",
        document_number="姑工要〔2026〕1号",
        enterprise={"name": "苏州示例电子有限公司", "credit_code": CREDIT_CODE, "employees": 300},
        terms={"wage_increase_pct": "6.5", "minimum_wage": "2500", "other": "带薪年休假"},
    ).case_id
    run(n, "raise_alert", SYSTEM, days=21, clock="reply")
    run(n, "propose_escalation", SYSTEM, reason="逾期未答复")
    run(n, "dismiss_escalation", SUPERVISOR, reason="企业已口头应约")
    run(n, "accept_offer", NEGOTIATOR)

    def agree(union_pct: str) -> None:
        run(n, "submit_proposal", NEGOTIATOR, side="union", wage_increase_pct=union_pct, minimum_wage="2600")
        run(n, "submit_proposal", NEGOTIATOR, side="enterprise", wage_increase_pct="-1.5", other_terms="分两步")
        run(n, "accept_proposal", NEGOTIATOR, side="union")
        run(n, "approve_by_congress", NEGOTIATOR, votes_for=60, votes_against=5, representatives=100)
        run(n, "sign", NEGOTIATOR, signed_on=today(), term_start=today(), term_end=today() + timedelta(days=365))
        run(n, "file_with_bureau", NEGOTIATOR, bureau="苏州市人社局")

    agree("6")
    run(n, "record_objection", NEGOTIATOR, reason="条款违法")
    agree("5")
    run(n, "take_effect", SUPERVISOR, bureau_confirmed=True)

    # an impasse, coordination, closed
    m = cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit=UNIT,
        issuing_union="姑苏区总工会",
        document_number="姑工要〔2026〕2号",
        enterprise={"name": "苏州示例食品有限公司"},
    ).case_id
    run(m, "accept_offer", NEGOTIATOR)
    run(m, "declare_impasse", NEGOTIATOR, reason="分歧过大")
    run(m, "request_coordination", NEGOTIATOR, authority="姑苏区人社局")
    run(m, "close", SUPERVISOR, reason="协调未果")

    # up the ladder: an acting offer, a rectification proposal whose plan moves a deadline, an alert, a referral
    # proposed and dismissed, then made, with an enforcement penalty
    r = cw.open_case(
        "wage_negotiation",
        NEGOTIATOR,
        org_unit=UNIT,
        issuing_union="姑苏区总工会",
        document_number="姑工要〔2026〕3号",
        enterprise={"name": "苏州示例纺织有限公司"},
    ).case_id
    run(r, "refuse_offer", NEGOTIATOR, reason="企业拒绝")
    run(r, "escalate_to_acting_offer", SUPERVISOR, acting_union="苏州市总工会", reason="拒绝应约")
    items = [
        {
            "category": "collective_contract",
            "description": "拒不应约",
            "legal_basis": "集体合同规定第三十二条",
            "deadline": today() + timedelta(days=81),
        },
        {
            "category": "wages",
            "description": "按时足额支付工资",
            "legal_basis": "劳动法第五十条",
            "deadline": today() + timedelta(days=81),
        },
    ]
    rp = UUID(run(r, "issue_rectification", SYSTEM, days=21, reason="代行要约逾期", items=items).linked[0]["case_id"])
    run(
        rp,
        "accept_plan",
        INSPECTOR,
        plan="三十日内整改",
        item_deadlines=[{"item_no": 2, "deadline": today() + timedelta(days=30)}],
    )
    run(rp, "verify_item", INSPECTOR, days=1, item_no=1, result="failed", findings="仍未应约")
    run(rp, "raise_alert", SYSTEM, days=30, clock="item-2", notify=["inspector-1"])
    run(rp, "propose_referral", SYSTEM, trigger="item-2", reason="整改逾期")
    run(rp, "dismiss_referral", SUPERVISOR, reason="企业承诺补正")
    run(rp, "refer_to_inspectorate", INSPECTOR, days=60, reason="整改逾期")
    run(rp, "record_enforcement", INSPECTOR, outcome="责令改正", penalty="5000")
    inspection = cw.open_case(
        "rectification_proposal",
        INSPECTOR,
        org_unit=UNIT,
        issuing_union="姑苏区总工会",
        enterprise={"name": "苏州示例化工有限公司"},
        source={"kind": "inspection"},
        items=[{**items[1], "deadline": today() + timedelta(days=30)}],
    ).case_id
    run(inspection, "refuse", INSPECTOR, reason="拒绝整改")

    # hardship: an overdue home visit that corrects the household and recommends a category, registration by another
    # supervisor, a disbursement, a paused and resumed clock, a review that reclassifies
    h = cw.open_case(
        "hardship",
        CASEWORKER,
        org_unit=UNIT,
        category="relative",
        causes=["illness", "disability"],
        employer="苏州示例精密机械有限公司",
        worker={"name": "李秀英", "id_number": id_number(2), "phone": "13900000000", "address": "吴中区某街道"},
        household={"members": 3, "monthly_income_per_capita": "900", "local_minimum": "1120"},
    ).case_id
    run(h, "raise_alert", SYSTEM, days=60, clock="verification")
    run(
        h,
        "verify",
        CASEWORKER,
        visited_on=today(),
        findings="属实",
        household={"members": 4, "monthly_income_per_capita": "700", "local_minimum": "1120"},
        recommended_category="deep",
    )
    run(h, "approve", REGISTRAR)
    run(h, "disburse", CASEWORKER, aid_type="living", amount="500", fund="帮扶资金", period="2026-03")
    run(h, "pause_clock", SUPERVISOR, clock="review", reason="外出务工")
    run(h, "resume_clock", SUPERVISOR, days=3, clock="review")
    run(h, "review", CASEWORKER, days=350, outcome="reclassify", category="relative", notes="收入好转")
    run(h, "review", CASEWORKER, days=350, outcome="exit", reason="稳定就业")


def _json_schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` from the document as plain JSON Schema (OpenAPI 3.0's `nullable` becomes "or null", as schemathesis
    reads it), with the document's components for its references."""

    def plain(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: plain(v) for k, v in node.items()}
            return {"anyOf": [node, {"type": "null"}]} if node.pop("nullable", False) else node
        if isinstance(node, list):
            return [plain(v) for v in node]
        return node

    return {**plain(copy.deepcopy(schema)), "components": plain(copy.deepcopy(document["components"]))}


def test_every_case_view_is_its_type_s_declared_view(api: ApiWorld) -> None:
    _drive_every_branch(api)
    document = api.client.get("/openapi.json").get_json()
    one_of = document["paths"]["/cases/{ref}/as-of"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert one_of["discriminator"]["propertyName"] == "kind"
    components = {kind: target.rpartition("/")[2] for kind, target in one_of["discriminator"]["mapping"].items()}
    assert [ref["$ref"].rpartition("/")[2] for ref in one_of["oneOf"]] == list(components.values())
    any_case = jsonschema.Draft4Validator(_json_schema(document, {"oneOf": one_of["oneOf"]}))
    with api.cw.read_transaction() as session:
        case_ids = [UUID(str(row[0])) for row in session.execute(text("select case_id from case_index"))]
    seen: dict[str, set[str]] = {kind: set() for kind in CASE_SCHEMAS}
    for case_id in case_ids:
        latest = api.cw.get(case_id)
        for version in range(1, latest.version + 1):
            case = api.cw.get(case_id, version=version)
            for role in ("supervisor", "auditor"):  # personal data shown, and masked
                view = case_view(case, role, api.clock.now().date())
                assert CASE_SCHEMAS[case.KIND]().dump(view) == view, (case.number, version, role)
                answer = api[role].get(f"/cases/{case_id}/as-of?version={version}")
                assert answer.status_code == 200, answer.get_json()
                any_case.validate(answer.get_json())  # exactly one case type's view: its own
                seen[case.KIND].update(k for k, v in view["details"].items() if v not in (None, [], {}))
    for kind, schema in CASE_SCHEMAS.items():  # the walk above gave every field of every type's details a value
        details = schema().fields["details"]
        assert isinstance(details, ma.fields.Nested)
        assert set(details.schema.fields) == seen[kind], kind


def test_every_case_view_is_dumped_as_marshmallow_dumps_it_keys_in_order(api: ApiWorld) -> None:
    """The case views are dumped by a plan made once (api.dumping); the JSON is marshmallow's, byte for byte."""
    _drive_every_branch(api)
    with api.cw.read_transaction() as session:
        case_ids = [UUID(str(row[0])) for row in session.execute(text("select case_id from case_index"))]
    compared = 0
    for case_id in case_ids:
        for version in range(1, api.cw.get(case_id).version + 1):
            case = api.cw.get(case_id, version=version)
            for role in ("supervisor", "auditor"):
                view = case_view(case, role, api.clock.now().date())
                for schema in (CASE_SCHEMAS[case.KIND](), AnyCaseSchema()):
                    expected = ma.Schema.dump(CASE_SCHEMAS[case.KIND](), view)
                    assert api.app.json.dumps(schema.dump(view)) == api.app.json.dumps(expected), (case.number, role)
                    compared += 1
    assert compared > 100
