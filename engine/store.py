"""The eventsourcing Application: event store, cipher, transcodings and the shared session."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from functools import cached_property
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import InfrastructureFactory, JSONTranscoder, StoredEvent, Transcoding
from eventsourcing.utils import Environment
from eventsourcing_sqlalchemy.datastore import SQLAlchemyDatastore
from eventsourcing_sqlalchemy.factory import SQLAlchemyFactory
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Engine, Row, Select, TextClause, bindparam, select, text
from sqlalchemy.orm import Session, sessionmaker

from aggregates.base import Case, case_event
from engine.config import Settings
from engine.database import Rows
from engine.integrity import CaseMapper, CheckedEventStore, indexed_head
from engine.persons import PersonKeys
from engine.sealing import PersonalData
from engine.tables import case_index

CIPHER_TOPIC = "eventsourcing.cryptography:AESCipher"
"""eventsourcing's AES-GCM cipher on the `cryptography` package: the same stored format as its pycryptodome one
(`eventsourcing.cipher:AESCipher`, which earlier releases used, so their stores read unchanged) at about a thirtieth
of the cost per event (1.5 us against 48 us to decrypt 800 bytes)."""


class DateAsISO(Transcoding):
    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


def replay(case: Case | None, events: Iterable[DomainEventProtocol[UUID]]) -> Case | None:
    """The case from its events, as the library's `project_aggregate` makes it, without its per-event assertion that
    each event satisfies a runtime-checkable protocol: that check alone cost as much as decoding the event. The
    events are the checked store's (engine/integrity.py), every one a case event."""
    for event in events:
        case = case_event(event).mutate(case)
    return case


