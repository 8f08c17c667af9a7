"""Cases and their history as plain JSON-ready data, masked for the role that reads them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from uuid import UUID

from aggregates.base import Case, Now
from aggregates.policy import DEFAULT_POLICY, DeadlinePolicy
from engine.access import masked_for

# Attributes every case has; they are top-level fields of a case view, not its details.
_COMMON = frozenset(
    {
        "number",
        "org_unit",
        "assignee",
        "opened_at",
        "opened_by",
        "clocks",
        "links",
        "notes",
        "stage",
        "updated_at",
        "head_hash",
    }
)


_AS_IS = frozenset({str, int, float, bool, type(None)})
"""Types `jsonable` returns unchanged, told by their exact type before any (slower) isinstance of an abstract class:
most of a case view is these."""


def jsonable(value: Any, tz: tzinfo | None = None) -> Any:
    """Dates and times as ISO-8601 (times in `tz` when given), money as decimal strings, ids as text;
    tuple keys joined by '/'."""
    if type(value) in _AS_IS:
        return value
    if isinstance(value, Mapping):
        return {("/".join(map(str, k)) if isinstance(k, tuple) else str(k)): jsonable(v, tz) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, tz) for v in value]
    if isinstance(value, datetime):
        return (value.astimezone(tz) if tz and value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    return value


NOTES_IN_VIEW = 20
"""The most recent notes a case view holds. A case's notes only grow (a hardship case is followed for years) and every
command answers with the case's view, so the view holds the latest few and how many there are; `notes_page` pages
through them all."""


def details(case: Case) -> dict[str, Any]:
    """The case type's own state: parties, claims, proposals, items, disbursements and so on."""
    return {k: v for k, v in vars(case).items() if not k.startswith("_") and k not in _COMMON}


def case_view(
    case: Case,
    role: str | None = None,
    today: date | None = None,
    tz: tzinfo | None = None,
    *,
    actor_id: str | None = None,
    policy: DeadlinePolicy = DEFAULT_POLICY,
    latest_notes: int | None = NOTES_IN_VIEW,
) -> dict[str, Any]:
    """A case as a caseworker sees it: state, clocks, links, its latest notes and the actions `role` may take now.

    `role` None shows everything (the operator's command line); `today` marks overdue clocks and is the
    moment the allowed actions are judged at, for user `actor_id` under `policy` (exactly the actions the
    engine would accept from them now); times are given in `tz`. `notes` holds the last `latest_notes` notes,
    oldest first (None: every note), and `notes_total` how many the case has.
    """
    now = Now(today, actor_id, policy) if today else None
    summary = case.summary()
    data = {
        "case_id": case.id,
        "kind": case.KIND,
        "number": case.number,
        "stage": case.stage,
        "stage_label": case.TABLE.stages[case.stage],
        "is_open": case.is_open,
        "org_unit": case.org_unit,
        "assignee": case.assignee,
        "parties": summary["parties"],
        "flags": case.all_flags(),
        "opened_at": case.opened_at,
        "opened_by": case.opened_by,
        "updated_at": case.updated_at,
        "version": case.version,
        "head_hash": case.head_hash,
        "allowed_actions": case.allowed_actions(role, now),
        "clocks": [
            {
                "name": c.name,
                **c.to_data(),
                "working_days": c.working_days,
                "calendar": c.calendar,
                "overdue": bool(today and c.is_overdue(today)),
            }
            for c in case.clocks.values()
        ],
        "links": list(case.links),
        "notes": list(case.notes if latest_notes is None else case.notes[max(0, len(case.notes) - latest_notes) :]),
        "notes_total": len(case.notes),
        "details": details(case),
    }
    data["details"] = masked_for(role, data["details"], case.PERSONAL_DATA) if role else data["details"]
    view: dict[str, Any] = jsonable(data, tz)
    return view


def notes_page(case: Case, page: int, per_page: int, tz: tzinfo | None = None) -> tuple[list[dict[str, Any]], int]:
    """Page `page` (from 1) of the case's notes, oldest first, `per_page` to a page; and how many notes it has."""
    start = (page - 1) * per_page
    return jsonable(case.notes[start : start + per_page], tz), len(case.notes)


def event_data_for(role: str | None, case_cls: type[Case], data: Mapping[str, Any], tz: tzinfo | None = None) -> Any:
    """An event's data as `role` may see it."""
    return jsonable(masked_for(role, data, case_cls.PERSONAL_DATA) if role else data, tz)


def aware(moment: datetime, tz: tzinfo) -> datetime:
    """A stored time in `tz` (SQLite returns UTC times without their offset)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz)
