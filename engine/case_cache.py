"""A process's cache of cases, used while the case index records the version and head it holds them at, or a later
version whose events chain on from that head.

Replaying a case costs time in proportion to its events: each is decrypted, decoded, checked against the hash
chain and applied. So a process keeps the latest state of each case it read or changed, and uses it again while
the case index — read in the same transaction, under the command's row lock — records the same version and head
hash. A case the index records at a later version (another process recorded events on it since) is brought up to
date with those events alone, each checked to chain on from the head held; the events before are trusted as they
are at the held version, below. Anything else (an event since after which the state in memory is not what a replay
gives, an erasure; a row that does not check; a head that does not follow; a past version) is a full replay with
every event checked.

A short case (fewer than `TRUSTED_FROM` events) is still checked on every read, at a fraction of the cost: its
stored rows are read and compared with a fingerprint (SHA-256) of the rows its cached state was checked against,
and rows recorded since — by this process — are checked link by link from the last checked event to the head the
index records. A row removed, swapped or altered makes the read a full replay, which names the break. A long case
is taken at the index's head without reading its rows, which would cost as much as its length: an event altered
in the database after a process cached the case is found by `casework verify` (engine/audit.py), which reads every
event whatever is cached, and by any process that does not hold the case.

Readers share a cached case and never change it. A command works on its own copy, which replaces the cached one
once the command's transaction has committed. A command that erases personal data leaves its cases out: their
state in memory still holds the data the erasure made unreadable, so the next read replays them.
"""

from __future__ import annotations

import copy
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from aggregates.base import Case
from aggregates.chain import GENESIS
from engine.integrity import CaseMapper, decode_link

TRUSTED_FROM = 50
"""Cases of this many events are taken at the index's head without reading their rows."""

CACHE_EVENTS = 50_000
"""The events the cases kept by one process may add up to, least recently used dropped first: a case's state grows
with its events (a note about 1 KB), so about 50 MB."""

NOT_CACHED_AFTER = frozenset({"erase_personal_data"})
"""Actions after which the state in memory is not what a replay gives."""


@dataclass
class Entry:
    case: Case
    checked: int = 0
    """How many of the case's stored rows `fingerprint` covers: rows checked against the chain since."""
    checked_hash: str = GENESIS
    """The hash of the event at version `checked`."""
    fingerprint: bytes = hashlib.sha256().digest()


def fingerprint(rows: Sequence[StoredEvent]) -> bytes:
    digest = hashlib.sha256()
    for row in rows:
        digest.update(b"%d\x00%s\x00%d\x00" % (row.originator_version, row.topic.encode(), len(row.state)))
        digest.update(row.state)
    return digest.digest()


