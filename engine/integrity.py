"""Checking what is read: every case's hash chain as its events are decoded, and its head against the case index.

Each stored event carries the hash of its own content and of its predecessor (aggregates/chain.py).
The hash covers the content as stored, before any upcasting, so the check sits where stored events
become domain events: `CaseMapper` decodes each event once, `CheckedEventStore` checks the decoded
content against the chain and only then builds the event from it. Every read of a case — a command
loading it, a view, a past version, its history — goes through that store, so a removed, reordered
or altered event is a `CaseIntegrityError` naming the case and the version, never a traceback from
deep inside the library and never a silently different case. The same per-event check serves the
whole-store verification (engine/audit.py). A case the process already holds at the head the case
index records is read through engine/case_cache.py instead: a short one's rows are compared with the
rows it was checked against, a long one (50 events or more) is not read again, and an event altered
under it is found by that verification.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    EventStore,
    Mapper,
    MapperDeserialisationError,
    Recording,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic
from eventsourcing_sqlalchemy.recorders import SQLAlchemyApplicationRecorder
from sqlalchemy import Row, bindparam, select
from sqlalchemy.orm import Session

from aggregates.chain import GENESIS, event_hash
from engine.database import write_rows
from engine.errors import CaseIntegrityError
from engine.sealing import PersonalData, PersonalDataUnreadable
from engine.tables import case_index

NOT_STATE = ("class_version", "originator_topic")
"""Stored keys the library adds that the hash does not cover."""


class CaseMapper(Mapper[UUID]):
    """The library's mapper, with decoding and building split so the content is decoded once for both, and each
    person's sealed data opened in between (engine/sealing.py)."""

    personal: PersonalData | None = None

    def decode(self, stored: StoredEvent) -> Any:
        """The stored content as written: decrypted, decompressed and parsed, not upcast."""
        data = stored.state
        if self.cipher:
            data = self.cipher.decrypt(data)
        if self.compressor:
            data = self.compressor.decompress(data)
        return self.transcoder.decode(data)

    def to_domain_event(self, stored: StoredEvent) -> DomainEventProtocol[UUID]:
        try:
            state = self.decode(stored)
        except Exception as e:
            raise MapperDeserialisationError(
                f"cannot read the stored event {stored.originator_id} v{stored.originator_version}: {e}"
            ) from e
        self.open(stored, state)
        return self.build(stored, state)

    def open(self, stored: StoredEvent, state: dict[str, Any]) -> None:
        """Put each sealed person's data back into the decoded content (or mark it erased)."""
        if self.personal is not None:
            self.personal.open(stored.originator_id, stored.originator_version, state)

    @staticmethod
    def build(stored: StoredEvent, state: dict[str, Any]) -> DomainEventProtocol[UUID]:
        """The domain event from its decoded content (which it takes over), upcast to its class's version, as
        Mapper.to_domain_event does."""
        cls = resolve_topic(stored.topic)
        # cast: as the library's own Mapper does (its lru_cache wants Hashable, which mypy denies a class)
        state["originator_id"] = find_id_convertor(cls, cast(Hashable, type(stored.originator_id)))(
            stored.originator_id
        )
        state["originator_version"] = stored.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        event: DomainEventProtocol[UUID] = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return event


Problem = tuple[int, str]
"""(the first version that is wrong, what is wrong with it)."""


def decode_link(
    mapper: CaseMapper, stored: StoredEvent, prev_version: int, prev_hash: str | None
) -> tuple[Any, Problem | None]:
    """The decoded content of `stored`, and what is wrong with it as the event after (`prev_version`, `prev_hash`)
    or None. `prev_hash` None: the predecessor was not read, so the link to it is not checked."""
    version = stored.originator_version
    if version != prev_version + 1:
        return None, (
            min(version, prev_version + 1),
            f"expected version {prev_version + 1}, found {version}: events are missing or out of order",
        )
    try:
        state = mapper.decode(stored)
    except Exception as e:
        return None, (version, f"stored content cannot be read ({type(e).__name__}): altered or corrupted")
    if not isinstance(state, dict) or not isinstance(state.get("hash"), str):
        return state, (version, "stored content is not a case event")
    if prev_hash is not None and state.get("prev_hash") != prev_hash:
        return state, (
            version,
            "does not commit to the previous event's hash: an event before it was altered or removed",
        )
    fields = {k: v for k, v in state.items() if k not in NOT_STATE}
    fields.update(originator_id=stored.originator_id, originator_version=version)
    if event_hash(stored.topic.split(":", 1)[-1], fields) != state["hash"]:
        return state, (version, "content does not match its hash: altered after it was recorded")
    return state, None


