"""SQLite: writers queue on a lock file instead of polling in SQLite's busy handler.

Every write transaction on SQLite takes the database's write lock up front (BEGIN IMMEDIATE). A writer that finds
it taken sleeps in SQLite's busy handler and tries again, sleeping 1, 2, 5, 10 … up to 100 ms between tries, so with
a few concurrent writers much of a command's time is spent asleep after the lock was already free. Here each writer
first takes an advisory lock on a file beside the database (`<database>.writer`, flock), waiting in the kernel, which
wakes it as soon as the last writer's transaction ends, in this process or any other. A writer that waits longer
than SQLite would have (its busy timeout) gets the error SQLite gives: database is locked. The lock dies with its
process, so a killed writer holds nothing.

The threads of one process queue on a lock of their own first, so at most one of them waits for the file: a wait
for the file costs a thread of its own (the only way to bound it), and with every thread of a busy API worker
waiting there, each command paid for one.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy.exc
from sqlalchemy import Engine

from engine.database import BUSY_TIMEOUT_SECONDS


class WriterLock:
    """Re-entrant within a thread: a write transaction opened inside another joins it and takes nothing more."""

    def __init__(self, database: Path, timeout: float = BUSY_TIMEOUT_SECONDS) -> None:
        self.path = database.with_name(database.name + ".writer")
        self.timeout = timeout
        self._local = threading.local()
        self._turn = threading.Lock()
        """Held by the one thread of this process that holds the file, or waits for it."""

    @contextmanager
    def held(self) -> Iterator[None]:
        if getattr(self._local, "depth", 0):
            self._local.depth += 1
            try:
                yield
            finally:
                self._local.depth -= 1
            return
        deadline = time.monotonic() + self.timeout
        if not self._turn.acquire(timeout=self.timeout):
            raise _locked(self.timeout)
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)  # its own: flock locks are per open
            try:
                _take(fd, max(deadline - time.monotonic(), 0.0), self.timeout)
                self._local.depth = 1
                try:
                    yield
                finally:
                    self._local.depth = 0
            finally:
                os.close(fd)  # releases the lock
        finally:
            self._turn.release()


def _take(fd: int, timeout: float, busy_timeout: float) -> None:
    """Lock `fd`, waiting at most `timeout` seconds (what is left of the writer's `busy_timeout`). The wait is a
    blocking flock in a thread of its own, the only way to bound it; a wait given up on releases the lock the moment it
    gets it, and closes its file."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    waiter = os.dup(fd)  # the same open file: a lock taken through either is the caller's
    got, given_up, decided = threading.Event(), threading.Event(), threading.Lock()

    def wait() -> None:
        try:
            fcntl.flock(waiter, fcntl.LOCK_EX)
            with decided:
                if not given_up.is_set():
                    got.set()
                    return
            fcntl.flock(waiter, fcntl.LOCK_UN)
        finally:
            os.close(waiter)

    threading.Thread(target=wait, name="casework-writer-lock", daemon=True).start()
    if got.wait(timeout):
        return
    with decided:
        if got.is_set():
            return
        given_up.set()
    raise _locked(busy_timeout)


def _locked(timeout: float) -> sqlalchemy.exc.OperationalError:
    """The error SQLite gives a writer that waited out its busy timeout."""
    return sqlalchemy.exc.OperationalError(
        "BEGIN IMMEDIATE",
        None,
        sqlite3.OperationalError(f"database is locked: another writer held it longer than {timeout:g} s"),
    )


class NoWriterLock:
    """PostgreSQL: writers of different cases run at once, and of one case queue on its row lock."""

    @contextmanager
    def held(self) -> Iterator[None]:
        yield


def writer_lock(engine: Engine) -> WriterLock | NoWriterLock:
    """The lock the writers of `engine`'s database queue on: a file's beside a SQLite file; none for PostgreSQL, or
    for an in-memory SQLite database, which one process holds."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return NoWriterLock()
    return WriterLock(Path(database))
