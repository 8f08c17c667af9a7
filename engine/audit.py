"""Audit: a case's full history, its state at any past version or moment, chain verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregates.base import ERASURE_EVENT, Case, case_event
from aggregates.chain import GENESIS
from engine.database import in_unit
from engine.errors import CaseNotFound
from engine.integrity import check_head, decode_link, indexed_head
from engine.sealing import SEALED, sealed_places
from engine.service import Casework
from engine.tables import case_index, person_data_keys

PAGE = 1000


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    event: str
    action: str
    occurred_at: datetime
    recorded_at: datetime
    actor_id: str
    actor_role: str
    reason: str | None
    command_id: str
    flow_run_id: str | None
    stage: str
    data: dict[str, Any]
    clocks_opened: dict[str, Any]
    clocks_closed: list[str]
    prev_hash: str
    hash: str


def checked_events(cw: Casework, ref: UUID | str, lte: int | None = None) -> list[Case.Event]:
    """A case's events up to version `lte`, oldest first, each checked against the hash chain as it is read and
    the last against the head the case index records (a broken case is a CaseIntegrityError)."""
    case_id = cw.resolve(ref)
    with cw.read_transaction() as session:
        head = indexed_head(session, case_id)
        events = [case_event(e) for e in cw.store.events.get(case_id, lte=lte)]
    check_head(case_id, head, (events[-1].originator_version, events[-1].hash) if events else (0, None), lte)
    if not events:
        raise CaseNotFound(ref)
    return events


def history(cw: Casework, ref: UUID | str) -> list[HistoryEntry]:
    """Every event of a case, oldest first, with who, when, why and its hash."""
    return [
        HistoryEntry(
            version=e.originator_version,
            event=type(e).__name__,
            action=type(e).ACTION,
            occurred_at=e.occurred_at,
            recorded_at=e.timestamp,
            actor_id=e.actor_id,
            actor_role=e.actor_role,
            reason=e.reason,
            command_id=e.command_id,
            flow_run_id=e.flow_run_id,
            stage=e.stage,
            data=e.data,
            clocks_opened=e.clocks_opened,
            clocks_closed=e.clocks_closed,
            prev_hash=e.prev_hash,
            hash=e.hash,
        )
        for e in checked_events(cw, ref)
    ]


def as_of(cw: Casework, ref: UUID | str, *, version: int | None = None, at: datetime | None = None) -> Case:
    """The case as it stood at `version`, or as it was on record at time `at` (recorded time)."""
    case_id = cw.resolve(ref)
    if at is None:
        return cw.get(case_id, version=version)
    if at.tzinfo is None:
        raise ValueError("'at' must carry a time-zone offset")
    case: Case | None = None
    for event in checked_events(cw, case_id, lte=version):
        if event.timestamp > at:
            break
        case = event.mutate(case)
    if case is None:
        raise CaseNotFound(f"{ref} (it did not exist at {at.isoformat()})")
    return case


@dataclass(frozen=True)
class Break:
    case_id: UUID
    version: int
    notification_id: int | None
    problem: str
    number: str | None = None
    """The case's number, where the case index knows it."""

    def __str__(self) -> str:
        where = f" (notification {self.notification_id})" if self.notification_id else ""
        case = f"{self.number} (id {self.case_id})" if self.number else str(self.case_id)
        return f"case {case} event v{self.version}{where}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    cases: int
    events: int
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


class ChainChecker:
    """Recomputes each stored event's hash from its stored content, before any upcasting, across many cases."""

    def __init__(self, cw: Casework) -> None:
        self.mapper = cw.store.mapper
        self.heads: dict[UUID, tuple[int, str]] = {}
        self.sealed: dict[tuple[UUID, str], tuple[str, int]] = {}
        """(case, person) -> (the key their data is sealed under, the version that sealed it)."""
        self.erased: set[tuple[UUID, str]] = set()
        """(case, person) whose erasure the case's history records."""

    def check(self, stored: StoredEvent, notification_id: int | None = None) -> Break | None:
        case_id = stored.originator_id
        assert isinstance(case_id, UUID)  # the store's ids are UUIDs (CaseStore is an Application[UUID])
        state, problem = decode_link(self.mapper, stored, *self.heads.get(case_id, (0, GENESIS)))
        if problem:
            return Break(case_id, problem[0], notification_id, problem[1])
        self.heads[case_id] = (stored.originator_version, state["hash"])
        data = state.get("data")
        if isinstance(data, dict):
            for place in sealed_places(data):
                self.sealed[(case_id, place.person)] = (
                    str(place.mapping[SEALED].get("key")),
                    stored.originator_version,
                )
            if stored.topic.endswith(f".{ERASURE_EVENT}"):
                self.erased.update((case_id, str(person)) for person in data.get("persons", ()))
        return None

    def check_keys(self, session: Session) -> Break | None:
        """Every sealed person's key is there, or was destroyed by an erasure the case's history records: a key
        removed, or destroyed behind Casework's back, is named with the event whose data it sealed."""
        k = person_data_keys.c
        wanted = sorted({key for key, _ in self.sealed.values()})
        live: dict[str, bool] = {}
        for i in range(0, len(wanted), PAGE):
            chunk = wanted[i : i + PAGE]
            rows = session.execute(select(k.key_id, k.wrapped.is_not(None)).where(k.key_id.in_(chunk)))
            live.update((key_id, bool(alive)) for key_id, alive in rows)
        for (case_id, person), (key, version) in self.sealed.items():
            if key not in live:
                return Break(case_id, version, None, f"the key of the personal data at {person} was removed")
            if not live[key] and (case_id, person) not in self.erased:
                return Break(
                    case_id,
                    version,
                    None,
                    f"the personal data at {person} reads as erased, but no erasure is recorded in the case's history: "
                    "its key was destroyed outside Casework",
                )
        return None


