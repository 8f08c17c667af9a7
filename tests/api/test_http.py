"""HTTP conformance: nothing personal is cached, nothing is content-sniffed, a token is never taken from the URL,
the access log keeps no query string (search text, a misplaced token), and a command route names its case by
number as well as by id.

tests/e2e/test_api_server.py checks the same against the real server (`casework api`, granian)."""

from __future__ import annotations

import contextlib
import os
import re
from typing import Any

import pytest
from werkzeug.test import EnvironBuilder

from api.server import AccessLog, served
from tests.api.conftest import ApiWorld
from tests.api.support import check_error, collection, command_path, dispute, etag, offer


@pytest.fixture
def case(api: ApiWorld) -> dict[str, Any]:
    response = api["mediator"].post(collection("labor_dispute"), dispute())
    assert response.status_code == 201
    return response.get_json()


def test_every_response_to_a_token_says_no_store_and_every_response_nosniff(
    api: ApiWorld, case: dict[str, Any]
) -> None:
    sup, ref = api["supervisor"], case["number"]
    private = [
        sup.get(f"/cases/{ref}"),
        sup.get(f"/cases/{ref}/history"),
        sup.get(f"/cases/{ref}/as-of?version=1"),
        sup.get(f"/cases/{ref}/dossier.csv"),
        sup.get(f"/cases/{ref}/verification"),
        sup.get("/cases?q=王建国"),
        sup.get("/me"),
        api["admin"].get("/users"),
        sup.get("/reports/statistics"),
        sup.post(command_path("labor_dispute", case["case_id"], "add_note"), {"text": "记录"}),
        sup.get("/cases/LD-2026-000999"),  # errors too: a refusal can name a case or a person
        api.client.get(f"/cases/{ref}"),  # 401
    ]
    for response in private:
        assert response.headers.get("Cache-Control") == "no-store", (response.request.path, response.status_code)
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path
    public = [
        api.client.get("/health"),
        api.client.get("/openapi.json"),
        api.client.get("/docs/"),
        api.client.get("/no-such-route"),
        api.client.get("/docs/swagger-ui.css"),
    ]
    for response in public:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path
    assert "Server" not in private[0].headers


@pytest.mark.parametrize("name", ["access_token", "token", "Access_Token", "api_key"])
def test_a_token_in_the_query_string_is_refused_even_with_a_valid_header(
    api: ApiWorld, case: dict[str, Any], name: str
) -> None:
    sup = api["supervisor"]
    for response in (
        api.client.get(f"/cases/{case['number']}?{name}={sup.token}"),
        sup.get(f"/me?{name}={sup.token}"),
        sup.post(f"{command_path('labor_dispute', case['case_id'], 'add_note')}?{name}={sup.token}", {"text": "x"}),
        api.client.get(f"/health?{name}=x"),
    ):
        body = check_error(response, 400, "token_in_url")
        assert list(body["fields"]) == [f"query.{name}"] and "Authorization header" in body["message"]
        assert sup.token not in response.get_data(as_text=True)
    assert api["supervisor"].get(f"/cases/{case['case_id']}").get_json()["notes"] == []  # the command never ran


def _served(app: Any, path: str, headers: dict[str, str] | None = None) -> tuple[str, list[tuple[str, str]], str]:
    """Status, headers and access-log line of one request to `app` as a worker of `casework api` serves it."""
    read, write = os.pipe()
    seen: list[tuple[str, list[tuple[str, str]]]] = []
    try:
        environ = EnvironBuilder(
            path=path, headers=list((headers or {}).items()), environ_base={"REMOTE_ADDR": "127.0.0.1"}
        ).get_environ()
        body = served(app, AccessLog(write))(environ, lambda status, hs, exc_info=None: seen.append((status, hs)))
        b"".join(body)
        getattr(body, "close", lambda: None)()
        os.close(write)
        with os.fdopen(read, encoding="utf-8") as log:
            line = log.read()
    finally:
        for fd in (read, write):
            with contextlib.suppress(OSError):
                os.close(fd)
    ((status, sent),) = seen
    return status, sent, line


LOG_LINE = re.compile(
    r'\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] 127\.0\.0\.1 - "(\S+ \S+ \S+)" (\d{3}) \d+\.\d{3}\n'
)
"""An access-log line: time, address, request line, status and milliseconds, and nothing else."""


def _logged(line: str) -> tuple[str, ...]:
    match = LOG_LINE.fullmatch(line)
    assert match is not None, line
    return match.groups()


