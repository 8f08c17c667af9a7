"""Response and query schemas shared by the blueprints."""

from __future__ import annotations

import math
from collections.abc import Mapping
from functools import cache
from typing import Any, ClassVar

import marshmallow as ma
from apispec.ext.marshmallow import resolver
from marshmallow import fields, validate

from aggregates.stages import ROLES, SCHEDULER_ROLE, USER_ROLES
from api.fields import Strict, Text
from engine.accounts import CHANGES, ORG_LEVELS
from engine.queries import SORTS
from engine.registry import CASE_TYPES

KINDS = list(CASE_TYPES)


class OneOfSchema(ma.Schema):
    """A response that is one of several schemas, told apart by the value of one field (`key`): dumped with the
    schema that value names, and documented as their `oneOf` with a discriminator (api.parsing.Blueprint)."""

    key: ClassVar[str]
    choices: ClassVar[Mapping[str, type[ma.Schema]]]

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        if self.many if many is None else many:
            return [self.dump(one, many=False) for one in obj]
        return self._choice(obj[self.key]).dump(obj)

    @classmethod
    @cache
    def _choice(cls, value: str) -> ma.Schema:
        """The schema `value` names, made once: a schema is reusable, and making one copies all its fields."""
        return cls.choices[value]()

    @classmethod
    def openapi(cls) -> dict[str, Any]:
        """The document's schema: one of the choices (apispec makes each a reference), with a discriminator that
        maps each value of `key` to its component."""
        return {
            "oneOf": list(cls.choices.values()),
            "discriminator": {
                "propertyName": cls.key,
                "mapping": {value: f"#/components/schemas/{resolver(schema)}" for value, schema in cls.choices.items()},
            },
        }


class CaseRowClockSchema(ma.Schema):
    name = fields.String(required=True)
    due_on = fields.Date(required=True)
    paused = fields.Boolean(required=True)


class CaseRowSchema(ma.Schema):
    case_id = fields.UUID(required=True)
    kind = fields.String(required=True)
    number = fields.String(required=True)
    stage = fields.String(required=True)
    is_open = fields.Boolean(required=True)
    org_unit = fields.String(required=True)
    assignee = fields.String(allow_none=True)
    parties = fields.String(required=True)
    flags = fields.List(fields.String(), required=True)
    reference = fields.String(allow_none=True, metadata={"description": "the offer's document number"})
    opened_at = fields.AwareDateTime(required=True)
    updated_at = fields.AwareDateTime(required=True)
    version = fields.Integer(required=True)
    clocks = fields.List(fields.Nested(CaseRowClockSchema), required=True)


class PageSchema(ma.Schema):
    """Where a page of a longer list stands; each list adds its `items`."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


def page_of(items: list[Any], page: int, per_page: int, total: int) -> dict[str, Any]:
    """A `PageSchema` answer: page `page` of `total` items, `per_page` to a page."""
    return {"items": items, "page": page, "per_page": per_page, "total": total, "pages": math.ceil(total / per_page)}


class PageQuerySchema(Strict):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CasePageSchema(PageSchema):
    items = fields.List(fields.Nested(CaseRowSchema), required=True)


class CaseQuerySchema(PageQuerySchema):
    kind = fields.String(validate=validate.OneOf(KINDS))
    stage = Text(max_length=48)
    org_unit = Text(max_length=200, metadata={"description": "this unit and every unit below it"})
    assignee = Text(max_length=120)
    is_open = fields.Boolean()
    overdue = fields.Boolean(metadata={"description": "only cases with a clock past due today"})
    due_before = fields.Date(metadata={"description": "only cases with a clock due on or before this day"})
    flag = fields.List(Text(max_length=40), metadata={"description": "e.g. collective, acting_offer, deep"})
    q = Text(max_length=200, metadata={"description": "free text in the case number, party names or document number"})
    sort = fields.String(load_default="-updated_at", validate=validate.OneOf([*SORTS, *(f"-{k}" for k in SORTS)]))


class CaseExportQuerySchema(CaseQuerySchema):
    """GET /cases's filters and sort, without pages: an export holds every case that matches."""

    class Meta:
        exclude = ("page", "per_page")


class OrgSchema(ma.Schema):
    path = fields.String(required=True, metadata={"example": "suzhou.gusu.shuangta"})
    name = fields.String(required=True)
    level = fields.String(required=True, metadata={"enum": list(ORG_LEVELS)})
    parent = fields.String(allow_none=True)
    created_at = fields.AwareDateTime(required=True)


class NewOrgSchema(Strict):
    path = Text(required=True, min_length=1, max_length=200)
    name = Text(required=True, min_length=1, max_length=200)
    level = fields.String(validate=validate.OneOf(ORG_LEVELS))


class UserSchema(ma.Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    org_unit = fields.String(required=True)
    active = fields.Boolean(required=True)
    created_at = fields.AwareDateTime(required=True)
    created_by = fields.String(required=True)


class UserWithTokenSchema(UserSchema):
    token = fields.String(required=True, metadata={"description": "the bearer token; shown only this once"})


def _user_role(**kwargs: Any) -> fields.String:
    """A role a user may hold; the refusal of `system` says whose role it is."""
    return fields.String(
        validate=validate.OneOf(
            USER_ROLES,
            error=(
                f"must be one of {{choices}} ({SCHEDULER_ROLE!r} is the scheduler's own role "
                "and cannot be given to a user)"
            ),
        ),
        **kwargs,
    )


class NewUserSchema(Strict):
    user_id = Text(required=True, min_length=1, max_length=120)
    name = Text(required=True, min_length=1, max_length=200)
    role = _user_role(required=True)
    org_unit = Text(required=True, min_length=1, max_length=200)


class UserUpdateSchema(Strict):
    """The fields to change; at least one."""

    name = Text(min_length=1, max_length=200)
    role = _user_role()
    org_unit = Text(min_length=1, max_length=200, metadata={"description": "move the user to this unit"})

    @ma.validates_schema
    def _at_least_one_field(self, data: dict[str, object], **kwargs: object) -> None:
        if not data:
            raise ma.ValidationError("give at least one of name, role, org_unit")


class ChangedValueSchema(ma.Schema):
    old = fields.Raw(required=True, allow_none=True, metadata={"description": "null when the account was created"})
    new = fields.Raw(required=True, allow_none=True)


class AccountChangeSchema(ma.Schema):
    seq = fields.Integer(required=True, metadata={"description": "the entry's place in the record"})
    user_id = fields.String(required=True, metadata={"description": "the account that changed"})
    change = fields.String(required=True, metadata={"enum": list(CHANGES)})
    detail = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ChangedValueSchema),
        required=True,
        metadata={
            "description": "each field that changed, with its old and new value "
            "(empty for token_issued: a token is never recorded)"
        },
    )
    actor_id = fields.String(
        required=True, metadata={"description": "who made the change (cli:<login> for the command line)"}
    )
    actor_role = fields.String(required=True)
    recorded_at = fields.AwareDateTime(required=True)


class AccountChangePageSchema(ma.Schema):
    items = fields.List(fields.Nested(AccountChangeSchema), required=True)
    next_cursor = fields.Integer(
        required=True,
        allow_none=True,
        metadata={"description": "pass as `cursor` for the next (older) page; null at the end"},
    )


class AccountChangeQuerySchema(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "the `next_cursor` of the previous page"},
    )


class AccountChangeListQuerySchema(AccountChangeQuerySchema):
    user_id = Text(min_length=1, max_length=120, metadata={"description": "only this user's account"})
