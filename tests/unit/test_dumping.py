"""api.dumping: a schema's plan dumps exactly what marshmallow's `Schema.dump` dumps, keys in the same order, for
each kind of field and value a response schema meets, and leaves to marshmallow what it does not do itself."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import marshmallow as ma
import pytest
from marshmallow import fields

from api.dumping import LeanDump, plan


class Part(ma.Schema):
    no = fields.Integer(required=True)
    label = fields.String(allow_none=True)


class Whole(LeanDump):
    text = fields.String(required=True)
    number = fields.Integer(required=True)
    count_text = fields.Integer(as_string=True)
    flag = fields.Boolean(required=True)
    raw = fields.Raw()
    tags = fields.List(fields.String(), required=True)
    part = fields.Nested(Part, allow_none=True)
    parts = fields.List(fields.Nested(Part), required=True)
    many = fields.Nested(Part, many=True)
    amounts = fields.Dict(keys=fields.String(), values=fields.String())
    anything = fields.Dict()
    day = fields.Date()  # not done inline: the field's own _serialize
    renamed = fields.String(data_key="renamed-key")
    items = fields.List(fields.Integer())  # a name a dict has as a method too


class Hooked(LeanDump):
    text = fields.String()

    @ma.post_dump
    def shout(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: v.upper() for k, v in data.items()}


OBJECTS = [
    {
        "text": "甲公司",
        "number": "42",
        "count_text": 7,
        "flag": 1,
        "raw": {"x": [1, 2]},
        "tags": ["a", 2, None],
        "part": {"no": "3", "label": None, "ignored": True},
        "parts": [{"no": 1, "label": "一"}, {"no": 2}],
        "many": [{"no": 5, "label": b"bytes"}],
        "amounts": {"wages": Decimal("8600.00"), 3: 1.5},
        "anything": {"b": 1, "a": 2},
        "day": date(2026, 12, 1),
        "renamed": "r",
        "items": ["1", 2],
        "undeclared": "dropped",
    },
    {"text": None, "number": None, "tags": [], "parts": [], "part": None, "many": None, "amounts": None, "items": None},
    {"text": 5, "number": 5.9, "flag": "yes", "tags": None, "parts": [{"no": True}], "items": []},
    {"items": [0]},
]


@pytest.mark.parametrize("obj", OBJECTS)
def test_the_plan_dumps_what_marshmallow_dumps(obj: dict[str, Any]) -> None:
    schema = Whole()
    expected = ma.Schema.dump(schema, obj)
    assert json.dumps(schema.dump(obj), default=str) == json.dumps(expected, default=str)  # keys in order too
    assert json.dumps(schema.dump([obj, obj], many=True), default=str) == json.dumps([expected] * 2, default=str)


def test_the_plan_of_an_instance_follows_its_only_and_exclude() -> None:
    obj = OBJECTS[0]
    for schema in (Whole(only=("number", "text")), Whole(exclude=("parts", "raw"))):
        assert list(schema.dump(obj)) == list(ma.Schema.dump(schema, obj))


def test_a_schema_with_dump_hooks_is_dumped_by_marshmallow() -> None:
    assert Hooked().dump({"text": "abc"}) == {"text": "ABC"}
    assert plan(Hooked())({"text": "x"}) == {"text": "X"}


def test_a_value_the_field_cannot_take_fails_as_it_does_in_marshmallow() -> None:
    for obj, error in (({"number": "not a number", "items": []}, ValueError), ({}, TypeError)):  # {}: dict.items
        with pytest.raises(error):
            ma.Schema.dump(Whole(), obj)
        with pytest.raises(error):
            Whole().dump(obj)
