"""Per-case hash chain: each event commits to its predecessor's hash.

The hash covers the event's type, case id, version, recorded time and every field but
the hash itself, in a canonical JSON form that survives a round trip through the store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

GENESIS = "0" * 64


_AS_IS = frozenset({str, int, float, bool, type(None)})
"""Types whose values are their own canonical form: checked first, by exact type, as most values are of them."""


def _canonical(value: Any) -> Any:
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, UUID):
        return {"$uuid": value.hex}
    return value


def event_hash(event_type: str, fields: Mapping[str, Any]) -> str:
    """Hash of one event; `fields` must include originator id/version, timestamp and prev_hash."""
    body = {"type": event_type, **{k: v for k, v in fields.items() if k != "hash"}}
    encoded = json.dumps(_canonical(body), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
