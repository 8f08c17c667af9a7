"""Bearer tokens checked without reading the user on every request: a short-lived cache of token look-ups
that any account change, made by any process, ends at the next request.

Every change to an account (a token issued, a user deactivated or reactivated, a new role, unit or name, a
password) is appended to `account_changes` in the same transaction as the change itself
(`engine.accounts._record`). The newest entry's `seq` is therefore a marker of the accounts as they stand: a
cached look-up remembers the marker it was made under, and a request first reads the marker (one primary-key
read, in the request's own transaction) and trusts the cached user only while it is unchanged. A revoked
token or a deactivated user is refused on its next request in every process, however recent the cache entry;
only a change made to the `users` table by hand, past the record, waits out the time-to-live
(CASEWORK_TOKEN_CACHE_SECONDS, 0 turns the cache off).

For that the marker must move forward in commit order: a change committed after a request read the marker
must leave a larger one. SQLite commits one writer at a time, so its row ids follow commit order. On
PostgreSQL a sequence hands out values in the order transactions ask, not the order they commit, so
`_record` takes a self-exclusive lock on the table before appending: one append at a time, each committed
before the next takes its number (readers are not blocked). The record is append-only, so the newest `seq`
never goes back. Within a request the marker is read before the user, so a change that commits between the
two reads is either seen in the user row or makes the next request's marker differ.

Only users are cached, never a refusal: a token that is unknown, or belongs to a deactivated user, is looked up
again each time (so a reactivation works at once, and unknown tokens cannot fill the cache).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.accounts import User, hash_token, user_for_digest, well_formed_token
from engine.service import Casework
from engine.tables import account_changes

MAX_ENTRIES = 4096
"""Tokens one process keeps at most; past it the oldest entry goes first."""


@dataclass(frozen=True)
class _Entry:
    user: User
    marker: int | None
    expires: float


_NEWEST_CHANGE = select(func.max(account_changes.c.seq))
"""Built once: SQLAlchemy then finds its compiled form without making the statement's cache key anew."""


def accounts_marker(session: Session) -> int | None:
    """The newest entry of the record of account changes (None before the first): changes with every change
    to an account."""
    return session.connection().execute(_NEWEST_CHANGE).scalar()


class TokenCache:
    """Token digest -> the user holding it, each entry trusted only under the marker it was read under and for
    `ttl` seconds at most. Thread-safe; one per service (`token_cache`)."""

    def __init__(
        self, ttl: float, *, max_entries: int = MAX_ENTRIES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.max_entries, self.clock = ttl, max_entries, clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def authenticate(self, cw: Casework, token: str) -> User | None:
        """The active user holding `token`, or None; read in the caller's transaction if one is open."""
        if not well_formed_token(token):
            return None
        digest = hash_token(token)
        with cw.read_transaction() as session:
            if self.ttl <= 0:
                return user_for_digest(session, digest)
            marker = accounts_marker(session)  # before the user: see the module's docstring
            entry = self._entries.get(digest)
            now = self.clock()
            if entry is not None and entry.marker == marker and marker is not None and now < entry.expires:
                return entry.user
            user = user_for_digest(session, digest)
        with self._lock:
            if user is None:
                self._entries.pop(digest, None)
            else:
                if len(self._entries) >= self.max_entries and digest not in self._entries:
                    del self._entries[next(iter(self._entries))]
                self._entries[digest] = _Entry(user, marker, now + self.ttl)
        return user


_caches: weakref.WeakKeyDictionary[Casework, TokenCache] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def token_cache(cw: Casework) -> TokenCache:
    """The token cache of the service `cw`: one per service, so one per process as `casework api` runs it."""
    cache = _caches.get(cw)
    if cache is None:
        with _caches_lock:
            cache = _caches.get(cw) or _caches.setdefault(cw, TokenCache(cw.settings.token_cache_seconds))
    return cache