def test_the_access_log_keeps_no_query_string_and_no_credential(api: ApiWorld) -> None:
    secret = api["supervisor"].token
    headers = {"Authorization": f"Bearer {secret}", "Referer": f"http://127.0.0.1:8000/docs/?token={secret}"}
    status, _, line = _served(api.app.wsgi_app, f"/cases?q=王建国&access_token={secret}", headers)
    assert status.startswith("400") and _logged(line) == ("GET /cases HTTP/1.1", "400")
    assert secret not in line and "王建国" not in line and "access_token" not in line and "Bearer" not in line, line
    status, _, line = _served(api.app.wsgi_app, "/cases?q=王建国", headers)
    assert status.startswith("200") and _logged(line) == ("GET /cases HTTP/1.1", "200")


def test_the_served_app_names_no_server(api: ApiWorld) -> None:
    """granian adds `server: granian` to a response that names no server; the served app names none, emptily."""
    status, headers, _ = _served(api.app.wsgi_app, "/health")
    assert status == "200 OK" and ("Server", "") in headers and [n for n, _ in headers].count("Server") == 1


def test_a_streamed_response_is_logged_once_sent_and_a_failed_one_as_500() -> None:
    read, write = os.pipe()
    log, events = AccessLog(write), []

    class Body:
        def __iter__(self) -> Any:
            events.append("sent")
            return iter([b"a", b"b"])

        def close(self) -> None:
            events.append("closed")

    def streaming(environ: dict[str, Any], start_response: Any) -> Body:
        start_response("200 OK", [("Content-Type", "text/csv")])
        return Body()

    def failing(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        raise RuntimeError("boom")

    environ = EnvironBuilder(path="/export", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
    body = served(streaming, log)(environ, lambda *a: None)
    os.set_blocking(read, False)
    with pytest.raises(BlockingIOError):
        os.read(read, 1000)  # nothing logged before the body is sent
    assert b"".join(body) == b"ab"
    body.close()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="boom"):
        served(failing, log)(dict(environ, PATH_INFO="/fails"), lambda *a: None)
    os.close(write)
    lines = os.read(read, 10_000).decode().splitlines(keepends=True)
    os.close(read)
    assert events == ["sent", "closed"]
    assert [_logged(line) for line in lines] == [
        ("GET /export HTTP/1.1", "200"),
        ("GET /fails HTTP/1.1", "500"),
    ]


def test_commands_name_a_case_by_its_number_as_well_as_its_id(api: ApiWorld) -> None:
    """`GET /cases/LD-2026-000001` worked while `POST /disputes/LD-2026-000001/accept` was a 404."""
    med = api["mediator"]
    d = med.post(collection("labor_dispute"), dispute()).get_json()
    key = {"Idempotency-Key": "accept-by-number", "If-Match": etag(1)}
    accepted = med.post(command_path("labor_dispute", d["number"], "accept"), {}, headers=key)
    assert accepted.status_code == 200, accepted.get_json()
    assert accepted.get_json()["case_id"] == d["case_id"] and accepted.get_json()["stage"] == "accepted"
    assert accepted.headers["ETag"] == etag(2)
    by_id = med.post(command_path("labor_dispute", d["case_id"], "accept"), {}, headers=key)  # the same command
    assert by_id.status_code == 200 and by_id.headers["Idempotent-Replayed"] == "true"
    noted = med.post(command_path("labor_dispute", d["number"], "add_note"), {"text": "按编号记录"})
    assert noted.get_json()["version"] == 3 and noted.get_json()["notes"][0]["text"] == "按编号记录"

    n = api["negotiator"].post(collection("wage_negotiation"), offer()).get_json()
    refused = api["negotiator"].post(command_path("wage_negotiation", n["number"], "refuse_offer"), {"reason": "拒绝"})
    assert refused.status_code == 200 and refused.get_json()["case_id"] == n["case_id"]


def test_a_request_is_answered_when_its_access_log_line_cannot_be_written(api: ApiWorld) -> None:
    read, write = os.pipe()
    os.close(read)  # nobody reads the log: writing it fails (a broken pipe)
    try:
        environ = EnvironBuilder(path="/health", environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()
        seen: list[str] = []
        body = served(api.app.wsgi_app, AccessLog(write))(environ, lambda status, *_: seen.append(status))
        assert b"".join(body) == b'{"status":"ok"}\n' and seen == ["200 OK"]
        getattr(body, "close", lambda: None)()
    finally:
        os.close(write)
