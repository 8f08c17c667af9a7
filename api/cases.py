"""Cases: open one of each type, run every command of its stage table, read and search.

Routes are generated from the stage tables: `POST /disputes` runs LaborDispute's opening action,
`POST /disputes/{case_id}/start-mediation` its `start_mediation`, and so on for every action of
every case type, each with the request schema built from the action's parameters.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import date
from typing import Any
from uuid import UUID

import marshmallow as ma
from flask import Response, request
from flask.views import MethodView

from aggregates.base import Case
from api.auth import casework, current_user, require_scope
from api.case_views import CASE_SCHEMAS, AnyCaseSchema, NotePageSchema
from api.command_schemas import command_schema
from api.errors import ApiError
from api.parsing import Blueprint
from api.schemas import CaseExportQuerySchema, CasePageSchema, CaseQuerySchema, PageQuerySchema, page_of
from engine.accounts import User
from engine.case_exports import COLUMNS, MAX_EXPORT_ROWS, case_rows, cases_csv, cases_xlsx
from engine.errors import CaseIntegrityError, CaseNotFound, TooManyCases
from engine.lookup import IndexedCase
from engine.queries import CaseFilter, search_cases
from engine.registry import CASE_TYPES
from engine.service import Actor, CommandResult
from engine.spreadsheet import XLSX_TYPE
from engine.views import case_view, notes_page

blp = Blueprint("cases", __name__, description="Open cases, run their commands, read and search them.")

COLLECTIONS = {
    "labor_dispute": "disputes",
    "wage_negotiation": "negotiations",
    "rectification_proposal": "rectifications",
    "hardship": "hardship-cases",
}
MAX_KEY = 120
IF_MATCH = re.compile(r'\s*(?:\*|(?:W/)?"([0-9]{1,9})"|([0-9]{1,9}))\s*')
"""A case's ETag as If-Match takes it: `"4"`, `4`, `W/"4"` or `*` (any version); quotes come in pairs."""
COMMAND_HEADERS = {
    "Idempotency-Key": {
        "description": "a client-chosen key (at most 120 characters); a repeat returns the first "
        "response and changes nothing",
        "schema": {"type": "string", "maxLength": 120},
    },
    "If-Match": {
        "description": "the case's ETag (its version) as last read; a stale one gets 412",
        "schema": {"type": "string", "pattern": f"^{IF_MATCH.pattern}$"},
    },
}
ETAG = {"ETag": {"description": "the case's version", "schema": {"type": "string"}}}
CASE_REF = "the case id or number (LD-2026-000123)"


def today() -> date:
    cw = casework()
    return cw.clock.now().astimezone(cw.settings.tz).date()


def actor(user: User) -> Actor:
    return Actor(user.user_id, user.role)