class CheckedEventStore(EventStore[UUID]):
    """An event store whose reads check each case's hash chain; `number_of` names a broken case by its number."""

    mapper: CaseMapper

    recorder: SQLAlchemyApplicationRecorder

    def __init__(
        self,
        mapper: CaseMapper,
        recorder: SQLAlchemyApplicationRecorder,
        number_of: Callable[[UUID], str | None],
        personal: PersonalData,
    ) -> None:
        super().__init__(mapper, recorder)
        self.number_of = number_of
        self.personal = personal

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> list[Recording[UUID]]:
        """Store `events` with each person's data sealed (engine/sealing.py), in the caller's transaction."""
        with self.recorder.transaction(commit=True) as session:
            sealed = self.personal.seal(session, domain_events)
            write_rows(session, sealed.rows)
            return super().put(sealed.events, **kwargs)

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        stored = self.recorder.select_events(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if not desc:
            return self._checked(originator_id, stored, gt or 0)
        # A descending read is checked oldest first; cut short by `limit`, its oldest event's predecessor is unknown.
        after = (gt or 0) if limit is None or len(stored) < limit else None
        return reversed(list(self._checked(originator_id, stored[::-1], after)))

    def following(
        self, case_id: UUID, stored: Sequence[StoredEvent], version: int, head_hash: str
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The events of `stored`, the case's rows after `version`, each checked to chain on from the event at
        `version`, whose hash is `head_hash` (a state of the case already checked)."""
        return self._checked(case_id, stored, version, head_hash)

    def _checked(
        self, case_id: UUID, stored: Sequence[StoredEvent], after: int | None, after_hash: str | None = None
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The events of `stored`, oldest first, each checked before it is built; `after` is the version the read
        starts after (None: unknown), `after_hash` that event's hash if known. Only a read from the first event, or
        on from a checked state, knows the hash the chain starts from."""
        if not stored:
            return
        prev_version = stored[0].originator_version - 1 if after is None else after
        prev_hash: str | None = GENESIS if after == 0 else after_hash
        for item in stored:
            state, problem = decode_link(self.mapper, item, prev_version, prev_hash)
            if problem:
                raise CaseIntegrityError(case_id, self.number_of(case_id), *problem)
            prev_version, prev_hash = item.originator_version, state["hash"]
            try:
                self.mapper.open(item, state)
            except PersonalDataUnreadable as e:
                raise CaseIntegrityError(case_id, self.number_of(case_id), item.originator_version, str(e)) from None
            yield self.mapper.build(item, state)


_HEAD = select(case_index.c.number, case_index.c.version, case_index.c.head_hash).where(
    case_index.c.case_id == bindparam("case_id")
)
_HEAD_FOR_UPDATE = _HEAD.with_for_update()
"""Built once: SQLAlchemy then finds their compiled form without building the statement and its cache key anew,
which cost more than running it on every read and command."""


def indexed_head(session: Session, case_id: UUID, *, lock: bool = False) -> Row[Any] | None:
    """The case's (number, version, head_hash) in the case index, read before its events (a command committed in
    between only adds to them); `lock` takes the row for update on PostgreSQL."""
    connection = session.connection()
    query = _HEAD_FOR_UPDATE if lock and connection.dialect.name == "postgresql" else _HEAD
    return connection.execute(query, {"case_id": case_id}).one_or_none()


def check_head(case_id: UUID, head: Row[Any] | None, loaded: tuple[int, str | None], upto: int | None = None) -> None:
    """Refuse a read whose checked events stop short of, or end elsewhere than, the head the case index records
    (written with every event): a removed last event leaves a chain that is intact but shorter. `loaded` is the
    (version, hash) the read ended at, (0, None) for no events; `upto` the version asked for; `head` None (a case
    the index does not know) checks nothing."""
    if head is None:
        return
    version, head_hash = loaded
    wanted = head.version if upto is None else min(upto, head.version)
    if version < wanted:
        ends = f"ends at version {version}" if version else "has no events"
        raise CaseIntegrityError(
            case_id,
            head.number,
            version + 1,
            f"the case index records version {head.version} but the event store {ends}: events were removed",
        )
    if version == head.version and head_hash != head.head_hash:
        raise CaseIntegrityError(
            case_id,
            head.number,
            version,
            "its hash is not the head hash the case index records: the event was replaced",
        )
