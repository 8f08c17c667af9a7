"""Personal data in events, sealed with a key per person, so that erasing a person never rewrites history.

A case type declares where its personal data lies (`Case.PERSONAL_DATA`: "worker.name",
"applicants.*.id_number"). As a command's events are stored, the personal fields of each person in
them are replaced by one envelope, `{"$sealed": {"key": ..., "fields": [...], "box": ...}}`: the
fields' JSON encrypted with AES-GCM under the person's own key, bound to the case, the version and
the person's place in it. The event's hash (aggregates/chain.py) is computed over the envelope, so
the hash chain and the store's signed checkpoints cover the ciphertext, never the data.

Each person's key is kept in `person_data_keys`, wrapped (AES-GCM) under a key derived from the
installation's data key, which is never in the database (`CASEWORK_DATA_KEY` or `<data dir>/data.key`,
engine/persons.py). A person with an ID
number has one key for all their cases (found by the keyed ID number, as the one-case-per-person rule
keys it); a person without one has a key of their own in each case. An erasure (engine/erasure.py)
destroys the wrapped key: the envelopes then open to nothing, and every read shows the person's
fields as None and `erased: true`, while every stored byte, and so every chain and checkpoint, stays
as it was.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eventsourcing.domain import DomainEventProtocol
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from aggregates.base import Case
from aggregates.chain import event_hash
from aggregates.values import identifier
from engine.config import ConfigurationError
from engine.database import Rows
from engine.persons import PersonKeys
from engine.tables import person_data_keys, person_key_uses

SEALED = "$sealed"
ERASED = "erased"
"""The key a person's mapping carries, true, once their data is erased."""
_WRAPPING_LABEL = b"casework person data keys v1"
_NOT_HASHED = ("class_version", "originator_topic")
CIPHERS_KEPT = 10_000
"""Unwrapped person keys a process keeps (about 1 KB each), the oldest dropped first."""
_KEYS_BY_ID = select(person_data_keys.c.key_id, person_data_keys.c.wrapped).where(
    person_data_keys.c.key_id.in_(bindparam("keys", expanding=True))
)
_KEYS_BY_SUBJECT = select(person_data_keys.c.subject, person_data_keys.c.key_id, person_data_keys.c.wrapped).where(
    person_data_keys.c.subject.in_(bindparam("subjects", expanding=True))
)
_PRELOADED: ContextVar[dict[str, Any] | None] = ContextVar("casework_person_keys_read_ahead", default=None)
"""Rows of person_data_keys read ahead for a batch of cases (`PersonalData.keys_read_ahead`), by key id."""


class PersonalDataUnreadable(Exception):
    """Sealed data that its key does not open: `problem` says why (the chain check names the case and version)."""

    def __init__(self, person: str, problem: str) -> None:
        self.person, self.problem = person, problem
        super().__init__(f"the personal data of {person} {problem}")


class WrongWrappingKey(ConfigurationError):
    """The person keys were wrapped under another installation key: nothing personal can be read."""

    def __init__(self) -> None:
        super().__init__(
            "CASEWORK_DATA_KEY: the keys of the personal data in this store were wrapped under another data key; "
            "set the data key this installation was set up with (restore data.key from the backup)"
        )


@dataclass(frozen=True)
class Place:
    """One person in an event's data: where (`person`, "applicants.1") and their mapping."""

    person: str
    mapping: Mapping[str, Any]


def personal_fields(case_cls: type[Case]) -> dict[str, tuple[str, ...]]:
    """`PERSONAL_DATA` grouped by person: {"worker": ("name", "id_number", ...), "applicants.*": (...)}."""
    grouped: dict[str, list[str]] = {}
    for path in case_cls.PERSONAL_DATA:
        parent, _, name = path.rpartition(".")
        grouped.setdefault(parent, []).append(name)
    return {parent: tuple(names) for parent, names in grouped.items()}


def places(data: Mapping[str, Any], parent: str) -> Iterator[Place]:
    """The persons at `parent` ("worker", "applicants.*") in an event's data."""
    head, _, rest = parent.partition(".")
    value = data.get(head)
    if rest == "*":
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping):
                    yield Place(f"{head}.{i}", item)
    elif not rest and isinstance(value, Mapping):
        yield Place(head, value)


