"""One read transaction per request: the token check, the guard's look-ups and a GET's own reads share it.

A request to the API begins it when its token is checked. Whatever the engine reads for the request joins it
(the event store's transactions nest within a thread), so reading a case costs one transaction, not one for
the token, one for the case's index row and one for its events. It begins nothing on the database
(`Casework.read_transaction`: PostgreSQL in autocommit, SQLite without BEGIN): each statement sees what is
committed when it runs, as in a READ COMMITTED transaction, without BEGIN and ROLLBACK. A request
that may write (any method but GET, HEAD and OPTIONS) ends it before its view runs: a command is its own
write transaction, which cannot nest in a read one. Whatever is still open ends with the request.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from flask import g, request

from engine.service import Casework

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def begin(cw: Casework) -> None:
    """Open the request's read transaction, unless it is open."""
    if g.get("reads") is None:
        reads: AbstractContextManager[Any] = cw.read_transaction()
        reads.__enter__()
        g.reads = reads


def end() -> None:
    """Close the request's read transaction, if it is open (nothing was written in it: it is rolled back)."""
    reads = g.pop("reads", None)
    if reads is not None:
        reads.__exit__(None, None, None)


def end_before_writing() -> None:
    """Close it before the view of a request that may write."""
    if request.method not in SAFE_METHODS:
        end()
