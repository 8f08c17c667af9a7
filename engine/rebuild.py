"""Rebuild the read models from the event log, streaming, in one transaction."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import delete, func, select

from aggregates.base import Case, case_event
from engine.projection import ProjectionBatch
from engine.service import Casework
from engine.tables import READ_MODEL_TABLES, case_index, projection_tracking

PAGE = 1000
CACHE_SIZE = 2000


@dataclass(frozen=True)
class RebuildReport:
    events: int
    cases: int
    last_notification_id: int


def rebuild(
    cw: Casework, *, page_size: int = PAGE, progress: Callable[[int, int], None] | None = None
) -> RebuildReport:
    """Replace every read-model row by replaying all events; readers see the old rows until it commits.

    Memory stays flat: events are read a page at a time and only a bounded cache of recently
    touched cases is kept; a case evicted from it is reloaded from the store when needed.
    """
    store = cw.store
    total = store.recorder.max_notification_id() or 0
    cache: OrderedDict[UUID, Case] = OrderedDict()
    events = 0
    last = 0
    with cw.write_transaction() as session:
        for table in (*READ_MODEL_TABLES, projection_tracking):
            session.execute(delete(table))
        start = 1
        while True:
            page = store.recorder.select_notifications(start=start, limit=page_size)
            if not page:
                break
            batch = ProjectionBatch(tz=cw.settings.tz, person_key=cw.persons.key_for)
            for notification in page:
                event = case_event(store.mapper.to_domain_event(notification))
                case = cache.pop(event.originator_id, None)
                if case is None and event.originator_version > 1:
                    case = store.repository.get(event.originator_id, version=event.originator_version - 1)
                case = event.mutate(case)
                assert case is not None  # a case's events never discard it
                cache[case.id] = case
                if len(cache) > CACHE_SIZE:
                    cache.popitem(last=False)
                batch.add(case, event)
            last = page[-1].id
            batch.last_notification_id = last
            batch.write(session)
            events += len(page)
            if progress:
                progress(events, total)
            start = last + 1
        cw.persons.record_fingerprint(session)  # every reservation is now keyed with this installation's key
        cases = session.execute(select(func.count()).select_from(case_index)).scalar_one()
    return RebuildReport(events=events, cases=cases, last_notification_id=last)