def sealed_places(data: Mapping[str, Any]) -> Iterator[Place]:
    """Every sealed person in an event's data (a mapping, or a list's item, at the top of the data)."""
    for head, value in data.items():
        if isinstance(value, Mapping) and SEALED in value:
            yield Place(head, value)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, Mapping) and SEALED in item:
                    yield Place(f"{head}.{i}", item)


def _replace(data: dict[str, Any], person: str, mapping: dict[str, Any]) -> None:
    head, _, index = person.partition(".")
    if index:
        items = list(data[head])
        items[int(index)] = mapping
        data[head] = items
    else:
        data[head] = mapping


def _binding(case_id: UUID | str, version: int, person: str) -> bytes:
    """What a box is bound to: it opens only in the event and place it was sealed for."""
    return f"{case_id}/{version}/{person}".encode()


def _case_class(event_cls: type) -> type[Case] | None:
    owner = getattr(sys.modules.get(event_cls.__module__), event_cls.__qualname__.split(".")[0], None)
    return owner if isinstance(owner, type) and issubclass(owner, Case) else None


class Sealed(NamedTuple):
    events: list[DomainEventProtocol[UUID]]
    rows: list[Rows]
    """The person keys made and the uses of each, for `write_rows` (engine/database.py)."""


class PersonalData:
    """Seals the personal data of events as they are stored and opens it as they are read."""

    def __init__(self, persons: PersonKeys) -> None:
        self.persons = persons
        self._wrapping: AESGCM | None = None
        self._fields: dict[type, dict[str, tuple[str, ...]]] = {}
        self._ciphers: dict[bytes, AESGCM] = {}
        """Unwrapped keys by their wrapped form, as read: a key's row is still read on every use, so a destroyed key
        is never used; only the unwrapping is saved."""
        self.transaction: Callable[[bool], AbstractContextManager[Session]]

    @property
    def wrapping(self) -> AESGCM:
        if self._wrapping is None:
            derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_WRAPPING_LABEL)
            self._wrapping = AESGCM(derived.derive(self.persons.data_key.secret))
        return self._wrapping

    def fields_of(self, event_cls: type) -> dict[str, tuple[str, ...]]:
        found = self._fields.get(event_cls)
        if found is None:
            case_cls = _case_class(event_cls)
            found = self._fields[event_cls] = personal_fields(case_cls) if case_cls is not None else {}
        return found

    # -- storing ---------------------------------------------------------------------

    def seal(self, session: Session, events: Sequence[DomainEventProtocol[UUID]]) -> Sealed:
        """The events to store: each person's data sealed, and the hashes recomputed over what is stored; with the
        rows of the keys they need, to be written in the same transaction.

        The events given keep their data in clear (the command's read models are made from them) but take the
        stored hashes, so the case's head hash is the one stored. A later event of the same case in the batch is
        re-linked to its predecessor's new hash."""
        keys = _KeyRing(self, session)
        keys.read_ahead(self._id_numbers(events))
        renamed: dict[UUID, tuple[str, str]] = {}  # case -> (hash the aggregate gave its last event, hash stored)
        stored: list[DomainEventProtocol[UUID]] = []
        for event in events:
            state = event.__dict__
            case_id = event.originator_id
            sealed = self._sealed_data(keys, event)
            before = renamed.get(case_id)
            relink = before is not None and before[0] != before[1] and state.get("prev_hash") == before[0]
            if sealed is None and not relink:
                stored.append(event)
                if "hash" in state:
                    renamed[case_id] = (state["hash"], state["hash"])
                continue
            copy = object.__new__(type(event))
            object.__setattr__(copy, "__dict__", dict(state))
            if sealed is not None:
                copy.__dict__["data"] = sealed
            if relink:
                assert before is not None
                copy.__dict__["prev_hash"] = state["prev_hash"] = before[1]
            digest = event_hash(
                type(event).__qualname__, {k: v for k, v in copy.__dict__.items() if k not in _NOT_HASHED}
            )
            renamed[case_id] = (state["hash"], digest)
            copy.__dict__["hash"] = state["hash"] = digest
            stored.append(copy)
        return Sealed(stored, keys.rows())

    def _id_numbers(self, events: Sequence[DomainEventProtocol[UUID]]) -> set[str]:
        """The ID numbers of the persons whose data `events` hold, as keyed."""
        found: set[str] = set()
        for event in events:
            data = getattr(event, "data", None)
            if isinstance(data, Mapping):
                for parent in self.fields_of(type(event)):
                    found.update(identifier(place.mapping.get("id_number")) for place in places(data, parent))
        found.discard("")
        return found

    def _sealed_data(self, keys: _KeyRing, event: DomainEventProtocol[UUID]) -> dict[str, Any] | None:
        data = getattr(event, "data", None)
        groups = self.fields_of(type(event))
        if not groups or not isinstance(data, Mapping):
            return None
        sealed: dict[str, Any] | None = None
        for parent, names in groups.items():
            for place in list(places(data, parent)):
                personal = {name: place.mapping[name] for name in names if name in place.mapping}
                if not personal or SEALED in place.mapping:
                    continue
                key_id, key = keys.for_person(place.mapping.get("id_number"), event.originator_id, place.person)
                nonce = os.urandom(12)
                box = AESGCM(key).encrypt(
                    nonce,
                    json.dumps(personal, ensure_ascii=False, sort_keys=True).encode("utf-8"),
                    _binding(event.originator_id, event.originator_version, place.person),
                )
                mapping = {k: v for k, v in place.mapping.items() if k not in personal}
                mapping[SEALED] = {
                    "key": key_id,
                    "fields": sorted(personal),
                    "box": base64.b64encode(nonce + box).decode("ascii"),
                }
                if sealed is None:
                    sealed = dict(data)
                _replace(sealed, place.person, mapping)
        return sealed

    def wrap(self, key_id: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + self.wrapping.encrypt(nonce, key, key_id.encode("ascii"))

    def unwrap(self, key_id: str, wrapped: bytes) -> bytes:
        try:
            return self.wrapping.decrypt(wrapped[:12], wrapped[12:], key_id.encode("ascii"))
        except InvalidTag:
            raise WrongWrappingKey() from None

    # -- reading ---------------------------------------------------------------------

    @contextmanager
    def keys_read_ahead(self, session: Session, case_ids: Iterable[UUID]) -> Iterator[None]:
        """Read the keys these cases use in one query, for `open` to take instead of a query per event it opens (a
        rebuild replays a page of cases in here). Only this thread sees them, and only inside the block."""
        k, u = person_data_keys.c, person_key_uses.c
        rows = session.execute(
            select(k.key_id, k.wrapped).join(person_key_uses, u.key_id == k.key_id).where(u.case_id.in_(list(case_ids)))
        )
        token = _PRELOADED.set({row.key_id: row for row in rows})
        try:
            yield
        finally:
            _PRELOADED.reset(token)

    def bind(self, transaction: Callable[[bool], AbstractContextManager[Session]]) -> None:
        """Read keys in the store's transactions: within a command's, its own uncommitted changes are seen."""
        self.transaction = transaction

    def open(self, case_id: UUID | str, version: int, state: dict[str, Any]) -> None:
        """Put each sealed person's data back into `state` (the decoded stored event), or None for every field and
        `erased: true` once their key is destroyed."""
        data = state.get("data")
        if not isinstance(data, dict):
            return
        found = list(sealed_places(data))
        if not found:
            return
        key_ids = {str(place.mapping[SEALED].get("key")) for place in found}
        preloaded = _PRELOADED.get()
        rows = {} if preloaded is None else {key: preloaded[key] for key in key_ids if key in preloaded}
        if len(rows) < len(key_ids):
            with self.transaction(False) as session:
                read = session.connection().execute(_KEYS_BY_ID, {"keys": sorted(key_ids - rows.keys())})
                rows.update((row.key_id, row) for row in read)
        opened = dict(data)
        for place in found:
            envelope = place.mapping[SEALED]
            mapping = {k: v for k, v in place.mapping.items() if k != SEALED}
            row = rows.get(str(envelope.get("key")))
            if row is None:
                raise PersonalDataUnreadable(place.person, "has no key, and no erasure destroyed one: it was removed")
            if row.wrapped is None:
                mapping.update(dict.fromkeys(envelope.get("fields", ()), None))
                mapping[ERASED] = True
            else:
                mapping.update(self._opened(row.key_id, bytes(row.wrapped), envelope, case_id, version, place.person))
            _replace(opened, place.person, mapping)
        state["data"] = opened

    def _opened(
        self, key_id: str, wrapped: bytes, envelope: Mapping[str, Any], case_id: UUID | str, version: int, person: str
    ) -> dict[str, Any]:
        cipher = self._ciphers.get(wrapped)
        if cipher is None:
            if len(self._ciphers) >= CIPHERS_KEPT:
                self._ciphers.pop(next(iter(self._ciphers)))
            cipher = self._ciphers[wrapped] = AESGCM(self.unwrap(key_id, wrapped))
        try:
            raw = base64.b64decode(str(envelope["box"]), validate=True)
            clear = cipher.decrypt(raw[:12], raw[12:], _binding(case_id, version, person))
            return cast(dict[str, Any], json.loads(clear))
        except (InvalidTag, ValueError, KeyError):
            raise PersonalDataUnreadable(person, "does not open with its key: it was altered or moved") from None


class _KeyRing:
    """The person keys one batch of events uses, found or made in the batch's transaction."""

    def __init__(self, sealer: PersonalData, session: Session) -> None:
        self.sealer, self.session = sealer, session
        self.by_subject: dict[str, tuple[str, bytes]] = {}
        self.made: list[dict[str, Any]] = []
        self.uses: set[tuple[str, UUID, str]] = set()

    def read_ahead(self, id_numbers: Iterable[str]) -> None:
        """The live keys of these persons, in one query."""
        subjects = sorted(self.sealer.persons.key_for(number) for number in id_numbers)
        if subjects:
            rows = self.session.connection().execute(_KEYS_BY_SUBJECT, {"subjects": subjects})
            for subject, key_id, wrapped in rows:
                if wrapped is not None:
                    self.by_subject[subject] = (key_id, self.sealer.unwrap(key_id, bytes(wrapped)))

    def for_person(self, id_number: Any, case_id: UUID, person: str) -> tuple[str, bytes]:
        number = identifier(id_number)
        subject = self.sealer.persons.key_for(number) if number else None
        found = self.by_subject.get(subject) if subject else None
        if found is None:
            found = self._new(subject)
            if subject:
                self.by_subject[subject] = found
        self.uses.add((found[0], case_id, person))
        return found

    def _new(self, subject: str | None) -> tuple[str, bytes]:
        key_id, key = uuid.uuid4().hex, AESGCM.generate_key(bit_length=256)
        self.made.append(
            {"key_id": key_id, "subject": subject, "wrapped": self.sealer.wrap(key_id, key), "created_at": _now()}
        )
        return key_id, key

    def rows(self) -> list[Rows]:
        """The keys made and the cases that use each, for the command to write with its events (`write_rows`)."""
        return [
            Rows(person_data_keys, self.made),
            Rows(
                person_key_uses,
                [{"key_id": k, "case_id": c, "person": p} for k, c, p in sorted(self.uses, key=str)],
                keys=("key_id", "case_id", "person"),
            ),
        ]


def _now() -> datetime:
    return datetime.now(UTC)


def rekey_subjects(session: Session, persons: PersonKeys, load: Callable[[UUID], Case]) -> int:
    """Key each live person key's subject anew under the installation's person key, reading the ID number back from
    a case that holds the person (`load`); used when the reservations are re-keyed. Returns the keys re-keyed."""
    k, u = person_data_keys.c, person_key_uses.c
    rows = session.execute(
        select(k.key_id, u.case_id, u.person)
        .join(person_key_uses, u.key_id == k.key_id)
        .where(k.subject.is_not(None), k.wrapped.is_not(None))
        .order_by(k.key_id)
    ).all()
    subjects: dict[str, str] = {}
    for key_id, case_id, person in rows:
        if key_id in subjects:
            continue
        head, _, index = person.partition(".")
        held = getattr(load(case_id), head, None)
        mapping = held[int(index)] if index and isinstance(held, list) else held
        number = identifier(mapping.get("id_number")) if isinstance(mapping, Mapping) else ""
        if number:
            subjects[key_id] = persons.key_for(number)
    if subjects:  # cleared first: two persons' new subjects may be each other's old ones
        session.execute(update(person_data_keys).where(k.key_id.in_(list(subjects))).values(subject=None))
        for key_id, subject in subjects.items():
            session.execute(update(person_data_keys).where(k.key_id == key_id).values(subject=subject))
    return len(subjects)
