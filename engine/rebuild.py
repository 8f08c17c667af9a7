"""Rebuild the read models from the event log, case by case, in one transaction."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Table, delete, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from aggregates.base import Case, case_event
from engine.integrity import CheckedEventStore
from engine.projection import ProjectionBatch
from engine.service import Casework
from engine.tables import READ_MODEL_TABLES, case_index

PAGE = 1000
STATISTICS_FLUSH = 20_000
"""Daily counters held before they are written: bounds memory on a store of many units and days."""


@dataclass(frozen=True)
class RebuildReport:
    events: int
    cases: int
    last_notification_id: int


def rebuild(
    cw: Casework, *, page_size: int = PAGE, progress: Callable[[int, int], None] | None = None
) -> RebuildReport:
    """Replace every read-model row by replaying all events; readers see the old rows until it commits.

    Events are read a page at a time in case order, so each case is replayed from its own events alone (its hash
    chain checked from the first, its sealed personal data opened, as every read does) and its rows written once,
    with the person keys of a page's cases read in one query; memory holds a page of events and its cases however
    large the store grows. The daily counters are summed across pages and written when there are many, each
    (unit, day, metric) once rather than once per event.
    """
    total = cw.store.recorder.max_notification_id() or 0
    events = last = 0
    with cw.write_transaction() as session:
        for table in READ_MODEL_TABLES:
            session.execute(delete(table))
        counters = ProjectionBatch(tz=cw.settings.tz)
        for page, page_events, page_last in replayed_pages(cw, session, page_size, counters):
            page.write(session)
            events, last = events + page_events, max(last, page_last)
            if len(counters.stats) > STATISTICS_FLUSH:
                counters.write(session)
                counters.stats.clear()
            if progress:
                progress(events, max(total, events))
        counters.write(session)
        cw.persons.record_fingerprint(session)  # every reservation is now keyed with this installation's key
        cases = session.execute(select(func.count()).select_from(case_index)).scalar_one()
    return RebuildReport(events=events, cases=cases, last_notification_id=last)


def replayed_pages(
    cw: Casework, session: Session, page_size: int, counters: ProjectionBatch
) -> Iterator[tuple[ProjectionBatch, int, int]]:
    """Every case replayed from the log a page at a time: per page, a batch holding its cases and their person
    reservations (their statistics counted into `counters`), its number of events and its last notification id."""
    store = cw.store
    checked = store.events
    assert isinstance(checked, CheckedEventStore)  # engine/store.py builds it
    for cases_read in _pages(session, store.recorder.events_record_cls.__table__, page_size):
        page = ProjectionBatch(tz=cw.settings.tz, person_key=cw.persons.key_for)
        events = last = 0
        ids = [_as_uuid(stored[0][1].originator_id) for stored in cases_read]
        with store.personal.keys_read_ahead(session, ids):  # one query for the page's person keys
            for stored in cases_read:
                case = _replay(checked, stored, page, counters)
                page.cases[case.id] = case
                last = max(last, *(n for n, _ in stored))
                events += len(stored)
        yield page, events, last


Stored = list[tuple[int, StoredEvent]]
"""One case's stored events, oldest first, each with its notification id."""


def _pages(session: Session, events: Table, page_size: int) -> Iterator[list[Stored]]:
    """Every case's stored events, read in pages of `page_size` ordered by (case, version): each page's cases that
    it completes, a case cut by a page's end held over and completed from the next."""
    c = events.c
    # the case id as the driver gives it, made a UUID once per case rather than by the column type once per row
    columns = select(c.id, type_coerce(c.originator_id, NullType), c.originator_version, c.topic, c.state)
    held: Stored = []
    after: tuple[UUID, int] | None = None
    raw_id: object = None
    case_id = UUID(int=0)
    while True:
        query = columns if after is None else columns.where(tuple_(c.originator_id, c.originator_version) > after)
        rows = session.execute(query.order_by(c.originator_id, c.originator_version).limit(page_size)).all()
        complete: list[Stored] = []
        for notification_id, raw, version, topic, state in rows:
            if raw != raw_id:
                if held:
                    complete.append(held)
                    held = []
                raw_id, case_id = raw, _as_uuid(raw)
            state = bytes(state) if isinstance(state, memoryview) else state
            held.append((notification_id, StoredEvent(case_id, version, topic, state)))
        if len(rows) < page_size:
            if held:
                complete.append(held)
            if complete:
                yield complete
            return
        if complete:
            yield complete
        after = (case_id, rows[-1][2])


def _as_uuid(raw: object) -> UUID:
    """A case id as a driver returns it (a UUID from PostgreSQL, 16 bytes from SQLite) as a UUID."""
    if isinstance(raw, UUID):
        return raw
    if isinstance(raw, bytes | memoryview):
        return UUID(bytes=bytes(raw))
    return UUID(str(raw))


def _replay(
    checked: CheckedEventStore,
    stored: Sequence[tuple[int, StoredEvent]],
    page: ProjectionBatch,
    counters: ProjectionBatch,
) -> Case:
    """The case from its stored events, each checked against the hash chain from the first (engine/integrity.py),
    counting each event's statistics into `counters` and its person reservation into `page`."""
    case_id = stored[0][1].originator_id
    assert isinstance(case_id, UUID)
    case: Case | None = None
    reserved: dict[str, bool] = {}
    for domain_event in checked._checked(case_id, [s for _, s in stored], 0):
        event = case_event(domain_event)
        case = event.mutate(case)
        assert case is not None  # a case's events never discard it
        counters.count(case, event)
        change = page.person_change(case, event)
        if change is not None:
            key, reserve = change
            if reserve:
                reserved[key] = True
            else:
                reserved.pop(key, None)
    assert case is not None
    for key in reserved:
        page.reserve[key] = case
    return case
