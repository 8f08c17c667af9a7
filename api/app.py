"""The Flask app factory: flask-smorest blueprints, one error shape, OpenAPI and offline docs."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from flask_swagger_ui import get_swaggerui_blueprint
from werkzeug.exceptions import HTTPException

from aggregates.errors import DomainError
from api import reads
from api.auth import casework, current_user
from api.errors import ApiError, ErrorSchema, error_response, from_domain_error, from_http_exception, from_unexpected
from engine.config import ConfigurationError
from engine.scheduler import NoScheduler, Scheduler
from engine.service import Casework

API_VERSION = "1"
log = logging.getLogger("casework.api")
TOKEN_PARAMETERS = frozenset({"access_token", "token", "bearer", "api_key", "apikey"})
"""Query parameters a client might put a bearer token in: such a request is refused (the URL is logged)."""


class JSONAsBuilt(DefaultJSONProvider):
    """JSON with its keys in the order they were built and Chinese text as it is, not as \\u escapes."""

    sort_keys = False
    ensure_ascii = False


class CaseworkFlask(Flask):
    def dispatch_request(self) -> Any:
        reads.end_before_writing()  # after the token check and the blueprints' guards, before the view
        return super().dispatch_request()


class CaseworkApi(Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        return from_http_exception(error)


def create_app(cw: Casework, scheduler: Scheduler | None = None, config: dict[str, Any] | None = None) -> Flask:
    """The app over the service `cw`, starting campaign runs with `scheduler` (none: every start is refused with
    503 scheduler_unavailable). bootstrap.http_app builds the production one, with Prefect's scheduler."""
    app = CaseworkFlask("casework")
    app.config.update(
        API_TITLE="Casework",
        API_VERSION=API_VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        API_SPEC_OPTIONS={
            "info": {"description": _DESCRIPTION},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    app.config.update(config or {})
    app.json = JSONAsBuilt(app)
    app.extensions["casework"] = cw
    app.extensions["casework.scheduler"] = scheduler or NoScheduler()
    app.extensions["casework"].persons.secret  # noqa: B018 - read (or make) the person key now: fail at start
    api = CaseworkApi(app)

    from api import accounts, audit, campaigns, cases, checkpoints, notifications, persons, reports

    blueprints = (
        cases.blp,
        audit.blp,
        reports.blp,
        accounts.blp,
        campaigns.blp,
        notifications.blp,
        checkpoints.blp,
        persons.blp,
    )
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    protected = {b.name for b in blueprints}
    # validatorUrl None: Swagger UI would otherwise load a badge from validator.swagger.io on every visit
    docs = get_swaggerui_blueprint("/docs", "/openapi.json", config={"app_name": "Casework API", "validatorUrl": None})
    app.register_blueprint(docs, url_prefix="/docs")

    @app.before_request
    def _refuse_tokens_in_the_url() -> None:
        """A token in the URL ends up in access logs, proxies and browser history: refuse it before anything."""
        named = sorted(name for name in request.args if name.lower() in TOKEN_PARAMETERS)
        if named:
            raise ApiError(
                400,
                "token_in_url",
                f"send the bearer token in the Authorization header, never in the URL "
                f"('{named[0]}'): URLs are logged and kept; ask an admin for a new token, this one may "
                "have been seen",
                fields={f"query.{name}": "a token may not be sent in the URL" for name in named},
            )

    @app.before_request
    def _authenticate() -> None:
        """The bearer token is checked before anything else about the request: no 422 before the 401. It is read
        in the request's read transaction (api/reads.py)."""
        if request.blueprint in protected:
            reads.begin(casework())
            current_user()

    @app.teardown_request
    def _end_reads(_: BaseException | None) -> None:
        reads.end()

    @app.after_request
    def _private(response: Response) -> Response:
        """Nothing a token unlocks is kept by a browser or proxy cache (cases carry names, ID numbers, addresses),
        and no response is content-sniffed into something other than its declared type."""
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.blueprint in protected:
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, **error.extra)

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError) -> Response:
        return from_domain_error(error, if_match="If-Match" in request.headers)

    @app.errorhandler(ConfigurationError)
    def _misconfigured(error: ConfigurationError) -> Response:
        """A setting of the installation is wrong (e.g. another person key): the operator must act, not the caller."""
        log.error("misconfigured: %s", error)
        return error_response(
            503,
            "misconfigured",
            "the service is misconfigured and cannot do this now; "
            "nothing was changed; the operator has been told in the server log",
        )

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return from_http_exception(error)
        return from_unexpected(error)

    return app


_DESCRIPTION = """\
The HTTP API of Casework, the event-sourced case engine for trade-union casework.

* **Authentication**: `Authorization: Bearer <token>`. Tokens come from `casework users add`
  (shown once). Each user has a role and an org unit and sees that unit and every unit below it.
* **Commands** are POSTs: `POST /disputes` opens a labor dispute, `POST /disputes/{case_id}/accept`
  accepts it (`case_id` is the id or the number, `LD-2026-000123`). Each returns the case's new state
  with its version as the `ETag`.
* **Lost updates**: send the ETag back as `If-Match`; if the case has moved on you get 412 with
  its current version.
* **Retries**: send an `Idempotency-Key` with every POST; a repeat returns the first response and
  changes nothing. The same key with a different request (another body, action or case) is a 422.
* **Privacy**: every response to a request with a token says `Cache-Control: no-store`. A token in
  the URL (`?access_token=`, `?token=`) is refused with 400: send it only in the header.
* **Errors** share one shape: `status`, `code`, `message`, and where it applies `fields` (every bad
  field), `stage` and `allowed_actions`.
* **Integrity**: every read checks the case's hash chain. A case whose stored events were removed,
  reordered or altered answers 409 `broken_chain` with its `case` number and the `version` where the
  chain breaks, to every read and command, until its events are restored.
"""
