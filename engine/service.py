"""The application service: every change to a case goes through `Casework.execute`.

One command is one database transaction holding the new events, the read-model rows,
the idempotency record and any uniqueness reservation. A repeated command id returns
the first result and appends nothing; a stale expected version is a conflict.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy.exc
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from eventsourcing.persistence import StoredEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from aggregates.base import Case, Context, case_event
from engine.case_cache import NOT_CACHED_AFTER, CaseCache, private_copy
from engine.case_types import prepare, prepare_opening
from engine.clock import BusinessClock, SystemClock
from engine.config import Settings
from engine.database import READS_ONLY, Rows, create_db_engine, write_intent, write_rows
from engine.errors import CaseIntegrityError, CaseNotFound, DuplicatePerson, NoSuchVersion, VersionConflict
from engine.integrity import check_head, indexed_head
from engine.lookup import IndexedCase, find_in, is_case_number
from engine.notifications import record_for_events
from engine.persons import PersonKeys
from engine.projection import ProjectionBatch
from engine.reactions import react
from engine.registry import case_type
from engine.store import CaseStore, replay
from engine.tables import broke, case_index, command_log, person_reservations
from engine.unit_of_work import UnitOfWork
from engine.writer_lock import writer_lock

CONFLICT_RETRIES = 3


@dataclass(frozen=True)
class Actor:
    id: str
    role: str
    flow_run_id: str | None = None


SYSTEM = Actor(id="system", role="system")


@dataclass(frozen=True)
class CommandResult:
    command_id: str
    action: str
    case_id: UUID
    number: str
    kind: str
    stage: str
    version: int
    linked: list[dict[str, Any]] = field(default_factory=list)
    """The other cases the command recorded events on (a case it only read is not one of them)."""
    fingerprint: str | None = None
    """What the caller sent under the command id (a digest), so that a repeat of the id with another request
    can be told from a retry; None for commands recorded without one."""
    replayed: bool = False
    case: Case | None = field(default=None, compare=False, repr=False)
    """The case as the command left it (not kept for a replayed command id)."""

    def to_json(self) -> str:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("replayed", "case")}
        data["case_id"] = str(self.case_id)
        return json.dumps(data, default=str)

    @classmethod
    def from_json(cls, text: str) -> CommandResult:
        data = json.loads(text)
        data["case_id"] = UUID(data["case_id"])
        return cls(**data, replayed=True)


READS_ONLY_OPTIONS: dict[str, dict[str, Any]] = {
    "postgresql": {"isolation_level": "AUTOCOMMIT"},
    "sqlite": {READS_ONLY: True},
}
"""How a read transaction of its own runs without BEGIN and ROLLBACK on each database."""

SNAPSHOT_OPTIONS: dict[str, dict[str, Any]] = {
    "postgresql": {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True},
    "sqlite": {},  # a deferred BEGIN: in WAL mode its reads see one snapshot, taken at the first
}
"""How a snapshot transaction sees the store as of one moment on each database."""


class Casework:
    """The engine: open cases, run commands, read cases. Thread-safe; one per process."""

    def __init__(self, settings: Settings | None = None, clock: BusinessClock | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.clock = clock or SystemClock()
        self.sql_engine = create_db_engine(self.settings)
        """The SQLAlchemy engine the event store and the read models share."""
        self.persons = PersonKeys(self.settings)
        self.store = CaseStore(self.sql_engine, self.settings, self.persons)
        self.writers = writer_lock(self.sql_engine)
        """On SQLite, the queue writers wait in (engine/writer_lock.py)."""
        self.cases = CaseCache()
        """Long cases as this process last read or committed them (engine/case_cache.py)."""
        self._reads_only = READS_ONLY_OPTIONS.get(self.sql_engine.dialect.name, {})

    def close(self) -> None:
        self.store.close()
        self.sql_engine.dispose()

    # -- transactions --------------------------------------------------------------

    @contextmanager
    def write_transaction(self) -> Iterator[Session]:
        with self.writers.held(), write_intent(), self.store.recorder.transaction(commit=True) as session:
            yield session

    @contextmanager
    def read_transaction(self) -> Iterator[Session]:
        """A transaction that writes nothing; one opened inside another joins it. One of its own begins nothing: its
        statements see what is committed when each runs, as they would in a READ COMMITTED transaction (PostgreSQL
        in autocommit, SQLite without BEGIN), without the statements BEGIN and ROLLBACK (on PostgreSQL two of a case
        read's four round trips). A case read is made for it: the index's head is read before the events, and events
        committed in between are more than the head, never fewer (`check_head`)."""
        transaction = self.store.recorder.transaction(commit=False)
        own = transaction.nested_level == 0
        with transaction as session:
            if own:
                session.connection(execution_options=self._reads_only)
            yield session

    @contextmanager
    def snapshot_transaction(self) -> Iterator[Session]:
        """A transaction that writes nothing and whose statements all see the store as it was at the first: for a
        check that compares what several statements read (the events and the rows derived from them) while commands
        go on. It cannot nest in another transaction."""
        transaction = self.store.recorder.transaction(commit=False)
        if transaction.nested_level:
            raise RuntimeError("a snapshot transaction cannot begin inside another transaction")
        with transaction as session:
            session.connection(execution_options=SNAPSHOT_OPTIONS.get(self.sql_engine.dialect.name, {}))
            yield session

    def context(
        self, actor: Actor, command_id: str, *, occurred_at: datetime | None = None, reason: str | None = None
    ) -> Context:
        return Context(
            actor_id=actor.id,
            actor_role=actor.role,
            command_id=command_id,
            recorded_at=self.clock.now(),
            occurred_at=occurred_at,
            reason=reason,
            policy=self.settings.policy,
            tz=self.settings.tz,
            flow_run_id=actor.flow_run_id,
        )

    # -- commands ------------------------------------------------------------------

    def open_case(
        self,
        kind: str,
        actor: Actor,
        *,
        command_id: str | None = None,
        org_unit: str,
        assignee: str | None = None,
        occurred_at: datetime | None = None,
        reason: str | None = None,
        fingerprint: str | None = None,
        **data: Any,
    ) -> CommandResult:
        """Open a case of `kind` with its creating action (file, issue_offer, issue, apply)."""
        cls = case_type(kind)

        def work(uow: UnitOfWork) -> Case:
            prepare_opening(uow, kind, data)
            return uow.open(kind, org_unit=org_unit, assignee=assignee, **data)

        return self.transact(
            actor,
            cls.TABLE.creating.name,
            work,
            command_id=command_id,
            occurred_at=occurred_at,
            reason=reason,
            fingerprint=fingerprint,
        )

    def execute(
        self,
        case_id: UUID,
        action: str,
        actor: Actor,
        *,
        command_id: str | None = None,
        expected_version: int | None = None,
        occurred_at: datetime | None = None,
        reason: str | None = None,
        fingerprint: str | None = None,
        **data: Any,
    ) -> CommandResult:
        """Run one command (an action of the case's stage table) on an existing case."""

        def work(uow: UnitOfWork) -> Case:
            case = uow.load(case_id)
            if expected_version is not None and case.version != expected_version:
                raise VersionConflict(case.label, expected_version, case.version)
            self.apply(uow, case, action, data)
            return case

        return self.transact(
            actor,
            action,
            work,
            command_id=command_id,
            occurred_at=occurred_at,
            reason=reason,
            retry_conflicts=expected_version is None,
            fingerprint=fingerprint,
        )

    def apply(self, uow: UnitOfWork, case: Case, action: str, data: dict[str, Any]) -> None:
        """Run one action on a loaded case inside `uow`, with what the case type's engine side prepares for it
        (engine/case_types/) and what follows from it on linked cases (engine/reactions.py)."""
        method = getattr(case, action, None) if action in case.TABLE.commands else None
        if method is None or case.TABLE.commands[action].creates:
            case.TABLE.check(case.label, case.stage, action, uow.ctx.actor_role)  # raises, naming what is allowed
            raise AssertionError(action)
        prepare(uow, case, action, data)
        method(uow.ctx, **data)
        react(uow, case, action)

    def transact(
        self,
        actor: Actor,
        action: str | None,
        work: Callable[[UnitOfWork], Case],
        *,
        command_id: str | None = None,
        occurred_at: datetime | None = None,
        reason: str | None = None,
        retry_conflicts: bool = True,
        fingerprint: str | None = None,
    ) -> CommandResult:
        """Run `work` in one transaction and save every case it touched; idempotent by command id.

        `action` None names the command after the last event `work` recorded on its main case (a sweep
        decides the step only once the case is loaded). `fingerprint` is kept with the result and comes back
        with a replay, for the caller to tell a retry from another request under the same command id."""
        command_id = command_id or str(uuid.uuid4())
        attempts = CONFLICT_RETRIES if retry_conflicts else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._transact_once(actor, action, work, command_id, occurred_at, reason, fingerprint)
            except Exception as error:
                # The command log's primary key refuses a repeated command id as the command's last write; a repeat
                # whose work cannot run again (the case has moved on) fails before it. Either way: the first result.
                first = self.command_result(command_id)
                if first is not None:
                    return first
                if not isinstance(error, (sqlalchemy.exc.IntegrityError, StoreIntegrityError)):
                    raise
                if broke(error, person_reservations.primary_key):  # a concurrent command reserved the person first
                    raise DuplicatePerson(None) from None
                if attempt == attempts:
                    raise VersionConflict(f"command {action}", None, None) from None
        raise AssertionError("unreachable")

    def _transact_once(
        self,
        actor: Actor,
        action: str | None,
        work: Callable[[UnitOfWork], Case],
        command_id: str,
        occurred_at: datetime | None,
        reason: str | None,
        fingerprint: str | None,
    ) -> CommandResult:
        with self.write_transaction() as session:
            ctx = self.context(actor, command_id, occurred_at=occurred_at, reason=reason)
            uow = UnitOfWork(session, ctx, self.load_for_command, self.persons, replay=self.replay_for_command)
            main = work(uow)
            batch = ProjectionBatch(
                tz=self.settings.tz, person_key=self.persons.key_for, clocks_before=uow.clocks_loaded
            )
            pending = [(case, [case_event(e) for e in case.collect_events()]) for case in uow.touched.values()]
            if action is None:
                action = next(type(events[-1]).ACTION for case, events in pending if case is main and events)
            stored = self.store.to_store(session, [e for _, events in pending for e in events])
            for case, events in pending:
                if events:  # stored with the person's data sealed: the hash is the stored event's
                    case.head_hash = events[-1].hash
            for case, events in pending:
                for event in events:
                    batch.add(case, event)
            batch.remove(session)
            record_for_events(session, self.settings.public_url, self.settings.tz, ctx.recorded_at, pending)
            result = CommandResult(
                command_id=command_id,
                action=action,
                case_id=main.id,
                number=main.number,
                kind=main.KIND,
                stage=main.stage,
                version=main.version,
                linked=[
                    {"case_id": str(c.id), "number": c.number, "kind": c.KIND, "stage": c.stage}
                    for c, events in pending
                    if c is not main and events
                ],  # read but unchanged: not linked
                fingerprint=fingerprint,
                case=main,
            )
            record = {
                "command_id": command_id,
                "case_id": main.id,
                "action": action,
                "result": result.to_json(),
                "recorded_at": ctx.recorded_at,
            }
            if any(events for _, events in pending):
                self.store.lock_events(session)
            # the events, the read models and the command's record: one statement on PostgreSQL
            write_rows(session, [*stored, *batch.rows(), Rows(command_log, [record])])
        self.cases.committed(pending)
        return result

    def command_result(self, command_id: str) -> CommandResult | None:
        with self.read_transaction() as session:
            text = session.execute(
                select(command_log.c.result).where(command_log.c.command_id == command_id)
            ).scalar_one_or_none()
        return CommandResult.from_json(text) if text is not None else None

    # -- queries ---------------------------------------------------------------------

    def get(self, ref: UUID | str, version: int | None = None) -> Case:
        """A case by id or number, at its current or a given version."""
        case_id = self.resolve(ref)
        if version is not None and version < 1:
            raise NoSuchVersion(str(ref), version, None)
        with self.read_transaction() as session:
            try:
                case = self.load_checked(session, case_id, version)
            except CaseNotFound:
                raise CaseNotFound(ref) from None
        if version is not None and case.version < version:
            raise NoSuchVersion(case.number, version, case.version)
        return case

    def load_checked(
        self, session: Session, case_id: UUID, version: int | None = None, *, lock: bool = False, cached: bool = True
    ) -> Case:
        """The case from its events, each checked against the hash chain as it is read, and the chain's end against
        the head the case index records; a broken case is a CaseIntegrityError. A case this process holds at the
        head the index records is not replayed: a short one's rows are compared with those it was checked against,
        a long one is taken as held (engine/case_cache.py). `lock`: for a command, which gets the row locked (see
        `indexed_head`) and a case of its own to change. `cached` False: replayed whatever the process holds."""
        rows = None
        if cached and version is None and self.cases.holds_short(case_id):  # its rows are read with the head
            head, rows = self.store.head_and_rows(session, case_id, lock=lock)
        else:
            head = indexed_head(session, case_id, lock=lock)
        if cached and version is None and head is not None:
            held = self.cases.get(case_id, head.version, head.head_hash)
            if held is not None and (
                not self.cases.needs_rows(held)
                or self.cases.confirm(
                    held, rows if rows is not None else self.store.stored_rows(session, case_id), self.store.mapper
                )
            ):
                return private_copy(held.case) if lock else held.case
            caught_up = self._caught_up(session, case_id, head, rows)
            if caught_up is not None:
                if not lock:
                    self.cases.put(caught_up)
                return caught_up
        try:
            case: Case | None = self.store.repository.get(case_id, version=version, projector_func=replay)
        except AggregateNotFoundError:
            case = None
        check_head(case_id, head, (case.version, case.head_hash) if case is not None else (0, None), version)
        if case is None:
            raise CaseNotFound(case_id)
        if version is None and not lock:
            self.cases.put(case)
        return case

    def _caught_up(self, session: Session, case_id: UUID, head: Any, rows: list[StoredEvent] | None) -> Case | None:
        """The case this process holds at an older version brought to the index's `head` by the events recorded since
        (by another process), each checked to chain on from the head it holds: where several processes serve a
        case, one that missed a command replays that command's events, not the whole case. A short case's held
        rows are compared first, as on every read of it (`rows`: all of its rows if read already). None when the
        process holds no older state, a row does not check (a full replay names the break), or an event since
        leaves a state in memory that is not a replay's (engine/case_cache.py NOT_CACHED_AFTER)."""
        held = self.cases.behind(case_id, head.version)
        if held is None:
            return None
        since = held.case.version
        if self.cases.needs_rows(held):
            rows = rows if rows is not None else self.store.stored_rows(session, case_id)
            if len(rows) != head.version or not self.cases.confirm(held, rows[:since], self.store.mapper):
                return None
            new = rows[since:]
        else:
            new = self.store.rows_after(session, case_id, since)
        try:
            events = [case_event(e) for e in self.store.events.following(case_id, new, since, held.case.head_hash)]
        except CaseIntegrityError:
            return None
        if len(events) != head.version - since or any(type(e).ACTION in NOT_CACHED_AFTER for e in events):
            return None
        case = replay(private_copy(held.case), events)
        if case is None or (case.version, case.head_hash) != (head.version, head.head_hash):
            return None
        return case

    def load_for_command(self, session: Session, case_id: UUID) -> Case:
        """The case a command acts on, locked on PostgreSQL: commands on one case are serialised, so a command
        without an expected version never loses a race (SQLite gets the same from BEGIN IMMEDIATE). A cached case
        (engine/case_cache.py) is copied: the command's changes reach the cache only once they are committed."""
        return self.load_checked(session, case_id, lock=True)

    def replay_for_command(self, session: Session, case_id: UUID) -> Case:
        """As `load_for_command`, from the case's events even if this process holds the case: as the command's own
        transaction has made them read (an erasure reads its cases after destroying the person's keys)."""
        return self.load_checked(session, case_id, lock=True, cached=False)

    def find(self, ref: UUID | str) -> IndexedCase | None:
        """The indexed case `ref` names (an id or a number) with its kind and org unit, in one query; or None."""
        with self.read_transaction() as session:
            return find_in(session, ref)

    def resolve(self, ref: UUID | str) -> UUID:
        if isinstance(ref, UUID):
            return ref
        try:
            return UUID(ref)
        except ValueError:
            pass
        if not is_case_number(ref):
            raise CaseNotFound(ref)  # not the shape of a number (e.g. a NUL byte, which PostgreSQL refuses)
        with self.read_transaction() as session:
            found: UUID | None = session.execute(
                select(case_index.c.case_id).where(case_index.c.number == ref)
            ).scalar()
        if found is None:
            raise CaseNotFound(ref)
        return found