class CaseStore(Application[UUID]):
    """Stores every case's events in the `casework_events` table (created by Alembic); every read of them checks
    the case's hash chain (engine/integrity.py)."""

    name = "Casework"
    mapper: CaseMapper
    events: CheckedEventStore
    recorder: SQLAlchemyApplicationRecorder
    """Its sessions (`transaction`) are the ones the read models are written and read in."""

    def __init__(self, engine: Engine, settings: Settings, persons: PersonKeys) -> None:
        self._db_engine = engine
        self.personal = PersonalData(persons)
        """Seals each person's data in the events it stores and opens it in those it reads (engine/sealing.py)."""
        env: dict[str, Any] = {
            "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
            "CREATE_TABLE": "no",
        }
        if settings.cipher_key:
            env["CIPHER_TOPIC"] = CIPHER_TOPIC
            env["CIPHER_KEY"] = settings.cipher_key
        super().__init__(env=env)

    def construct_factory(self, env: Environment) -> InfrastructureFactory[Any]:
        # [Any]: the library declares TrackingRecorder, and the factory is invariant in it.
        factory = SQLAlchemyFactory(env)
        factory.datastore = SQLAlchemyDatastore(session_maker=sessionmaker(bind=self._db_engine))
        return factory

    def construct_recorder(self) -> SQLAlchemyApplicationRecorder:
        recorder = super().construct_recorder()
        assert isinstance(recorder, SQLAlchemyApplicationRecorder)  # made by the SQLAlchemyFactory above
        return recorder

    def construct_mapper(self) -> CaseMapper:
        mapper = self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=CaseMapper)
        assert isinstance(mapper, CaseMapper)
        return mapper

    def construct_event_store(self) -> CheckedEventStore:
        self.personal.bind(self.recorder.transaction)
        self.mapper.personal = self.personal
        return CheckedEventStore(self.mapper, self.recorder, self.case_number, self.personal)

    def case_number(self, case_id: UUID) -> str | None:
        """The number the case index knows `case_id` by, to name a case whose events cannot be trusted."""
        with self.recorder.transaction(commit=False) as session:
            number: str | None = session.execute(
                select(case_index.c.number).where(case_index.c.case_id == case_id)
            ).scalar()
            return number

    def stored_rows(self, session: Session, case_id: UUID) -> list[StoredEvent]:
        """The case's stored events as the recorder's `select_events` returns them, read with one Core query in
        `session` (the recorder builds an ORM object per row first, which costs more than the query)."""
        rows = session.connection().execute(self._rows_of_case, {"case_id": case_id})
        return [StoredEvent(case_id, version, topic, bytes(state)) for version, topic, state in rows]

    def rows_after(self, session: Session, case_id: UUID, version: int) -> list[StoredEvent]:
        """The case's stored events after `version`, oldest first, as `stored_rows` reads them."""
        rows = session.connection().execute(self._rows_after, {"case_id": case_id, "after": version})
        return [StoredEvent(case_id, v, topic, bytes(state)) for v, topic, state in rows]

    def head_and_rows(
        self, session: Session, case_id: UUID, *, lock: bool
    ) -> tuple[Row[Any] | None, list[StoredEvent] | None]:
        """On PostgreSQL, `indexed_head` (engine/integrity.py) and `stored_rows` in one statement: one round trip. A
        command's lock may have waited there for another command on the case, whose events the statement's snapshot
        then misses: rows that end before the head are read again. Elsewhere the head alone, and None for the rows
        (SQLite costs no round trip, and stores the two tables' case ids differently)."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            return indexed_head(session, case_id, lock=lock), None
        query = self._head_and_rows_for_update if lock else self._head_and_rows
        found = connection.execute(query, {"case_id": case_id}).all()
        if not found:
            return None, []
        head = found[0]
        rows = [
            StoredEvent(case_id, r.originator_version, r.topic, bytes(r.state)) for r in found if r.topic is not None
        ]
        if (rows[-1].originator_version if rows else 0) != head.version:
            rows = self.stored_rows(session, case_id)
        return head, rows

    @cached_property
    def _head_and_rows(self) -> Select[Any]:
        t, c = self.recorder.events_record_cls.__table__, case_index.c
        return (
            select(c.number, c.version, c.head_hash, t.c.originator_version, t.c.topic, t.c.state)
            .select_from(case_index.outerjoin(t, t.c.originator_id == c.case_id))
            .where(c.case_id == bindparam("case_id"))
            .order_by(t.c.originator_version)
        )

    @cached_property
    def _head_and_rows_for_update(self) -> Select[Any]:
        return self._head_and_rows.with_for_update(of=case_index)

    @cached_property
    def _rows_of_case(self) -> Select[tuple[int, str, bytes]]:
        """Built once, as `indexed_head`'s query is (engine/integrity.py)."""
        t = self.recorder.events_record_cls.__table__
        return (
            select(t.c.originator_version, t.c.topic, t.c.state)
            .where(t.c.originator_id == bindparam("case_id"))
            .order_by(t.c.originator_version)
        )

    @cached_property
    def _rows_after(self) -> Select[tuple[int, str, bytes]]:
        t = self.recorder.events_record_cls.__table__
        return self._rows_of_case.where(t.c.originator_version > bindparam("after"))

    def to_store(self, session: Session, events: Sequence[DomainEventProtocol[UUID]]) -> list[Rows]:
        """The rows that store `events`: each person's data sealed (engine/sealing.py; the events take the stored
        hashes) with the rows of the person keys that takes, and each event encoded, and enciphered with the cipher
        on, as the library's mapper does. For `write_rows`, with the rest of the command's rows, after
        `lock_events`."""
        sealed = self.personal.seal(session, events)
        stored = [self.mapper.to_stored_event(e) for e in sealed.events]
        rows = [
            {
                "originator_id": e.originator_id,
                "originator_version": e.originator_version,
                "topic": e.topic,
                "state": e.state,
            }
            for e in stored
        ]
        return [*sealed.rows, Rows(self.recorder.events_record_cls.__table__, rows)]

    def lock_events(self, session: Session) -> None:
        """On PostgreSQL, what the library's recorder does before it inserts events: lock the events table until
        commit, so that events become visible in the order of their notification ids and a reader of the log
        (checkpoints, the rebuild's count) never finds one committed behind a later one."""
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(self._lock_statement)

    @cached_property
    def _lock_statement(self) -> TextClause:
        return text(f"LOCK TABLE {self.recorder.events_table_name} IN EXCLUSIVE MODE")

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())