def case_view_for(case: Case, user: User) -> dict[str, Any]:
    """The case as `user` sees it now, with exactly the actions the engine would accept from them now."""
    cw = casework()
    return case_view(case, user.role, today(), cw.settings.tz, actor_id=user.user_id, policy=cw.settings.policy)


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version() -> int | None:
    """The version named by If-Match (`"4"`, `4` or `W/"4"`); None when absent or `*`."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    match = IF_MATCH.fullmatch(header)
    if match is None:
        raise ApiError(
            400, "bad_request", 'If-Match must be the case\'s ETag, e.g. "4"', fields={"If-Match": "not a case version"}
        )
    version = match.group(1) or match.group(2)
    return None if version is None else int(version)


def command_id(user: User) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise ApiError(
            400,
            "bad_request",
            f"Idempotency-Key must be 1 to {MAX_KEY} printable characters",
            fields={"Idempotency-Key": "invalid"},
        )
    return f"{user.user_id}:{key}"


def request_fingerprint(action: str) -> str | None:
    """A digest of the command as sent (method, action and the body as canonical JSON), kept with its
    Idempotency-Key: a retry must be the same request, and a different one under a used key is refused
    rather than answered with the first one's response. None without a key (nothing is replayed then)."""
    if request.headers.get("Idempotency-Key") is None:
        return None
    body = request.get_json(silent=True)  # the parser has refused anything but JSON by now
    canonical = json.dumps(
        {"method": request.method, "action": action, "body": {} if body is None else body},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def respond(
    result: CommandResult,
    user: User,
    status: int,
    action: str,
    case_id: UUID | None = None,
    fingerprint: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    """The case as the command left it; a replay only for the same request (action, case and body) as the
    first one under its Idempotency-Key, else a 422. A command recorded before fingerprints were kept
    replays on action and case alone."""
    other_body = None not in (result.fingerprint, fingerprint) and result.fingerprint != fingerprint
    if result.replayed and (result.action != action or case_id not in (None, result.case_id) or other_body):
        raise ApiError(
            422,
            "idempotency_key_reused",
            f"this Idempotency-Key was already used for another request ('{result.action}' on "
            f"{result.number}{' with another body' if other_body else ''}); send a new key with a new "
            "request",
            fields={"Idempotency-Key": "already used for another request"},
        )
    case = result.case or casework().get(result.case_id, version=result.version)
    headers = {"ETag": etag(case.version)}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return case_view_for(case, user), status, headers


def visible_case(user: User, ref: UUID | str, kind: str | None = None) -> IndexedCase:
    """The case `ref` (an id or a number) names, if the caller may see it; 404 otherwise (a case in another unit
    does not exist)."""
    found = casework().find(ref)
    if found is None or (kind is not None and found.kind != kind) or not user.sees(found.org_unit):
        raise ApiError(404, "not_found", f"no case {ref}")
    return found


def readable_case(user: User, ref: str) -> Case:
    """The case `ref` names, loaded, if the caller may see it; 404 otherwise, as `visible_case` answers. Loaded
    before its unit is checked (the case knows its unit), so a read costs one look-up in the case index, not two;
    a broken case is 409 only for a caller who may see it, as when the unit was checked first."""
    cw = casework()
    try:
        case = cw.get(ref)
    except CaseNotFound:
        raise ApiError(404, "not_found", f"no case {ref}") from None
    except CaseIntegrityError:
        visible_case(user, ref)
        raise
    if not user.sees(case.org_unit):
        raise ApiError(404, "not_found", f"no case {ref}")
    return case


def check_role(user: User, kind: str, action: str) -> None:
    a = CASE_TYPES[kind].TABLE.actions[action]
    if user.role not in a.roles:
        raise ApiError(
            403,
            "forbidden",
            f"role '{user.role}' may not run '{action}' on a {kind} case",
            action=action,
            roles=sorted(a.roles),
        )


GUARDS: dict[str, Callable[[User, dict[str, Any]], None]] = {}
"""Endpoint -> the check of who may run its command (on which case), made before the body is read."""


@blp.before_request
def _guard() -> None:
    """As in the engine, who may run a command is settled before what they sent is looked at: a case the
    caller may not see is 404 and a role the action does not admit is 403, never a 422 about the body.
    A check may resolve the view's arguments (a case number to its id) for the view to use."""
    check = GUARDS.get(request.endpoint or "")
    if check is not None:
        check(current_user(), request.view_args or {})


def split_common(data: dict[str, Any]) -> dict[str, Any]:
    return {"occurred_at": data.pop("occurred_at", None), "reason": data.pop("reason", None)}


def body_required(schema: type[ma.Schema]) -> bool:
    """Whether the document marks the request body required: a command whose fields are all optional
    (`POST /disputes/{case_id}/accept`) is accepted without a body, so its document must not demand one."""
    return any(field.required for field in schema().fields.values())


def _register_open(kind: str) -> None:
    cls = CASE_TYPES[kind]
    a = cls.TABLE.creating
    collection = COLLECTIONS[kind]

    @blp.arguments(command_schema(kind, a.name), required=body_required(command_schema(kind, a.name)))
    @blp.response(201, CASE_SCHEMAS[kind], headers=ETAG)
    @blp.doc(
        summary=f"Open a {kind.replace('_', ' ')} case ({a.name})",
        description=a.help,
        parameters=[
            {"in": "header", "name": n, **spec} for n, spec in COMMAND_HEADERS.items() if n == "Idempotency-Key"
        ],
    )
    def open_case(data: dict[str, Any]) -> Any:
        user = current_user()
        org_unit = require_scope(user, data.pop("org_unit", None) or user.org_unit)
        common = split_common(data)
        fingerprint = request_fingerprint(a.name)
        result = casework().open_case(
            kind,
            actor(user),
            command_id=command_id(user),
            org_unit=org_unit,
            assignee=data.pop("assignee", None),
            fingerprint=fingerprint,
            **common,
            **data,
        )
        return respond(result, user, 201, a.name, fingerprint=fingerprint)

    blp.add_url_rule(f"/{collection}", endpoint=f"open_{kind}", view_func=open_case, methods=["POST"])
    GUARDS[f"{blp.name}.open_{kind}"] = lambda user, _: check_role(user, kind, a.name)


def _register_command(kind: str, action: str) -> None:
    cls: type[Case] = CASE_TYPES[kind]
    a = cls.TABLE.actions[action]
    collection = COLLECTIONS[kind]
    stages = ", ".join(a.sources) if a.sources != ("*",) else "any open stage"
    description = f"{a.help}\n\nStages: {stages}. Roles: {', '.join(sorted(a.roles))}." + (
        " A reason is required." if a.reason_required else ""
    )

    @blp.arguments(command_schema(kind, action), required=body_required(command_schema(kind, action)))
    @blp.response(200, CASE_SCHEMAS[kind], headers=ETAG)
    @blp.doc(
        summary=f"{action.replace('_', ' ').capitalize()} ({kind.replace('_', ' ')})",
        description=description,
        parameters=[{"in": "header", "name": n, **spec} for n, spec in COMMAND_HEADERS.items()],
    )
    def run(data: dict[str, Any], case_id: UUID) -> Any:  # the id, even when the path names the case's number
        user = current_user()
        if action == "link_case":
            other = casework().find(data["case"])
            if other is None or not user.sees(other.org_unit):
                raise ApiError(422, "invalid_request", f"no case {data['case']}", fields={"case": "no such case"})
        common = split_common(data)
        fingerprint = request_fingerprint(action)
        result = casework().execute(
            case_id,
            action,
            actor(user),
            command_id=command_id(user),
            expected_version=expected_version(),
            fingerprint=fingerprint,
            **common,
            **data,
        )
        return respond(result, user, 200, action, case_id, fingerprint)

    path = f"/{collection}/<string:case_id>/{action.replace('_', '-')}"
    blp.add_url_rule(
        path,
        endpoint=f"{kind}_{action}",
        view_func=run,
        methods=["POST"],
        parameters=[{"in": "path", "name": "case_id", "description": CASE_REF}],
    )

    def guard(user: User, args: dict[str, Any]) -> None:
        args["case_id"] = visible_case(user, args["case_id"], kind).case_id  # a number names it as its id does
        check_role(user, kind, action)

    GUARDS[f"{blp.name}.{kind}_{action}"] = guard


for _kind, _cls in CASE_TYPES.items():
    _register_open(_kind)
    for _action, _a in _cls.TABLE.commands.items():
        if not _a.creates:
            _register_command(_kind, _action)


def case_filter(user: User, args: dict[str, Any]) -> CaseFilter:
    """The search GET /cases and its exports run: the query's filters within the caller's unit and below."""
    org_unit = args.get("org_unit")
    if org_unit:
        require_scope(user, org_unit, must_exist=False)
    return CaseFilter(
        scope=user.org_unit,
        kind=args.get("kind"),
        stage=args.get("stage"),
        org_unit=org_unit,
        assignee=args.get("assignee"),
        is_open=args.get("is_open"),
        flags=tuple(args.get("flag") or ()),
        text=args.get("q") or None,
        overdue_on=today() if args.get("overdue") else None,
        due_before=args.get("due_before"),
    )


@blp.route("/cases")
class CaseList(MethodView):
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    @blp.doc(summary="Search cases in your unit and below")
    def get(self, args: dict[str, Any]) -> Any:
        """Filter by type, stage, org unit (and below), assignee, overdue or due-before, flags and free text."""
        f = case_filter(current_user(), args)
        page, per_page = args["page"], args["per_page"]
        rows, total = search_cases(casework(), f, sort=args["sort"], page=page, per_page=per_page)
        return page_of(rows, page, per_page, total)


EXPORT_TOO_LARGE = f"more than {MAX_EXPORT_ROWS} cases match (422 `too_many_cases`, with `total` and `limit`)"


def _exported_rows(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Every case the search matches, or a 422 naming how many match and the most an export holds."""
    try:
        return case_rows(casework(), case_filter(current_user(), args), sort=args["sort"])
    except TooManyCases as too_many:
        raise ApiError(
            422,
            too_many.code,
            str(too_many),
            total=too_many.total,
            limit=too_many.limit,
        ) from None


def _attachment(content: bytes, mimetype: str, filename: str) -> Response:
    return Response(content, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@blp.route("/cases/export.xlsx")
class CaseExportXlsx(MethodView):
    @blp.arguments(CaseExportQuerySchema, location="query")
    @blp.response(200, {"type": "string", "format": "binary"}, content_type=XLSX_TYPE)
    @blp.doc(
        summary="Every case the search matches, as an Excel workbook",
        description="The filters and sort of GET /cases, without pages: one row per case, columns in Chinese "
        f"({', '.join(heading for heading, _ in COLUMNS)}). At most {MAX_EXPORT_ROWS} cases; {EXPORT_TOO_LARGE}.",
    )
    def get(self, args: dict[str, Any]) -> Any:
        return _attachment(cases_xlsx(_exported_rows(args)), XLSX_TYPE, "cases.xlsx")


@blp.route("/cases/export.csv")
class CaseExportCsv(MethodView):
    @blp.arguments(CaseExportQuerySchema, location="query")
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    @blp.doc(
        summary="Every case the search matches, as CSV",
        description="The columns of /cases/export.xlsx in UTF-8 with a byte-order mark; a text cell that begins "
        f"with =, +, -, @, a tab or a carriage return gets a leading '. At most {MAX_EXPORT_ROWS} cases; "
        f"{EXPORT_TOO_LARGE}.",
    )
    def get(self, args: dict[str, Any]) -> Any:
        return _attachment(cases_csv(_exported_rows(args)), "text/csv", "cases.csv")


@blp.route("/cases/<string:ref>", parameters=[{"in": "path", "name": "ref", "description": CASE_REF}])
class CaseDetail(MethodView):
    @blp.response(200, AnyCaseSchema, headers=ETAG)
    @blp.doc(summary="A case: its state, clocks, links and the actions you may take now")
    def get(self, ref: str) -> Any:
        user = current_user()
        case = readable_case(user, ref)
        return case_view_for(case, user), 200, {"ETag": etag(case.version)}


@blp.route("/cases/<string:ref>/notes", parameters=[{"in": "path", "name": "ref", "description": CASE_REF}])
class CaseNotes(MethodView):
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, NotePageSchema, headers=ETAG)
    @blp.doc(
        summary="A case's notes, oldest first, a page at a time",
        description="The case view holds only the latest notes (`notes`) and how many there are (`notes_total`); "
        "this pages through every one. The ETag is the case's version, as on GET /cases/{ref}.",
    )
    def get(self, args: dict[str, Any], ref: str) -> Any:
        case = readable_case(current_user(), ref)
        page, per_page = args["page"], args["per_page"]
        items, total = notes_page(case, page, per_page, casework().settings.tz)
        return page_of(items, page, per_page, total), 200, {"ETag": etag(case.version)}