def verify_case(cw: Casework, ref: UUID | str) -> Verification:
    """One case's chain, and its end against the case index: a case the index lists with no events is broken."""
    case_id = cw.resolve(ref)
    checker = ChainChecker(cw)
    stored = cw.store.recorder.select_events(case_id)
    for item in stored:
        problem = checker.check(item)
        if problem:
            return Verification(1, item.originator_version, _named(cw, problem))
    problem, newer = _check_heads(cw, checker, [case_id])
    problem = problem or _check_keys(cw, checker)
    if not stored and not newer and problem is None:
        raise CaseNotFound(ref)
    return Verification(1, len(stored) + newer, problem)


def verify_store(cw: Casework, progress: Callable[[int], None] | None = None) -> Verification:
    """Every event of every case, in recording order; stops at the first break."""
    checker = ChainChecker(cw)
    count = 0
    for notification in _notifications(cw):
        problem = checker.check(notification, notification.id)
        count += 1
        if problem:
            return Verification(len(checker.heads), count, _named(cw, problem))
        if progress and count % PAGE == 0:
            progress(count)
    problem, newer = _check_heads(cw, checker, None)
    problem = problem or _check_keys(cw, checker)
    return Verification(len(checker.heads), count + newer, problem)


def verify_unit(cw: Casework, org_unit: str | None) -> Verification:
    """Every case of `org_unit` and the units below it, case by case; None = the whole store, in
    recording order, which also finds events of cases the index does not know."""
    if org_unit is None:
        return verify_store(cw)
    cases = events = 0
    last: UUID | None = None
    while True:
        with cw.read_transaction() as session:
            query = select(case_index.c.case_id).where(in_unit(case_index.c.org_unit, org_unit))
            if last is not None:
                query = query.where(case_index.c.case_id > last)
            page = list(session.execute(query.order_by(case_index.c.case_id).limit(PAGE)).scalars())
        if not page:
            return Verification(cases, events, None)
        for case_id in page:
            result = verify_case(cw, case_id)
            cases, events = cases + 1, events + result.events
            if not result.ok:
                return Verification(cases, events, result.first_break)
        last = page[-1]


def _notifications(cw: Casework) -> Iterator[Any]:
    start = 1
    while True:
        page = cw.store.recorder.select_notifications(start=start, limit=PAGE)
        if not page:
            return
        yield from page
        start = page[-1].id + 1


CATCH_UPS = 3
"""How often one case's newer events are read while commands keep landing on it during its verification."""


def _check_heads(cw: Casework, checker: ChainChecker, case_ids: list[UUID] | None) -> tuple[Break | None, int]:
    """The case index keeps each case's last hash: a removed last event shows here. The events were read first, so
    a case the index shows further on may have moved on since (a command committed during the verification): its
    newer events are read and checked too, up to the head the index then records. Returns the first break and how
    many newer events were checked."""
    with cw.read_transaction() as session:
        query = select(case_index.c.case_id, case_index.c.number, case_index.c.version, case_index.c.head_hash)
        if case_ids is not None:
            query = query.where(case_index.c.case_id.in_(case_ids))
        heads = session.execute(query).all()
    newer = 0
    for case_id, number, version, head_hash in heads:
        for _ in range(CATCH_UPS):
            checked = checker.heads.get(case_id, (0, None))[0]
            following = cw.store.recorder.select_events(case_id, gt=checked) if version > checked else []
            if not following:  # as far as the events go (what is missing is named below)
                break
            for stored in following:
                newer += 1
                problem = checker.check(stored)
                if problem:
                    return _named(cw, problem), newer
            with cw.read_transaction() as session:
                head = indexed_head(session, case_id)
            if head is not None:
                version, head_hash = head.version, head.head_hash
        seen = checker.heads.get(case_id)
        if seen is None:
            return Break(
                case_id,
                1,
                None,
                f"the case index records version {version} but the event store has no events: they were removed",
                number,
            ), newer
        if seen != (version, head_hash):
            return Break(
                case_id,
                seen[0],
                None,
                f"the case index records version {version} with another head hash: events were removed or replaced",
                number,
            ), newer
    return None, newer


def _check_keys(cw: Casework, checker: ChainChecker) -> Break | None:
    with cw.read_transaction() as session:
        problem = checker.check_keys(session)
    return _named(cw, problem) if problem else None


def _named(cw: Casework, problem: Break) -> Break:
    """The break with its case's number, where the case index knows it."""
    return problem if problem.number else replace(problem, number=cw.store.case_number(problem.case_id))
