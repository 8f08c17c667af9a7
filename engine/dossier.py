"""A case's dossier: its state now and its full history in one CSV file, masked for the role that exports it.

One implementation for every door: the API's `/cases/{ref}/dossier.csv` and the workspace's download both call
`dossier_csv`, so the file a supervisor gets is the same whichever way they ask for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID

from engine.audit import history
from engine.service import Casework
from engine.spreadsheet import csv_bytes
from engine.views import case_view, event_data_for, jsonable

COLUMNS = (
    "version",
    "event",
    "action",
    "occurred_at",
    "recorded_at",
    "actor_id",
    "actor_role",
    "reason",
    "command_id",
    "flow_run_id",
    "stage",
    "data",
    "clocks_opened",
    "clocks_closed",
    "prev_hash",
    "hash",
)
"""One column per field of a history entry, in this order."""


@dataclass(frozen=True)
class Dossier:
    number: str
    content: bytes
    """The CSV file: UTF-8 with a byte-order mark, no cell a spreadsheet would run as a formula."""

    @property
    def filename(self) -> str:
        return f"{self.number}-dossier.csv"


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def dossier_csv(cw: Casework, case_id: UUID, *, role: str, actor_id: str, today: date) -> Dossier:
    """The case's dossier as `role` (user `actor_id`) may read it on `today`: a line naming the case, its stage,
    version and head hash; a line with its state as JSON; then the column names and one row per event, oldest
    first. Who may export it (engine/access.py `export_dossier`) and whether the case is in their unit is the
    caller's to check."""
    tz = cw.settings.tz
    case = cw.get(case_id)
    state = case_view(case, role, today, tz, actor_id=actor_id, policy=cw.settings.policy)
    cls = type(case)
    entries = [{**jsonable(vars(e), tz), "data": event_data_for(role, cls, e.data, tz)} for e in history(cw, case_id)]
    content = csv_bytes(
        [
            [
                "# case",
                state["number"],
                state["kind"],
                state["stage"],
                f"version {state['version']}",
                f"head {state['head_hash']}",
            ],
            [
                "# state",
                json.dumps(
                    {k: state[k] for k in ("org_unit", "assignee", "clocks", "links", "details")}, ensure_ascii=False
                ),
            ],
            list(COLUMNS),
            *([_cell(e[c]) for c in COLUMNS] for e in entries),
        ]
    )
    return Dossier(state["number"], content)
