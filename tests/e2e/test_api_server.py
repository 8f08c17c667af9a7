"""End to end: `casework api` as a real server (granian) on a fresh SQLite data directory. The response headers on
the wire (an empty `Server`, `nosniff`, `no-store`), a client's connection kept open from one request to the next, and
the access log it writes (no query string, so neither a token put in the URL nor a worker's name searched for)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def casework(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def request(port: int, path: str, token: str | None = None) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def serving(env: dict[str, str], port: int, log: Path, workers: int) -> subprocess.Popen[bytes]:
    """`casework api` with `workers` workers on `port`, its output in `log`, once it answers /health."""
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "cli", "api", "--host", HOST, "--port", str(port), "--workers", str(workers)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            assert request(port, "/health").status == 200
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(log.read_text()) from None
            time.sleep(0.2)


def requests_on_one_connection(port: int, token: str, count: int) -> list[int]:
    """The statuses of `count` requests sent one after another on one connection, which the server must keep open
    between them (its threaded workers keep connections alive; sync workers closed each after one response)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    statuses = []
    try:
        for _ in range(count):
            connection.request("GET", "/me", headers={"Authorization": f"Bearer {token}"})
            response = connection.getresponse()
            response.read()
            assert response.getheader("Connection", "").lower() != "close", response.getheaders()
            assert connection.sock is not None  # http.client drops the socket when the server closes it
            statuses.append(response.status)
    finally:
        connection.close()
    return statuses


def test_the_served_api_does_not_announce_itself_and_logs_no_query_string(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CASEWORK_"))}
    env.update({"CASEWORK_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"})
    casework(env, "db", "upgrade")
    casework(env, "orgs", "add", "suzhou", "苏州市总工会", "--level", "city")
    token = (
        casework(env, "users", "add", "u-1", "--name", "张敏", "--role", "supervisor", "--org", "suzhou")
        .strip()
        .splitlines()[-1]
    )
    assert token.startswith("cw_"), token

    port, log = free_port(), tmp_path / "api.log"
    server = serving(env, port, log, workers=1)
    try:
        refused = request(port, f"/me?access_token={token}")
        me = request(port, "/me", token)
        search = request(port, f"/cases?q={quote('王建国')}", token)
        assert (refused.status, me.status, search.status) == (400, 200, 200)
        for response in (refused, me, search):
            assert response.getheader("Server") == "", response.getheaders()  # granian's own name replaced
            assert response.getheader("X-Content-Type-Options") == "nosniff"
            assert response.getheader("Cache-Control") == "no-store"
        assert requests_on_one_connection(port, token, 5) == [200] * 5
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
    text = log.read_text()
    assert '"GET /me HTTP/1.1" 400' in text and '"GET /cases HTTP/1.1" 200' in text, text
    assert token not in text and "access_token" not in text and quote("王建国") not in text and "王建国" not in text


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel stops the workers on Linux (prctl)")
def test_the_workers_of_a_killed_server_stop_and_free_its_port(tmp_path: Path) -> None:
    """A server killed with SIGKILL cannot stop its workers itself: each asked the kernel to stop it with its parent,
    so none is left serving on the port, where a new server could not bind."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CASEWORK_"))}
    env.update({"CASEWORK_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"})
    casework(env, "db", "upgrade")
    port, log = free_port(), tmp_path / "api.log"
    server = serving(env, port, log, workers=2)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len(workers := _children(server.pid)) < 2:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        server.kill()
        server.wait(timeout=10)
        deadline = time.monotonic() + 15
        while any(_alive(w) for w in workers):
            assert time.monotonic() < deadline, f"workers {workers} outlived their server: {log.read_text()}"
            time.sleep(0.1)
        with pytest.raises(OSError):
            request(port, "/health")
    finally:
        if server.poll() is None:
            server.kill()