class CaseCache:
    """Cases by id at the version and head hash they were read or committed at; thread-safe."""

    def __init__(self, events: int = CACHE_EVENTS, trusted_from: int = TRUSTED_FROM) -> None:
        self.events, self.trusted_from = events, trusted_from
        self._entries: OrderedDict[UUID, Entry] = OrderedDict()
        self._held = 0
        """The events of the cases kept."""
        self._lock = threading.Lock()

    def get(self, case_id: UUID, version: int, head_hash: str | None) -> Entry | None:
        """The entry of the case if it is at `version` and `head_hash` (the case index's)."""
        with self._lock:
            entry = self._entries.get(case_id)
            if entry is None or entry.case.version != version or entry.case.head_hash != head_hash:
                return None
            self._entries.move_to_end(case_id)
            return entry

    def behind(self, case_id: UUID, version: int) -> Entry | None:
        """The entry of the case if it is at a version before `version`: events were recorded since, by another
        process."""
        with self._lock:
            entry = self._entries.get(case_id)
            return entry if entry is not None and entry.case.version < version else None

    def holds_short(self, case_id: UUID) -> bool:
        """Whether a case is kept whose rows a read compares (`needs_rows`), at whatever version."""
        entry = self._entries.get(case_id)
        return entry is not None and self.needs_rows(entry)

    def needs_rows(self, entry: Entry) -> bool:
        return entry.case.version < self.trusted_from

    def confirm(self, entry: Entry, rows: Sequence[StoredEvent], mapper: CaseMapper) -> bool:
        """Whether `rows` (all of the case's stored events) are the ones `entry.case` was checked against, followed
        by events that chain from the last of them to the case's head; if so the entry now covers them all."""
        case = entry.case
        if len(rows) != case.version or any(row.originator_version != i for i, row in enumerate(rows, 1)):
            return False
        if fingerprint(rows[: entry.checked]) != entry.fingerprint:
            return False
        prev_version, prev_hash = entry.checked, entry.checked_hash
        for row in rows[entry.checked :]:
            state, problem = decode_link(mapper, row, prev_version, prev_hash)
            if problem:
                return False
            prev_version, prev_hash = row.originator_version, state["hash"]
        if prev_hash != case.head_hash:
            return False
        with self._lock:
            entry.checked, entry.checked_hash, entry.fingerprint = len(rows), prev_hash, fingerprint(rows)
        return True

    def put(self, case: Case) -> None:
        """Keep `case` (read in full, or committed by a command) unless a newer state of it is kept. What was
        checked of an older state carries over: its rows are the first rows of this one's."""
        with self._lock:
            kept = self._entries.get(case.id)
            if kept is not None and kept.case.version > case.version:
                return
            entry = Entry(case)
            if kept is not None:
                entry.checked, entry.checked_hash, entry.fingerprint = kept.checked, kept.checked_hash, kept.fingerprint
            self._held += case.version - (kept.case.version if kept is not None else 0)
            self._entries[case.id] = entry
            self._entries.move_to_end(case.id)
            while self._held > self.events and len(self._entries) > 1:
                self._held -= self._entries.popitem(last=False)[1].case.version

    def committed(self, changes: Iterable[tuple[Case, Sequence[Case.Event]]]) -> None:
        """Keep the cases a committed command recorded events on, as it left them."""
        for case, events in changes:
            if not events:
                continue
            if any(type(e).ACTION in NOT_CACHED_AFTER for e in events):
                self.forget([case.id])
            else:
                self.put(case)

    def forget(self, case_ids: Iterable[UUID]) -> None:
        with self._lock:
            for case_id in case_ids:
                entry = self._entries.pop(case_id, None)
                if entry is not None:
                    self._held -= entry.case.version


def private_copy(case: Case) -> Case:
    """A copy of a cached case that a command may change: every list, dict and set in its state copied, the values
    in them that cannot change (strings, numbers, dates, frozen dataclasses such as clocks) shared, and so are the
    items of the lists events only append to (`Case.APPEND_ONLY`: notes, alerts). Many times faster than pickling,
    which copies those too; anything else is deep-copied."""
    copied: Case = object.__new__(type(case))
    shared = type(case).APPEND_ONLY
    copied.__dict__.update(
        {name: value.copy() if name in shared else _copied(value) for name, value in case.__dict__.items()}
    )
    return copied


_CONTAINERS = (dict, list, set)
_UNCHANGING = frozenset({str, int, float, bool, type(None), Decimal, date, datetime, UUID, tuple, frozenset, bytes})


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        if _UNCHANGING.issuperset(map(type, value.values())):  # most items of a case's lists: copied in C
            return value.copy()
        return {k: v if type(v) in _UNCHANGING else _copied(v) for k, v in value.items()}
    if kind is list:
        kinds = set(map(type, value))
        if _UNCHANGING.issuperset(kinds):
            return value.copy()
        if kinds == {dict} and _UNCHANGING.issuperset(map(type, chain.from_iterable(map(dict.values, value)))):
            return list(map(dict.copy, value))  # a list of flat records (notes, links, alerts): one pass in C
        return [v if type(v) in _UNCHANGING else _copied(v) for v in value]
    if kind is set:
        return set(value)
    params = getattr(kind, "__dataclass_params__", None)  # a dataclass's; frozen: its fields cannot be set
    if kind in _UNCHANGING or (params is not None and params.frozen):
        return value
    return copy.deepcopy(value)
