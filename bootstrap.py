"""Where Casework is put together: the one module that knows every part and hands each what it needs.

The engine knows no adapter; the HTTP API knows no scheduler; the flows know no HTTP. This module
builds the settings, the Casework service, the scheduler (Prefect's) and the Flask app, and the
command line (cli/) asks it for them. Every import is inside a function, so that a short command
such as `casework show` loads only what it uses.

A WSGI server other than `casework api` can serve the app that `bootstrap:http_app` makes, one per worker process
(`granian --interface wsgi --factory bootstrap:http_app`, `gunicorn 'bootstrap:http_app()'`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.config import Settings

if TYPE_CHECKING:
    from flask import Flask

    from engine.scheduler import Scheduler
    from engine.service import Casework


def settings() -> Settings:
    """The installation's settings, from the environment (each value checked, a wrong one named)."""
    return Settings.from_env()


def casework(settings: Settings | None = None) -> Casework:
    """The Casework service over `settings` (default: the environment's)."""
    from engine.service import Casework

    return Casework(settings or Settings.from_env())


def scheduler() -> Scheduler:
    """The scheduler campaign runs are started with: Prefect's, on the server PREFECT_API_URL names."""
    from workflows.deployments import PrefectScheduler

    return PrefectScheduler()


def http_app(cw: Casework | None = None) -> Flask:
    """The HTTP API over `cw` (default: a service from the environment's settings), starting runs on Prefect, with
    the web workspace at `/` (its settings from the environment)."""
    from api.app import create_app
    from web import WebSettings, register

    app = create_app(cw or casework(), scheduler())
    register(app, WebSettings.from_env())
    return app


def served_http_app() -> Flask:
    """`http_app` as each worker of `casework api` builds it: its responses do not name the server, each request is
    written to the access log on standard output, and a worker that outlives its server stops."""
    from api.server import AccessLog, exit_with_parent, served

    exit_with_parent()
    app = http_app()
    app.wsgi_app = served(app.wsgi_app, AccessLog())  # type: ignore[method-assign,assignment]
    return app


def serve_http(host: str, port: int, workers: int, threads: int, keepalive: int) -> None:
    """Serve the HTTP API under granian until stopped; each worker process builds its own app and service and
    serves `threads` requests at once on kept-alive connections."""
    from api.server import serve

    serve(host, port, workers, "bootstrap:served_http_app", threads=threads, keepalive=keepalive)


def serve_flows(settings: Settings, limit: int | None = None) -> None:
    """Register every deployment with its schedule and run their flows here until stopped (the worker). Each flow
    run builds its own service from the environment (workflows/runtime.py): Prefect runs it in a fresh process."""
    from workflows.deployments import serve_all

    serve_all(settings, limit=limit)
