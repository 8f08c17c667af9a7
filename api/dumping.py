"""Response schemas dumped by a plan made once per schema instead of marshmallow's walk on every response.

marshmallow's `Schema.dump` looks each field up, calls it through a few layers and, for a schema chosen per
object (a case of any type), builds the nested schemas anew with deep copies of their fields: on a case view
that was as much time as reading the case. `LeanDump.dump` gives the same result from a function made once per
schema instance from its fields: each field's value is taken as marshmallow takes it (a missing key is left
out), and converted as that field's `_serialize` converts it, with the common field types done inline and any
other field through its own `_serialize`. A schema with dump hooks is dumped by marshmallow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.utils import missing

Convert = Callable[[Any], Any]
Plan = Callable[[Any], Any]


def _value(obj: Any, key: str) -> Any:
    """The value marshmallow's default accessor (`utils.get_value`) takes for a key without dots."""
    if not hasattr(obj, "__getitem__"):
        return getattr(obj, key, missing)
    try:
        return obj[key]
    except (KeyError, IndexError, TypeError, AttributeError):
        return getattr(obj, key, missing)


def _text(value: Any) -> Any:
    if value is None or type(value) is str:
        return value
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _same(value: Any) -> Any:
    return value


def _none_or(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _converter(field: fields.Field) -> Convert:
    """What `field._serialize` does to a value, for a value that is present."""
    serialize = type(field)._serialize
    if serialize is fields.String._serialize:
        return _text
    if serialize is fields.Field._serialize:
        return _same
    if isinstance(field, fields.Number) and serialize is fields.Number._serialize:
        number = field.num_type
        if type(field)._format_num is fields.Number._format_num:
            as_text = field._to_string
            return _none_or(lambda value: as_text(number(value))) if field.as_string else _none_or(number)
    if isinstance(field, fields.List) and serialize is fields.List._serialize:
        inner = _converter(field.inner)
        return _none_or(lambda value: [inner(each) for each in value])
    if isinstance(field, fields.Nested) and serialize is fields.Nested._serialize:
        nested = field.schema
        one = plan(nested)
        if nested.many or field.many:
            return _none_or(lambda value: [one(each) for each in value])
        return _none_or(one)
    if isinstance(field, fields.Mapping) and serialize is fields.Mapping._serialize:
        keys, values, mapping = field.key_field, field.value_field, field.mapping_type
        if keys is None and values is None:
            return _none_or(mapping)
        if keys is not None and values is not None:
            key, item = _converter(keys), _converter(values)
            return _none_or(lambda value: mapping((key(k), item(v)) for k, v in value.items()))
    return lambda value: field._serialize(value, None, None)


def plan(schema: ma.Schema) -> Plan:
    """A function that dumps one object as `schema.dump` would."""
    if any(schema._hooks.values()) or any(  # type: ignore[attr-defined]
        field.attribute is not None or "." in name or field.dump_default is not missing
        for name, field in schema.dump_fields.items()
    ):
        return lambda obj: ma.Schema.dump(schema, obj, many=False)
    steps = [
        (name, field.data_key if field.data_key is not None else name, _converter(field))
        for name, field in schema.dump_fields.items()
    ]
    dict_class = schema.dict_class

    def dump(obj: Any) -> Any:
        out = dict_class()
        for name, key, convert in steps:
            value = _value(obj, name)
            if value is not missing:
                out[key] = convert(value)
        return out

    return dump


class LeanDump(ma.Schema):
    """A schema whose `dump` runs its plan (made at the first dump of each instance)."""

    _plan: Plan | None = None

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        one = self._plan
        if one is None:
            one = self._plan = plan(self)
        if self.many if many is None else many:
            return [one(each) for each in obj]
        return one(obj)
