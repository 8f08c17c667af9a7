"""One JSON error shape for every error the API returns, and the mapping from engine errors.

{"status": 409, "code": "action_not_allowed", "message": "...",
 "fields": {"claims[0].amount": "must be a non-negative amount in CNY"},   # 400/422: every bad field
 "stage": "filed", "allowed_actions": ["accept", "decline", ...],          # 409: what is allowed instead
 "current_version": 4}                                                     # 409/412: the case's version
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from itertools import islice
from typing import Any

import marshmallow as ma
from flask import Response, g, jsonify
from werkzeug.exceptions import HTTPException

from aggregates.errors import ActionNotAllowed, DomainError, InvalidCommand
from engine.accounts import AccountError
from engine.campaigns import CampaignError
from engine.errors import CaseIntegrityError, DuplicatePerson, NotFound, VersionConflict

log = logging.getLogger("casework.api")


MAX_FIELD_ERRORS = 50
"""A 422 names at most this many bad fields: a body with 100,000 unknown keys must not get a 5 MB answer."""


class ErrorSchema(ma.Schema):
    status = ma.fields.Integer(required=True, metadata={"description": "the HTTP status"})
    code = ma.fields.String(required=True, metadata={"description": "a stable machine-readable error code"})
    message = ma.fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    # Not declared as `fields`: that name is the schema's own table of its fields.
    bad_fields = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.String(),
        attribute="fields",
        data_key="fields",
        metadata={"description": "each bad field (dotted path) and what is wrong with it"},
    )
    fields_omitted = ma.fields.Integer(
        metadata={
            "description": f"how many more bad fields there were than the first {MAX_FIELD_ERRORS} named in `fields`"
        }
    )
    case = ma.fields.String(metadata={"description": "the case the error is about"})
    campaign_id = ma.fields.String(
        metadata={
            "description": "the campaign the error is about: stored, and resumable, when its run could not be started"
        }
    )
    action = ma.fields.String()
    stage = ma.fields.String(metadata={"description": "the case's stage when the action was refused"})
    allowed_actions = ma.fields.List(
        ma.fields.String(), metadata={"description": "the actions the caller may take in that stage"}
    )
    roles = ma.fields.List(ma.fields.String(), metadata={"description": "the roles that may do it"})
    expected_version = ma.fields.Integer(allow_none=True)
    current_version = ma.fields.Integer(allow_none=True)
    version = ma.fields.Integer(
        metadata={"description": "broken_chain: the version at which the case's hash chain breaks"}
    )
    existing_case = ma.fields.String(
        allow_none=True,
        metadata={"description": "the open case that refused a duplicate, only when the caller may see it"},
    )
    existing_org_unit = ma.fields.String(
        allow_none=True, metadata={"description": "the union that holds that case, only when the caller may see it"}
    )


class ApiError(Exception):
    """An error raised by the API layer itself (authentication, scope, headers)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"status": status, "code": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="casework"'
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, str]:
    """webargs/marshmallow messages -> {"claims[0].amount": "Not a valid string."}."""
    out: dict[str, str] = {}
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            elif key == "_schema":
                path = prefix or "body"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.update(flatten_messages(value, path))
    elif isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        out[prefix or "body"] = " ".join(messages)
    elif isinstance(messages, list):
        for i, value in enumerate(messages):
            out.update(flatten_messages(value, f"{prefix}[{i}]"))
    else:
        out[prefix or "body"] = str(messages)
    return out


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages is not None:
        fields: dict[str, str] = {}
        for location, problems in messages.items():
            flat = flatten_messages(problems)
            if location in ("json", "form"):
                fields.update(flat)
            else:
                fields.update({f"{location}.{k}" if k != "body" else location: v for k, v in flat.items()})
        named = dict(islice(fields.items(), MAX_FIELD_ERRORS))
        omitted = len(fields) - len(named)
        summary = "; ".join(f"{k}: {v}" for k, v in named.items())
        if omitted:
            summary += f"; and {omitted} more bad fields (the first {MAX_FIELD_ERRORS} are named)"
        return error_response(
            422,
            "invalid_request",
            f"the request has bad fields: {summary}",
            fields=named,
            fields_omitted=omitted or None,
        )
    code = (error.name or "error").lower().replace(" ", "_")
    message = data.get("message") or error.description or error.name
    response = error_response(status, code, str(message))
    for name, value in error.get_headers():  # what the status needs said, e.g. Allow on a 405 (RFC 9110)
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def from_domain_error(error: DomainError, *, if_match: bool = False) -> Response:
    details = {k: v for k, v in error.to_dict().items() if k not in ("code", "message")}
    if isinstance(error, ActionNotAllowed):
        return error_response(
            409,
            error.code,
            str(error),
            case=error.case,
            action=error.action,
            stage=error.stage,
            allowed_actions=error.allowed,
        )
    if isinstance(error, InvalidCommand):
        return error_response(422, error.code, str(error), **details)
    if isinstance(error, (AccountError, CampaignError)):
        return error_response(422, error.code, str(error), fields=error.fields)
    if isinstance(error, CaseIntegrityError):
        # 409: the case's stored state conflicts with every request on it until its events are restored; not a 500
        # (the server did what it should: refuse), not a 503 (waiting does not help).
        return error_response(409, error.code, str(error), **details)
    if isinstance(error, NotFound):
        return error_response(404, "not_found", str(error), current_version=details.get("current_version"))
    if isinstance(error, VersionConflict):
        status = 412 if if_match and error.expected is not None else 409
        return error_response(status, error.code, str(error), **details)
    if isinstance(error, DuplicatePerson):
        user = g.get("user")
        message, seen = error.told_to(user.sees if user is not None else lambda _unit: False)
        return error_response(409, error.code, message, **seen)
    return error_response(409, error.code, str(error))


def from_unexpected(error: Exception) -> Response:
    log.exception("unhandled error: %s", error)
    return error_response(500, "internal_error", "an unexpected error occurred; nothing was changed")
