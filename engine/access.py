"""Who may do what beyond the stage tables: reading, auditing, reports, accounts, personal data.

Which role may run which *command* is the case types' stage tables (`aggregates/`); this is the
rest of the permission table, and the masking of personal data for roles that may not see it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from aggregates.stages import ROLES

WORKING = frozenset({"mediator", "negotiator", "inspector", "caseworker", "supervisor"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "read_cases": frozenset(ROLES),
    "read_history": frozenset({*WORKING, "auditor", "system"}),
    "verify_chains": frozenset({"supervisor", "auditor"}),
    "export_dossier": frozenset({"supervisor", "auditor"}),
    "oversee_cases": frozenset({"supervisor", "auditor"}),  # the lists of pending escalations and alerts
    "read_reports": frozenset({*WORKING, "auditor", "admin", "system"}),
    "see_personal_data": frozenset({"mediator", "caseworker", "supervisor"}),
    "manage_accounts": frozenset({"admin"}),
    "read_account_changes": frozenset({"admin", "auditor"}),
    "start_campaigns": frozenset({"negotiator", "supervisor"}),
    "read_checkpoints": frozenset({"supervisor", "auditor"}),  # the store's signed checkpoints and their verification
    "make_checkpoints": frozenset({"supervisor", "admin"}),  # a supervisor only at the top of the org tree
    "erase_personal_data": frozenset({"supervisor"}),  # only at the top of the org tree (engine/erasure.py)
}
"""Capability -> the roles that have it. Auditors read and verify but run no command."""


def may(role: str, capability: str) -> bool:
    return role in PERMISSIONS[capability]


def roles_with(capability: str) -> list[str]:
    return sorted(PERMISSIONS[capability])


def mask_text(key: str, value: str) -> str:
    """Keep just enough to tell records apart: 王建国 -> 王**, phones and ID numbers keep their ends."""
    if not value:
        return value
    if key == "id_number":
        return value[:4] + "*" * max(len(value) - 8, 2) + value[-4:] if len(value) > 8 else "*" * len(value)
    if key == "phone":
        return value[:3] + "****" + value[-4:] if len(value) > 7 else "*" * len(value)
    if key == "address":
        return value[:3] + "***"
    return value[:1] + "*" * max(len(value) - 1, 1)


def mask(data: Any, paths: Iterable[str]) -> Any:
    """A copy of `data` with the personal data at `paths` masked ("a.*.b": every item of list a)."""
    masked = copy.deepcopy(data)
    for path in paths:
        _mask_at(masked, path.split("."))
    return masked


def _mask_at(node: Any, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head == "*":
        if isinstance(node, list):
            for item in node:
                _mask_at(item, rest)
        return
    if not isinstance(node, dict) or head not in node:
        return
    if rest:
        _mask_at(node[head], rest)
    elif isinstance(node[head], str):
        node[head] = mask_text(head, node[head])


def masked_for(role: str, data: Mapping[str, Any], paths: Iterable[str]) -> Any:
    """`data` as `role` may see it."""
    return data if may(role, "see_personal_data") else mask(data, paths)
