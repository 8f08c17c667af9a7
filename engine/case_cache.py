"""A process's cache of long cases, used only while the case index still records the version and head it was at.

Replaying a case costs time in proportion to its events: 2,000 events take as long to read, check and apply as
twenty commands take to run. So from `CACHED_FROM` events on, a process keeps the latest state of a case it read
or changed, and uses it again while the case index — read in the same transaction, under the command's row lock —
records the same version and head hash. Anything else is a full replay with every event checked: a case changed
by another process, a head that no longer matches, a past version, a case shorter than `CACHED_FROM` (whose every
read still re-checks its whole chain). `casework verify` (engine/audit.py) reads every event whatever is cached:
an event altered in the database after its case was cached is found there, not by a read in this process.

Readers share a cached case and never change it. A command works on its own copy, which replaces the cached one
once the command's transaction has committed. A command that erases personal data leaves its cases out: their
state in memory still holds the data the erasure made unreadable, so the next read replays them.
"""

from __future__ import annotations

import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from uuid import UUID

from aggregates.base import Case

CACHED_FROM = 50
"""Cases with fewer events are replayed on every read: replaying them costs less than the rest of a command."""

CACHE_SIZE = 500
"""Cases kept per process, least recently used dropped first."""

NOT_CACHED_AFTER = frozenset({"erase_personal_data"})
"""Actions after which the state in memory is not what a replay gives."""


class CaseCache:
    """Cases by id at the version and head hash they were read or committed at; thread-safe."""

    def __init__(self, size: int = CACHE_SIZE, cached_from: int = CACHED_FROM) -> None:
        self.size, self.cached_from = size, cached_from
        self._cases: OrderedDict[UUID, Case] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, case_id: UUID, version: int, head_hash: str | None) -> Case | None:
        """The cached case if it is at `version` and `head_hash` (the case index's), shared: not to be changed."""
        with self._lock:
            case = self._cases.get(case_id)
            if case is None or case.version != version or case.head_hash != head_hash:
                return None
            self._cases.move_to_end(case_id)
            return case

    def put(self, case: Case) -> None:
        """Keep `case` (read, or committed by a command) unless it is short or older than the one kept."""
        if case.version < self.cached_from:
            return
        with self._lock:
            kept = self._cases.get(case.id)
            if kept is not None and kept.version > case.version:
                return
            self._cases[case.id] = case
            self._cases.move_to_end(case.id)
            while len(self._cases) > self.size:
                self._cases.popitem(last=False)

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
                self._cases.pop(case_id, None)


def private_copy(case: Case) -> Case:
    """A copy of a cached case that a command may change (through pickle: a tenth of copy.deepcopy's time)."""
    copied: Case = pickle.loads(pickle.dumps(case, pickle.HIGHEST_PROTOCOL))
    return copied
