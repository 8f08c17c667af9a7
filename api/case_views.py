"""What a client receives for a case, per case type: the common view and each type's own `details`.

A case view's `details` is the case type's own state (`engine.views.details`). Each type declares
it here, field by field, so the OpenAPI document says what a client receives: a command on a
negotiation answers with a `WageNegotiationCase`, and a read of any case (`GET /cases/{ref}`) with
one of the four, told apart by `kind`. Values arrive JSON-ready (dates and times as ISO-8601 text,
amounts and percentages as decimal text); personal data is masked for roles that may not see it,
and stays text.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields

from aggregates.hardship import HardshipCase
from aggregates.labor_dispute import LaborDispute
from aggregates.policy import CALENDAR_OFFICIAL, CALENDAR_WEEKENDS_ONLY
from aggregates.rectification import RectificationProposal
from aggregates.wage_negotiation import WageNegotiation
from api.dumping import LeanDump
from api.schemas import OneOfSchema, PageSchema
from engine.registry import CASE_TYPES
from engine.views import NOTES_IN_VIEW


def _text(nullable: bool = False, **metadata: Any) -> fields.String:
    return fields.String(required=True, allow_none=nullable, metadata=metadata)


def _day(nullable: bool = False, required: bool = True) -> fields.String:
    return fields.String(required=required, allow_none=nullable, metadata={"format": "date"})


def _moment() -> fields.String:
    return fields.String(required=True, metadata={"format": "date-time"})


def _amount(nullable: bool = False, **metadata: Any) -> fields.String:
    """Money in CNY (or a percentage) as decimal text."""
    return fields.String(required=True, allow_none=nullable, metadata={"example": "8600.00", **metadata})


def _whole() -> fields.Integer:
    return fields.Integer(required=True)


def _texts() -> fields.List:
    return fields.List(fields.String(), required=True)


def _one(schema: type[ma.Schema], nullable: bool = False) -> fields.Nested:
    """A part of the state of that shape (or null). Said with `nullable` beside the reference rather than
    allow_none, which apispec renders as "any object, or that shape" for OpenAPI 3.0: a check of nothing."""
    return fields.Nested(schema, required=True, metadata={"nullable": True} if nullable else {})


def _many(schema: type[ma.Schema]) -> fields.List:
    return fields.List(fields.Nested(schema), required=True)


# -- what every case has ------------------------------------------------------------------------------


class ClockSchema(ma.Schema):
    name = fields.String(required=True)
    started_on = fields.String(required=True, metadata={"format": "date"})
    due_on = fields.String(required=True, metadata={"format": "date"})
    paused_on = fields.String(allow_none=True, metadata={"format": "date"})
    extensions = fields.Integer(required=True)
    working_days = fields.Boolean(
        required=True, metadata={"description": "the clock counts working days (else calendar days)"}
    )
    calendar = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "enum": [CALENDAR_OFFICIAL, CALENDAR_WEEKENDS_ONLY, None],
            "description": "which calendar counted a working-day clock's due date: 'official' (the State Council's "
            "holidays and make-up working days), or 'weekends_only' when it runs past the years the official "
            "calendar is known for, so only weekends (and the policy file's days) were skipped; null for a "
            "calendar-day clock or one opened before clocks recorded it",
        },
    )
    overdue = fields.Boolean(required=True)


class LinkSchema(ma.Schema):
    case_id = _text(format="uuid")
    number = _text()
    kind = _text(enum=list(CASE_TYPES))
    relation = _text()


class NoteSchema(ma.Schema):
    at = _moment()
    by = _text()
    text = _text()


class NotePageSchema(PageSchema):
    items = _many(NoteSchema)


class CaseSchema(LeanDump):
    """A case's current (or past) state, the clocks that run on it and what the caller may do next; each case type's
    view below says what its `kind` and `details` are. Dumped by a plan made once (api/dumping.py): every command
    and case read answers with one."""

    case_id = fields.String(required=True, metadata={"format": "uuid"})
    kind = fields.String(required=True, metadata={"enum": list(CASE_TYPES)})
    number = fields.String(required=True, metadata={"example": "LD-2026-000123"})
    stage = fields.String(required=True)
    stage_label = fields.String(required=True)
    is_open = fields.Boolean(required=True)
    org_unit = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    parties = fields.String(required=True)
    flags = fields.List(fields.String(), required=True)
    opened_at = _moment()
    opened_by = fields.String(required=True)
    updated_at = _moment()
    version = fields.Integer(required=True)
    head_hash = fields.String(required=True)
    allowed_actions = fields.List(
        fields.String(), required=True, metadata={"description": "the actions the caller's role may take in this stage"}
    )
    clocks = fields.List(fields.Nested(ClockSchema), required=True)
    links = _many(LinkSchema)
    notes = fields.List(
        fields.Nested(NoteSchema),
        required=True,
        metadata={
            "description": f"the case's latest {NOTES_IN_VIEW} notes, oldest first; "
            "GET /cases/{ref}/notes pages through them all"
        },
    )
    notes_total = fields.Integer(required=True, metadata={"description": "how many notes the case has"})
    details: fields.Field[Any] = fields.Dict(required=True)  # each case type's schema declares its own


class AlertSchema(ma.Schema):
    clock = _text()
    due_on = _day()
    notify = _texts()
    raised_at = _moment()


class CaseDetailsSchema(ma.Schema):
    alerts = fields.List(
        fields.Nested(AlertSchema),
        required=True,
        metadata={"description": "the clocks that ran out and whom that was reported to, once per due date"},
    )


# -- labor dispute ------------------------------------------------------------------------------------


class EmployerViewSchema(ma.Schema):
    name = _text()
    credit_code = _text(description="normalised; empty when not given")


def _erased() -> fields.Boolean:
    return fields.Boolean(
        metadata={"description": "true once the person's data was erased (PIPL art. 47): their fields are then null"}
    )


class ApplicantSchema(ma.Schema):
    """Personal data: masked for roles that may not see it. Only the fields given are kept; all null once erased."""

    name = _text(nullable=True)
    id_number = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    erased = _erased()


class ClaimViewSchema(ma.Schema):
    category = _text()
    amount = _amount()
    description = _text()


class SessionSchema(ma.Schema):
    held_on = _day()
    summary = _text()
    attendees = _texts()


class AgreementSchema(ma.Schema):
    terms = _text()
    amounts = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": "amount in CNY (decimal text) by what it is for"},
    )
    total_amount = _amount()
    performance_due = _day()


class LaborDisputeDetailsSchema(CaseDetailsSchema):
    employer = _one(EmployerViewSchema)
    applicants = _many(ApplicantSchema)
    workers_involved = _whole()
    claims = _many(ClaimViewSchema)
    summary_text = _text(description="the dispute as filed")
    mediator = _text(nullable=True)
    sessions = _many(SessionSchema)
    agreement = _one(AgreementSchema, nullable=True)
    mediation_extended = fields.Boolean(required=True)
    outcome = _text(nullable=True, description="performed, once the agreement was carried out")


# -- wage negotiation ---------------------------------------------------------------------------------


class EnterpriseViewSchema(EmployerViewSchema):
    employees = fields.Integer(required=True, allow_none=True)


class OfferTermsSchema(ma.Schema):
    wage_increase_pct = _amount(nullable=True, example="5.5")
    minimum_wage = _amount(nullable=True)
    other = _text()


class RectificationStepSchema(ma.Schema):
    case_id = _text(format="uuid")
    number = _text()
    issued_at = _moment()
    outcome = _text(nullable=True, description="agreed_to_rectify or referred, once the proposal has one")


class ProposalSchema(ma.Schema):
    no = _whole()
    side = _text(enum=["union", "enterprise"])
    wage_increase_pct = _amount(example="5.5")
    minimum_wage = _amount(nullable=True)
    other_terms = _text()
    submitted_at = _moment()
    status = _text(description="open, countered, accepted or lapsed")


class AgreedTermsSchema(ma.Schema):
    proposal_no = _whole()
    proposed_by = _text()
    wage_increase_pct = _amount(example="5.5")
    minimum_wage = _amount(nullable=True)
    other_terms = _text()
    agreed_at = _moment()


class CoordinationSchema(ma.Schema):
    authority = _text()
    requested_at = _moment()


class CongressSchema(ma.Schema):
    votes_for = _whole()
    votes_against = _whole()
    representatives = _whole()
    approved_on = _day()


class ContractSchema(ma.Schema):
    signed_on = _day()
    term_start = _day()
    term_end = _day()
    bureau = _text(nullable=True)
    filed_on = _day(nullable=True)
    effective_on = _day(nullable=True)
    bureau_confirmed = fields.Boolean(metadata={"description": "once in effect: whether the bureau confirmed it"})


class ObjectionSchema(ma.Schema):
    objected_on = _day()
    reason = _text(nullable=True)
    contract = _one(ContractSchema, nullable=True)
    agreed_terms = _one(AgreedTermsSchema, nullable=True)


class PendingEscalationSchema(ma.Schema):
    action = _text()
    trigger = _text()
    due_on = _day(nullable=True)
    why = _text()
    proposed_at = _moment()
    proposed_by = _text()


class DismissedEscalationSchema(ma.Schema):
    action = _text()
    trigger = _text()
    due_on = _day(nullable=True)
    dismissed_at = _moment()
    dismissed_by = _text()
    reason = _text(nullable=True)


class WageNegotiationDetailsSchema(CaseDetailsSchema):
    enterprise = _one(EnterpriseViewSchema)
    issuing_union = _text()
    document_number = _text()
    terms = _one(OfferTermsSchema)
    first_of_document = fields.Boolean(required=True)
    covers = _whole()
    ladder_step = _whole()
    acting_union = _text(nullable=True)
    rectification = _one(RectificationStepSchema, nullable=True)
    proposals = _many(ProposalSchema)
    agreed_terms = _one(AgreedTermsSchema, nullable=True)
    coordination = _one(CoordinationSchema, nullable=True)
    congress = _one(CongressSchema, nullable=True)
    contract = _one(ContractSchema, nullable=True)
    objections = _many(ObjectionSchema)
    outcome = _text(nullable=True)
    pending_escalation = _one(PendingEscalationSchema, nullable=True)
    dismissed_escalations = _many(DismissedEscalationSchema)


# -- rectification proposal ---------------------------------------------------------------------------


class SourceViewSchema(ma.Schema):
    kind = _text()
    case_id = _text(nullable=True, format="uuid")
    number = _text(nullable=True)


class ItemViewSchema(ma.Schema):
    no = _whole()
    category = _text()
    description = _text()
    legal_basis = _text()
    deadline = _day()
    status = _text(description="open, passed or failed")
    original_deadline = _day(required=False)


class ItemVerificationSchema(ma.Schema):
    item_no = _whole()
    result = _text()
    findings = _text()
    verified_on = _day()
    by = _text()


class PendingReferralSchema(ma.Schema):
    trigger = _text()
    due_on = _day(nullable=True)
    why = _text(nullable=True)
    proposed_at = _moment()
    proposed_by = _text()


class DismissedReferralSchema(ma.Schema):
    trigger = _text()
    due_on = _day(nullable=True)
    dismissed_at = _moment()
    dismissed_by = _text()
    reason = _text(nullable=True)


class RectificationProposalDetailsSchema(CaseDetailsSchema):
    enterprise = _one(EmployerViewSchema)
    issuing_union = _text()
    source = _one(SourceViewSchema)
    items = _many(ItemViewSchema)
    verifications = _many(ItemVerificationSchema)
    plan = _text(nullable=True)
    outcome = _text(nullable=True)
    penalty = _amount(nullable=True)
    pending_referral = _one(PendingReferralSchema, nullable=True)
    dismissed_referrals = _many(DismissedReferralSchema)


# -- hardship -------------------------------------------------------------------------------------------


class WorkerSchema(ma.Schema):
    """Personal data: masked for roles that may not see it; all null once erased."""

    name = _text(nullable=True)
    id_number = _text(nullable=True)
    phone = _text(nullable=True)
    address = _text(nullable=True)
    erased = _erased()


class HouseholdViewSchema(ma.Schema):
    members = _whole()
    monthly_income_per_capita = _amount()
    local_minimum = _amount()


class VisitSchema(ma.Schema):
    visited_on = _day()
    findings = _text()
    household = _one(HouseholdViewSchema, nullable=True)
    recommended_category = _text(nullable=True)


class DisbursementSchema(ma.Schema):
    aid_type = _text()
    amount = _amount()
    fund = _text()
    period = _text()
    year = _whole()
    disbursed_on = _day()


class ReviewSchema(ma.Schema):
    outcome = _text()
    category = _text(nullable=True)
    previous_category = _text()
    notes = _text()
    reviewed_on = _day()


class HardshipDetailsSchema(CaseDetailsSchema):
    worker = _one(WorkerSchema)
    household = _one(HouseholdViewSchema)
    causes = _texts()
    category = _text()
    found_on_visit = fields.Boolean(required=True)
    employer = _text(nullable=True)
    verifier = _text(nullable=True)
    visit = _one(VisitSchema, nullable=True)
    recommended_category = _text(nullable=True)
    registered_on = _day(nullable=True)
    disbursements = _many(DisbursementSchema)
    totals = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        metadata={"description": 'paid out per year and aid type ("2026/living"), in CNY as decimal text'},
    )
    reviews = _many(ReviewSchema)


# -- a case of each type, and of any type ---------------------------------------------------------------


def _kind(kind: str) -> fields.String:
    return fields.String(required=True, metadata={"enum": [kind]})


def _details(schema: type[ma.Schema]) -> fields.Nested:
    return fields.Nested(
        schema,
        required=True,
        metadata={"description": "the case type's own data; personal data is masked for roles that may not see it"},
    )


class LaborDisputeCaseSchema(CaseSchema):
    kind = _kind(LaborDispute.KIND)
    details = _details(LaborDisputeDetailsSchema)


class WageNegotiationCaseSchema(CaseSchema):
    kind = _kind(WageNegotiation.KIND)
    details = _details(WageNegotiationDetailsSchema)


class RectificationProposalCaseSchema(CaseSchema):
    kind = _kind(RectificationProposal.KIND)
    details = _details(RectificationProposalDetailsSchema)


class HardshipCaseSchema(CaseSchema):
    kind = _kind(HardshipCase.KIND)
    details = _details(HardshipDetailsSchema)


CASE_SCHEMAS: dict[str, type[CaseSchema]] = {
    LaborDispute.KIND: LaborDisputeCaseSchema,
    WageNegotiation.KIND: WageNegotiationCaseSchema,
    RectificationProposal.KIND: RectificationProposalCaseSchema,
    HardshipCase.KIND: HardshipCaseSchema,
}
"""Kind -> the view of a case of that type."""

if set(CASE_SCHEMAS) != set(CASE_TYPES):
    raise TypeError(
        f"api.case_views declares a case view for {', '.join(sorted(CASE_SCHEMAS))}; the case types are "
        f"{', '.join(sorted(CASE_TYPES))}"
    )


class AnyCaseSchema(OneOfSchema):
    """A case of any type: one of the case views, told apart by `kind`."""

    key = "kind"
    choices = CASE_SCHEMAS
