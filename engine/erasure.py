"""Erasing one person's data (PIPL art. 47) without rewriting a single stored event.

A person's data in events is sealed under their own key (engine/sealing.py). An erasure destroys that
key, in one transaction with an `erase_personal_data` event on every case that holds their data, which
records who erased it, when and why. Afterwards every read of those cases (the case, its history, a
past version, the dossier, the exports, a rebuilt read model) shows the person's fields as None and
`erased: true`; the stored bytes are untouched, so every hash chain and signed checkpoint still
verifies, and the statistics, which never held personal data, do not change. Only a supervisor at the
top of the org tree may erase, with a reason, and only once every case of the person is closed (an
open case still needs the data it is about).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.values import identifier
from engine.accounts import User
from engine.errors import ErasureRefused, NotFound
from engine.service import Actor, Casework
from engine.tables import person_data_keys, person_key_uses, person_reservations
from engine.unit_of_work import UnitOfWork


class NothingToErase(NotFound):
    """No personal data is sealed for the person named (none recorded, or erased before)."""

    code = "nothing_to_erase"


@dataclass(frozen=True)
class Erasure:
    """What an erasure did: the command it was recorded under and the cases whose history now records it."""

    command_id: str
    cases: list[str] = field(default_factory=list)
    replayed: bool = False


def may_erase(user: User) -> bool:
    """Only a supervisor at the top of the org tree, who sees every case a person may have."""
    return user.role == "supervisor" and "." not in user.org_unit


def erase_person(
    cw: Casework,
    user: User,
    *,
    reason: str,
    id_number: str | None = None,
    case: str | None = None,
    person: str | None = None,
    command_id: str | None = None,
) -> Erasure:
    """Destroy the key of one person's data and record the erasure on each of their cases, in one transaction.

    The person is named by their ID number (every case they are in), or, for a person recorded without
    one, by a case and their place in it (`person`: "applicants.1"). A repeated `command_id` returns the
    first erasure's result and erases nothing more."""
    if not may_erase(user):
        raise ErasureRefused("only a supervisor at the top of the org tree may erase a person's data")
    if not (reason and reason.strip()):
        raise ErasureRefused("an erasure needs a reason: it is recorded in the history of every case it touches")
    if (id_number is None) == (case is None):
        raise ErasureRefused("name the person either by their ID number or by a case and their place in it")
    if case is not None and not person:
        raise ErasureRefused(f"name the person's place in {case} (e.g. applicants.1)")
    case_id = cw.resolve(case) if case is not None else None

    def work(uow: UnitOfWork) -> Case:
        keys = _live_keys(cw, uow.session, id_number, case_id, person)
        places = _places(uow.session, keys)
        _destroy(uow, keys)
        cases = [uow.load(found, replay=True) for found in places]  # after the keys are gone: as all will now see them
        still_open = [c.number for c in cases if c.is_open]
        if still_open:
            raise ErasureRefused(
                f"the person's data is still needed by open cases: {', '.join(still_open)}; "
                "close them before erasing it"
            )
        for loaded in cases:
            loaded.erase_personal_data(uow.ctx, persons=places[loaded.id])
        return cases[0]

    result = cw.transact(
        Actor(id=user.user_id, role=user.role), "erase_personal_data", work, command_id=command_id, reason=reason
    )
    return Erasure(
        command_id=result.command_id,
        cases=[result.number, *(str(linked["number"]) for linked in result.linked)],
        replayed=result.replayed,
    )


def _live_keys(
    cw: Casework, session: Session, id_number: str | None, case_id: UUID | None, person: str | None
) -> list[str]:
    k = person_data_keys.c
    if id_number is not None:
        number = identifier(id_number)
        if not number:
            raise ErasureRefused("the ID number is empty")
        query = select(k.key_id).where(k.subject == cw.persons.key_for(number))
        missing = "no personal data is kept for this ID number (none was recorded, or it was erased before)"
    else:
        u = person_key_uses.c
        held = session.execute(select(u.person).where(u.case_id == case_id).distinct()).scalars().all()
        if person not in held:
            places = ", ".join(sorted(held)) or "nobody"
            raise NothingToErase(f"the case holds no personal data at {person!r}; it holds that of: {places}")
        query = (
            select(k.key_id).join(person_key_uses, u.key_id == k.key_id).where(u.case_id == case_id, u.person == person)
        )
        missing = f"the personal data at {person!r} was erased before"
    keys = list(session.execute(query.where(k.wrapped.is_not(None))).scalars())
    if not keys:
        raise NothingToErase(missing)
    return keys


def _places(session: Session, keys: list[str]) -> dict[UUID, list[str]]:
    """Every case holding data sealed under `keys`, oldest use first, with the person's places in it."""
    u = person_key_uses.c
    found: dict[UUID, list[str]] = {}
    for case_id, person in session.execute(
        select(u.case_id, u.person).where(u.key_id.in_(keys)).order_by(u.case_id, u.person)
    ):
        found.setdefault(case_id, []).append(person)
    return found


def _destroy(uow: UnitOfWork, keys: list[str]) -> None:
    """Forget the keys (the rows stay, marked erased, so an erased key is told from one removed) and the person's
    reservation of the one-open-case rule, which is keyed by the same keyed ID number."""
    k = person_data_keys.c
    subjects = [s for s in uow.session.execute(select(k.subject).where(k.key_id.in_(keys))).scalars() if s]
    if subjects:
        uow.session.execute(delete(person_reservations).where(person_reservations.c.person_key.in_(subjects)))
    uow.session.execute(
        update(person_data_keys)
        .where(k.key_id.in_(keys))
        .values(wrapped=None, subject=None, erased_at=uow.ctx.recorded_at, erasure=uow.ctx.command_id)
    )
