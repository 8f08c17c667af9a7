"""granian, run in-process: one Flask app (and one Casework service) per worker process, several threads each.

granian parses HTTP and keeps connections in Rust and calls the app on a pool of threads per worker. Measured side by
side against gunicorn's threaded workers on one database, a request that does nothing (GET /health) took a third to a
half less (0.31-0.51 against 0.63-0.75 ms) and eight clients read 35-65% more cases a second."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ACCESS_LOG_FORMAT = '[%(time)s] %(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f\n'
"""One line per request: time, client address, method, path, protocol, status and milliseconds. The path is logged
without its query string, which may carry what the log must not keep: search text (`/cases?q=<a worker's name>`)
or a token a client put in the URL by mistake (refused, but still requested); no header is logged either."""

LOG_TIME_FORMAT = "%Y-%m-%d %H:%M:%S %z"

KEEPALIVE_LIMIT_S = 60
"""The longest an idle client connection may be kept open (granian's header read timeout, which is also its idle
keep-alive timeout, is at most a minute)."""

GRACEFUL_S = 10
"""Seconds a worker has to finish the requests it is serving once asked to stop, before it is killed."""

_PR_SET_PDEATHSIG = 1


class AccessLog:
    """Writes the access log, one ACCESS_LOG_FORMAT line per request, to a file descriptor (the worker's standard
    output). Written here rather than by granian's logger, which formats the time and builds a log record for every
    request: 20-45 microseconds a line in a loop against 1.5 here, and in a worker 0.13 ms of CPU a request."""

    def __init__(self, fd: int = 1) -> None:
        self.fd = fd
        self._second = -1
        self._time = ""

    def write(self, environ: dict[str, Any], started: float, status: int, elapsed_s: float) -> None:
        second = int(started)
        if second != self._second:  # the time is formatted once a second (threads may both do it; both agree)
            self._time, self._second = time.strftime(LOG_TIME_FORMAT, time.localtime(second)), second
        line = ACCESS_LOG_FORMAT % {
            "time": self._time,
            "addr": environ.get("REMOTE_ADDR", "-"),
            "method": environ.get("REQUEST_METHOD", "-"),
            "path": environ.get("PATH_INFO", ""),
            "protocol": environ.get("SERVER_PROTOCOL", "-"),
            "status": status,
            "dt_ms": elapsed_s * 1000,
        }
        data = line.encode("utf-8", "replace")
        try:
            while data:  # one write a line, as a rule: lines of several threads do not mix
                data = data[os.write(self.fd, data) :]
        except OSError:
            pass  # a log that cannot be written (a closed pipe, a full disk) loses its line, never the response


def served(app: WsgiApp, log: AccessLog | None = None) -> WsgiApp:
    """`app` as a worker serves it: answering with an empty `Server` header (granian names itself in every response
    unless the app names something, and the API does not tell a scanner what serves it), and each request written
    to `log` once its response has been handed over (a streamed one once it has been sent)."""

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started, clock = time.time(), time.perf_counter()
        status = 500

        def start(code: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal status
            status = int(code[:3])
            return start_response(code, [*headers, ("Server", "")], exc_info)

        def logged() -> None:
            if log is not None:
                log.write(environ, started, status, time.perf_counter() - clock)

        try:
            body = app(environ, start)
        except BaseException:
            logged()
            raise
        if isinstance(body, list):
            logged()
            return body
        return _Closing(body, logged)

    return wrapped


class _Closing:
    """A response body that runs `then` when the server closes it, after the body's own close (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], then: Callable[[], None]) -> None:
        self.body, self.then = body, then

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.then()


SERVER_PID = "CASEWORK_API_SERVER_PID"
"""The environment variable that tells each worker which process started it."""


def exit_with_parent() -> None:
    """Ask the kernel to stop this worker when the server that started it dies: a server killed with SIGKILL leaves
    no worker behind still serving on its port (Linux; elsewhere nothing is asked). A worker whose server died
    before it asked (while it was starting) stops at once."""
    server = os.environ.get(SERVER_PID)
    if not sys.platform.startswith("linux") or not server:
        return
    # Until granian sets its own, SIGTERM would reach the handler the worker inherited from its server, which stops
    # nothing in the worker: a worker still starting when the server dies must simply end.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != int(server):
        os.kill(os.getpid(), signal.SIGTERM)


def serve(host: str, port: int, workers: int, target: str, *, threads: int, keepalive: int) -> None:
    """Serve the app that the factory `target` ("module:function") makes until interrupted (SIGINT or SIGTERM: each
    worker finishes what it serves, for at most GRACEFUL_S seconds). Each worker calls the factory itself, after
    it started, so workers share no connection; a worker that dies is started again.

    Each worker serves `threads` requests at once with its one app and service, and keeps a client's connection
    open for `keepalive` seconds between requests (0: closed after each response), so a client that sends many
    requests connects once."""
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    os.environ[SERVER_PID] = str(os.getpid())  # the workers' parent: they are started from this process
    idle_ms = min(max(keepalive, 1), KEEPALIVE_LIMIT_S) * 1000
    http1 = HTTP1Settings(keep_alive=keepalive > 0, header_read_timeout=idle_ms)
    Server(
        target,
        factory=True,
        interface=Interfaces.WSGI,
        address=host,
        port=port,
        workers=workers,
        blocking_threads=threads,
        http=HTTPModes.http1,
        http1_settings=http1,
        websockets=False,
        log_access=False,  # the app writes it (`served`)
        respawn_failed_workers=True,
        workers_kill_timeout=GRACEFUL_S,
    ).serve()
