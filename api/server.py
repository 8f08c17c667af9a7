"""gunicorn, run in-process: one Flask app (and one Casework service) per worker process, several threads each."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from gunicorn import glogging
from gunicorn.app.base import BaseApplication
from gunicorn.http import wsgi

if TYPE_CHECKING:
    from flask import Flask

URL_ATOMS = ("f", "{referer}i", "{http_referer}e")
"""Access-log atoms that hold a URL: logged without its query string."""
HIDDEN_ATOMS = (
    "{query_string}e",
    "{raw_uri}e",
    "{request_uri}e",
    "{authorization}i",
    "{http_authorization}e",
    "{cookie}i",
    "{http_cookie}e",
)
"""Access-log atoms that hold a query string or a credential: never logged."""


class PrivateAccessLogger(glogging.Logger):
    """gunicorn's logger, with every URL in the access log cut at the '?'.

    A query string can carry what the log must not keep: search text (`/cases?q=<a worker's name>`) or a token
    a client put in the URL by mistake (refused, but still requested). The request line is logged as
    method, path and protocol."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["r"] = f"{atoms['m']} {atoms['U']} {atoms['H']}"
        atoms["q"] = "-"
        for name in URL_ATOMS:
            if isinstance(atoms.get(name), str):
                atoms[name] = without_query(atoms[name])
        for name in HIDDEN_ATOMS:
            atoms.pop(name, None)
        return atoms


def without_query(url: str) -> str:
    """`url` without its query string and fragment."""
    try:
        return urlunsplit(urlsplit(url)._replace(query="", fragment=""))
    except ValueError:  # not a URL at all: keep nothing of it
        return "-"


class AnonymousResponse(wsgi.Response):
    """gunicorn's response without its `Server` header: the API does not tell a scanner what serves it."""

    def default_headers(self) -> list[str]:
        return [line for line in super().default_headers() if not line.lower().startswith("server:")]


class CaseworkServer(BaseApplication):
    def __init__(self, options: dict[str, Any], build_app: Callable[[], Flask]) -> None:
        self.options = options
        self.build_app = build_app
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.build_app()


def serve(
    host: str,
    port: int,
    workers: int,
    build_app: Callable[[], Flask],
    *,
    threads: int,
    keepalive: int,
    **options: Any,
) -> None:
    """Serve the app `build_app` makes until interrupted; each worker calls it after the fork, so workers share no
    connection.

    The workers are gunicorn's threaded ones (gthread): each serves `threads` requests at once with its one app and
    service, and keeps a client's connection open for `keepalive` seconds between requests, so a client that
    sends many requests connects once instead of for every request as with sync workers."""
    wsgi.Response = AnonymousResponse  # gunicorn has no setting for it; every worker builds its responses from here
    CaseworkServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "keepalive": keepalive,
            "preload_app": False,
            "accesslog": "-",
            "graceful_timeout": 10,
            "logger_class": PrivateAccessLogger,
            **options,
        },
        build_app,
    ).run()
