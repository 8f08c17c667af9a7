"""Hardship cases, engine side: one open case per person, across every union and unit (不误不漏).

An application is checked against the reservations of every open case before the case is opened, so the
refusal can name the case the person already has; the reservation written with the new case (a primary key
on the person's keyed ID number, engine/persons.py) settles two applications made at the same moment.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from aggregates.values import identifier
from engine.case_types import EngineSide
from engine.errors import DuplicatePerson
from engine.tables import case_index, person_reservations
from engine.unit_of_work import UnitOfWork


def refuse_a_second_open_case(uow: UnitOfWork, data: dict[str, Any]) -> None:
    """Refuse an application for a worker who already has an open hardship case, naming that case."""
    worker = data.get("worker")
    identity = identifier(worker.get("id_number")) if isinstance(worker, dict) else ""
    if not identity:
        return  # the aggregate refuses the application, naming the field
    uow.persons.check(uow.session)
    existing = uow.session.execute(
        select(case_index.c.number, case_index.c.org_unit)
        .join(person_reservations, person_reservations.c.case_id == case_index.c.case_id)
        .where(person_reservations.c.person_key == uow.persons.key_for(identity))
    ).one_or_none()
    if existing is not None:
        raise DuplicatePerson(existing.number, existing.org_unit)


ENGINE_SIDE = EngineSide(opening=refuse_a_second_open_case)
