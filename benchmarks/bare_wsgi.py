"""The smallest WSGI app, for benchmarks/http.py to serve exactly as `casework api` serves the API: its p50 is what
granian, its access log, TCP and the client cost a request before any Flask or Casework code runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = b'{"status":"ok"}'


def health(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def app() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """The factory `api.server.serve` calls in each worker."""
    return health
