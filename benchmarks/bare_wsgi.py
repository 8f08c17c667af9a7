"""Two apps for benchmarks/http.py to serve exactly as `casework api` serves the API (api.server.serve, the same
settings, the same access log), each a floor under the API's HTTP time:

- `app`: a WSGI function that answers at once: what granian, the access log, TCP and the client cost a request
  before any Flask or Casework code runs;
- `engine`: a WSGI function that makes the in-process anchor's engine call itself (benchmarks.http.engine_call: the
  same Casework call, as the same mediator) and answers with an empty JSON object: no Flask, no token, no schema,
  no org-unit check, no JSON view. Its p50 over the in-process p50 is the lowest ratio any HTTP layer over this
  engine could reach on this server and machine.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
BODY = b'{"status":"ok"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def health(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]


def app() -> WsgiApp:
    """The factory `api.server.serve` calls in each worker: `health`, logged as the API's requests are."""
    from api.server import AccessLog, exit_with_parent, served

    exit_with_parent()
    return served(health, AccessLog())


def engine() -> WsgiApp:
    """The factory for the engine floor: one Casework per worker from the environment, as `casework api` builds."""
    from api.server import AccessLog, exit_with_parent, served
    from benchmarks.http import ROLE, USER_ID, engine_call
    from bootstrap import casework
    from engine.service import Actor

    exit_with_parent()
    cw = casework()
    actor = Actor(USER_ID, ROLE)

    def call(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if path == "/health":
            return health(environ, start_response)
        # POST /disputes/<id>/add-note or GET /cases/<id>, as the API's paths; the body is read and dropped
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        engine_call(cw, "add_note" if method == "POST" else "read", actor, uuid.UUID(path.split("/")[2]))
        return health(environ, start_response)

    return served(call, AccessLog())
