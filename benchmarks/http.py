"""HTTP API latency and throughput: the app as `casework api` serves it next to the same engine calls in-process.

PRODUCT The API as `casework api` serves it, started as a separate process:
        `python -m cli api --host 127.0.0.1 --port P --workers W [--threads T]` (granian's workers,
        T threads each, `casework api`'s default unless --threads is given; one Flask app and one Casework per
        worker, access log on) on a free local port, on the run's own database. Clients are threads in this
        process, each with its own http.client connection, kept alive by the server between requests (the
        connects are counted; a reconnect is timed with its request). A request is timed from sending it to
        reading the last byte.
          command  POST /disputes/<id>/add-note {"text": ...}, a fresh Idempotency-Key each, as a mediator
          read     GET /cases/<id>
ANCHOR  The same work in-process on the same database through one Casework (thread-safe, one per process):
          command  Casework.execute(case_id, "add_note", Actor(mediator), command_id=..., text=...)
          read     engine.views.case_view(cw.get(case_id), "mediator", today, tz)
        What HTTP adds on top: request parsing and schema validation, the bearer-token check (one SELECT of
        the record of account changes once the token is cached), the case's org-unit check (one SELECT), in
        one read transaction with a GET's own reads (a command writes in its own), the case view rendered as
        JSON (also after a command) and the access-log line.
FLOOR   GET /health on the same server, 1 caller, in every round: a request that reaches Flask but no token,
        no database and no schema. Its p50 is what the HTTP stack alone costs; the report shows each operation's
        HTTP p50 less this floor as a multiple of the in-process p50, i.e. what the API's own work adds.
        A second floor, in every round too: the same server (api.server.serve, same settings, access log on)
        serving benchmarks/bare_wsgi.py:app, a WSGI function that answers at once: TCP, granian and the client
        without Flask.
ENGINE  A third floor, with 1 and --clients callers like the two sides: the same server serving
        benchmarks/bare_wsgi.py:engine, a WSGI function (one Casework per worker, as the API's) that makes
        exactly the anchor's engine call for the same paths and answers with a fixed body: no Flask, token,
        org-unit check, schema or JSON view. Its p50 and throughput over the anchor's are the best any HTTP
        layer over this engine could reach on this server and machine; the API's over it are what the API adds.
WSGI    A diagnostic between the two, 1 caller only (--no-wsgi skips it): the same Flask app built over this
        process's Casework and called through its test client. Its gap to the anchor is the app layer; the
        HTTP row's gap to it is the server, TCP and the second process.
INSIDE  Every HTTP request's time inside its worker, read from the server's access log (the app's time, from
        granian handing it the request to taking its response): what is left of the HTTP time is TCP,
        granian's parsing and sending, and the client; beside the WSGI row it shows what the same app costs
        in a served worker rather than in a loop in this process.

Both sides run with 1 caller and with --clients concurrent callers (threads; default 8). Ratios compare
runs with the same number of callers: p50 HTTP / p50 in-process (target <= 1.5) and ops/s HTTP / ops/s
in-process. The 1-caller pair is the bare per-request overhead; at 8 callers the HTTP latency includes
waiting for one of the W x T worker threads (the threads of one worker share its GIL), the in-process one
waiting for the GIL and the database's write lock.

Reading the multi-caller rows: with more clients than worker threads a request also waits in the listen
queue; the in-process threads share one GIL. On SQLite every command takes the single write lock (its writers
queue on the lock file beside the database, engine/writer_lock.py), so concurrent writers, threads or workers
alike, wait for one another: there the throughput ratio says more than the p50 ratio.

Cases: every (side, callers) command run has its own pool of --cases pre-opened labor disputes and
writes round-robin over it, so each run sees aggregates of the same sizes and none grows large; reads go
round-robin over one more pool whose cases hold --read-notes notes. The runs alternate in --rounds rounds
so that drifting background load affects both sides alike. CPU is read from /proc during each run: this
process (the client threads, or the in-process engine), the server's main process and its workers, and the whole
machine (also for a second before the rounds, while the benchmark is idle, to show other load); the client
must not be the bottleneck, and the summary says how much of the machine it used. With --cipher the events
are encrypted on both sides. These are measurements, not assertions.

    .venv/bin/python -m benchmarks.http                    # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.http --no-postgres -n 400 --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.commands import dispute
from benchmarks.common import (
    REPO_ROOT,
    Backend,
    LatencyStats,
    add_database_arguments,
    console,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    new_cipher_key,
    open_engine,
    plain,
    print_table,
    ratio,
    reachable_backends,
)

HOST = "127.0.0.1"
USER_ID = "bench-mediator"
ROLE = "mediator"
NOTE_TEXT = "电话回访申请人，核实工资拖欠月份与金额；用人单位表示下周提供台账。"
NOTE_BODY = json.dumps({"text": NOTE_TEXT}, ensure_ascii=False).encode("utf-8")
ORGS = [("suzhou", "苏州市总工会"), *((f"suzhou.district{d}", f"苏州市第{d}区总工会") for d in range(7))]
OPS = ("add_note", "read")
TICK = os.sysconf("SC_CLK_TCK")
ACCESS_MS = re.compile(r'"(\S+ \S+) [^"]*" \d{3} (\d+\.\d+)$', re.MULTILINE)
"""Method and path, and the app's milliseconds, of an access-log line (api.server.ACCESS_LOG_FORMAT)."""
LOGGED_AS = {"add_note": "POST /disputes/", "read": "GET /cases/"}
SERVED = ("engine", "http")
"""The sides whose calls go to a server: the engine floor (benchmarks/bare_wsgi.py:engine) and the API."""


# -- CPU accounting from /proc ------------------------------------------------------------------------


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent not idle (all cores), from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as f:
        values = [int(v) for v in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / TICK


def own_cpu_s() -> float:
    """CPU seconds of this process, all threads."""
    t = os.times()
    return t.user + t.system


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:  # kernels without /proc/.../children: scan for the parent id
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                    found.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return found


def tree_cpu_s(pid: int) -> float:
    """CPU seconds of a process and its live children (the server's main process and its workers)."""
    total = 0.0
    for p in (pid, *child_pids(pid)):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


@dataclass(frozen=True)
class CpuMark:
    wall: float
    own: float
    server: float
    busy: float

    @classmethod
    def now(cls, server_pid: int | None) -> CpuMark:
        return cls(time.perf_counter(), own_cpu_s(), tree_cpu_s(server_pid) if server_pid else 0.0, machine_busy_s())


# -- one run: n operations spread over a number of concurrent callers ------------------------------


@dataclass
class RunResult:
    """Every round of one (operation, side, callers) run, pooled."""

    samples: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    own_cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    busy_s: float = 0.0
    errors: int = 0
    first_error: str | None = None
    connects: int = 0
    response_bytes: int = 0
    in_worker_s: list[float] = field(default_factory=list)
    """HTTP runs: each request's time inside its worker, from granian's access log (the app's time, response handed
    back included): what is left of the HTTP time is TCP, granian's parsing and sending, and the client."""

    @property
    def stats(self) -> LatencyStats:
        return LatencyStats.of(self.samples)

    @property
    def in_worker_p50_ms(self) -> float:
        return LatencyStats.of(self.in_worker_s).p50_ms if self.in_worker_s else float("nan")

    @property
    def ops_per_s(self) -> float:
        return len(self.samples) / self.wall_s if self.wall_s else float("nan")

    def per_op_ms(self, cpu_s: float) -> float:
        return cpu_s / len(self.samples) * 1e3 if self.samples else float("nan")

    def core_pct(self, cpu_s: float) -> float:
        """CPU as a percentage of one core over the run's wall time."""
        return cpu_s / self.wall_s * 100 if self.wall_s else float("nan")

    @property
    def machine_pct(self) -> float:
        """Machine busy time as a percentage of all cores."""
        return self.busy_s / (self.wall_s * (os.cpu_count() or 1)) * 100 if self.wall_s else float("nan")


class Caller:
    """One caller's operation: `call(i)` does operation i and returns the bytes it received."""

    connects = 0

    def call(self, i: int) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


def run_concurrent(callers: list[Caller], n: int, start: int, result: RunResult, server_pid: int | None) -> None:
    """Operations start..start+n-1 pulled from one counter by one thread per caller, each timed on its own;
    the run's wall time and CPU go from the moment all threads are released to the last one finishing."""
    counter = itertools.count(start)  # next() on it is atomic under the GIL
    stop = start + n
    halt = threading.Event()  # set when the run is interrupted, so no caller outlives it
    barrier = threading.Barrier(len(callers) + 1)
    timings: list[list[float]] = [[] for _ in callers]
    received = [0] * len(callers)
    errors: list[str] = []

    def work(k: int) -> None:
        caller, mine = callers[k], timings[k]
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        for i in counter:
            if i >= stop or halt.is_set():
                break
            t0 = time.perf_counter()
            try:
                received[k] += caller.call(i)
            except Exception as e:
                errors.append(f"{type(e).__name__}: {e}")
                continue
            mine.append(time.perf_counter() - t0)

    connects_before = sum(c.connects for c in callers)
    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(len(callers))]
    try:
        for t in threads:
            t.start()
        barrier.wait()
        before = CpuMark.now(server_pid)
        for t in threads:
            t.join()
        after = CpuMark.now(server_pid)
    except BaseException:  # Ctrl-C, SIGTERM: let the callers finish their operation before anything is torn down
        halt.set()
        barrier.abort()
        for t in threads:
            if t.ident is not None:
                t.join(timeout=60)
        raise
    for mine in timings:
        result.samples.extend(mine)
    result.wall_s += after.wall - before.wall
    result.own_cpu_s += after.own - before.own
    result.server_cpu_s += after.server - before.server
    result.busy_s += after.busy - before.busy
    result.errors += len(errors)
    result.first_error = result.first_error or (errors[0] if errors else None)
    result.connects += sum(c.connects for c in callers) - connects_before
    result.response_bytes += sum(received)


# -- the two sides ------------------------------------------------------------------------------------


def engine_call(cw: Any, op: str, actor: Any, case_id: Any) -> None:
    """The anchor's engine call: what the API makes for `op` on `case_id`, without anything the API adds."""
    from engine.views import case_view

    if op == "add_note":
        cw.execute(case_id, "add_note", actor, command_id=f"{USER_ID}:{uuid.uuid4().hex}", text=NOTE_TEXT)
    else:
        tz = cw.settings.tz
        case_view(cw.get(case_id), ROLE, cw.clock.now().astimezone(tz).date(), tz)


class InProcessCaller(Caller):
    """The anchor: the engine call the API makes, on this process's Casework."""

    def __init__(self, cw: Any, op: str, cases: list[Any]) -> None:
        from engine.service import Actor

        self.cw, self.op, self.cases = cw, op, cases
        self.actor = Actor(USER_ID, ROLE)

    def call(self, i: int) -> int:
        engine_call(self.cw, self.op, self.actor, self.cases[i % len(self.cases)])
        return 0


class WsgiCaller(Caller):
    """A diagnostic between the two: the same Flask app called through its test client in this process, so
    the app layer (auth, schemas, JSON) is paid but not the server, TCP or a second process."""

    def __init__(self, app: Any, token: str, op: str, cases: list[Any]) -> None:
        self.client = app.test_client()
        self.op, self.cases = op, [str(c) for c in cases]
        self.auth = f"Bearer {token}"

    def call(self, i: int) -> int:
        case_id = self.cases[i % len(self.cases)]
        if self.op == "add_note":
            response = self.client.post(
                f"/disputes/{case_id}/add-note",
                data=NOTE_BODY,
                headers={
                    "Authorization": self.auth,
                    "Content-Type": "application/json",
                    "Idempotency-Key": uuid.uuid4().hex,
                },
            )
        else:
            response = self.client.get(f"/cases/{case_id}", headers={"Authorization": self.auth})
        body = response.get_data()
        if response.status_code != 200:
            raise HttpError(f"{response.status_code}: {body[:300].decode('utf-8', 'replace')}")
        return len(body)


class CountingConnection(http.client.HTTPConnection):
    """An HTTP/1.1 connection that counts how often it had to (re)connect."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connects = 0

    def connect(self) -> None:
        self.connects += 1
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class HttpError(RuntimeError):
    pass


class HttpCaller(Caller):
    """The product: one keep-alive-capable connection per caller thread (http.client reconnects by itself
    when the server closes after a response)."""

    def __init__(self, port: int, token: str, op: str, cases: list[Any]) -> None:
        self.conn = CountingConnection(HOST, port, timeout=60)
        self.op, self.cases = op, [str(c) for c in cases]
        self.auth = f"Bearer {token}"

    @property
    def connects(self) -> int:  # type: ignore[override]
        return self.conn.connects

    def call(self, i: int) -> int:
        case_id = self.cases[i % len(self.cases)]
        try:
            if self.op == "add_note":
                self.conn.request(
                    "POST",
                    f"/disputes/{case_id}/add-note",
                    body=NOTE_BODY,
                    headers={
                        "Authorization": self.auth,
                        "Content-Type": "application/json",
                        "Idempotency-Key": uuid.uuid4().hex,
                    },
                )
            elif self.op == "health":
                self.conn.request("GET", "/health")
            else:
                self.conn.request("GET", f"/cases/{case_id}", headers={"Authorization": self.auth})
            response = self.conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            raise
        if response.status != 200:
            raise HttpError(f"{response.status}: {body[:300].decode('utf-8', 'replace')}")
        return len(body)

    def close(self) -> None:
        self.conn.close()


# -- the API server process ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_env(backend: Backend, cipher_key: str | None) -> dict[str, str]:
    """The environment minus any CASEWORK_* setting of the caller's, plus the run's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORK_")}
    env.update(CASEWORK_DATA_DIR=str(backend.workdir), CASEWORK_DATABASE_URL=backend.url, PYTHONUNBUFFERED="1")
    if cipher_key:
        env["CASEWORK_CIPHER_KEY"] = cipher_key
    return env


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _get_health(port: int) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


@dataclass
class ApiServer:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(
                f"the API server died (exit code {self.proc.returncode}); its log ends:\n{_log_tail(self.log_path)}"
            )

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def in_worker_ms(self, op: str, since: int, expected: int, wait_s: float = 2.0) -> list[float]:
        """The app's milliseconds of each `op` request the access log shows after byte `since`, once `expected` of
        them are there (a worker writes its line just after the response is sent) or after `wait_s` seconds."""
        deadline = time.monotonic() + wait_s
        while True:
            with open(self.log_path, "rb") as log:
                log.seek(since)
                lines = ACCESS_MS.findall(log.read().decode("utf-8", "replace"))
            found = [float(ms) for request, ms in lines if request.startswith(LOGGED_AS[op])]
            if len(found) >= expected or time.monotonic() > deadline:
                return found
            time.sleep(0.02)


@contextmanager
def api_server(
    backend: Backend,
    workers: int,
    cipher_key: str | None,
    threads: int | None = None,
    startup_timeout: float = 90.0,
    floor: str | None = None,
) -> Iterator[ApiServer]:
    """`casework api` in its own process (and session, so a Ctrl-C here reaches only us); stopped with SIGTERM,
    the server's graceful shutdown, whatever happens. Yields once /health answers and every worker has finished
    booting. `floor`: the same server (api.server.serve, same settings) with that factory of benchmarks/bare_wsgi.py
    ("app" or "engine") as its app."""
    port = free_port()
    log_path = backend.workdir / f"{floor or 'api'}-server.log"
    command = (
        [
            sys.executable,
            "-c",
            "import sys; from api.server import serve; "
            "serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 'benchmarks.bare_wsgi:' + sys.argv[5], "
            "threads=int(sys.argv[4]), keepalive=5)",
            HOST,
            str(port),
            str(workers),
            str(threads or 4),
            floor,
        ]
        if floor
        else [
            sys.executable,
            "-m",
            "cli",
            "api",
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            str(workers),
            *(["--threads", str(threads)] if threads else []),
            "--no-show-demo-tokens",
        ]
    )
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=server_env(backend, cipher_key),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not _get_health(port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the API server did not come up on port {port} (exit code {proc.poll()}); "
                        f"its log ends:\n{_log_tail(log_path)}"
                    )
                time.sleep(0.1)
            # A worker accepts only once it has built its app; wait until all are there and idle.
            last = tree_cpu_s(proc.pid)
            while time.monotonic() < deadline:
                time.sleep(0.3)
                now = tree_cpu_s(proc.pid)
                if len(child_pids(proc.pid)) >= workers and now - last < 0.03:
                    break
                last = now
            yield ApiServer(proc, port, log_path)
        finally:
            stop_server(proc)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # our own child's process group, nothing else
            proc.wait()
    if proc.returncode not in (0, -signal.SIGTERM):
        console.print(f"[yellow]the API server exited with code {proc.returncode}[/]")


# -- one database --------------------------------------------------------------------------------------


@dataclass
class BackendRun:
    backend: str
    workers: int
    threads: int | None
    clients: int
    results: dict[tuple[str, str, int], RunResult]
    cases: int
    read_notes: int
    seed_s: float
    idle_busy_pct: float
    floor: RunResult
    """GET /health on the same server, 1 caller: what the HTTP stack alone (TCP, granian, Flask) costs a request."""
    bare_floor: RunResult
    """The same request to the same server serving benchmarks/bare_wsgi.py instead of the API: TCP, granian and its
    access log, and the client, without Flask."""

    def app_share(self, op: str) -> float:
        """p50 of `op` over HTTP less the floor's, as a multiple of the in-process call's p50, 1 caller each: what
        the API's own work for the request (auth, org-unit check, schemas, JSON) adds beside the engine call."""
        http, inproc = self.results[(op, "http", 1)].stats.p50_ms, self.results[(op, "in-process", 1)].stats.p50_ms
        return ratio(http - self.floor.stats.p50_ms, inproc)


def seed(cw: Any, pools: list[str], cases: int, read_notes: int) -> tuple[str, dict[str, list[Any]]]:
    """The org tree, a mediator at the city federation (sees every district) and its token, and the case pools."""
    from engine.accounts import add_org, add_user
    from engine.service import Actor

    for path, name in ORGS:
        add_org(cw, path, name)
    _, token = add_user(cw, USER_ID, "基准调解员", ROLE, "suzhou", by=Actor("benchmark", "admin"))
    actor = Actor(USER_ID, ROLE)
    opened: dict[str, list[Any]] = {}
    i = 0
    for pool in pools:
        opened[pool] = []
        for _ in range(cases):
            opened[pool].append(cw.open_case("labor_dispute", actor, **dispute(i)).case_id)
            i += 1
    for _ in range(read_notes):
        for case_id in opened["read"]:
            cw.execute(case_id, "add_note", actor, text=NOTE_TEXT)
    return token, opened


def runs(clients: int, wsgi: bool = True) -> list[tuple[str, int]]:
    """(side, callers) of every run, in the order they run within a round."""
    counts = sorted({1, clients})
    order = [("in-process", c) for c in counts]
    if wsgi:
        order.append(("wsgi", 1))
    return order + [("engine", c) for c in counts] + [("http", c) for c in counts]


def background_pct(seconds: float = 1.0) -> float:
    """How busy the machine is (percent of all cores) while this benchmark does nothing."""
    before, t0 = machine_busy_s(), time.perf_counter()
    time.sleep(seconds)
    return (machine_busy_s() - before) / ((time.perf_counter() - t0) * (os.cpu_count() or 1)) * 100


def measure(kind: str, args: argparse.Namespace, cipher_key: str | None) -> BackendRun:
    with isolated_backend(kind, args.postgres_url) as backend:
        per_round = -(-args.n // args.rounds)
        console.print(
            f"[bold]{backend.label}[/] ({backend.schema or 'temp dir'}): {args.workers} server workers; "
            f"per run {per_round * args.rounds} operations in {args.rounds} rounds "
            f"(+{args.warmup} warm-up); {args.cases} cases per pool"
        )
        cw = open_engine(backend, cipher_key)
        try:
            t0 = time.perf_counter()
            pools = ["read", "warmup", *(f"{side}/{c}" for side, c in runs(args.clients, args.wsgi))]
            token, cases = seed(cw, pools, args.cases, args.read_notes)
            seed_s = time.perf_counter() - t0
            with (
                api_server(backend, args.workers, cipher_key, args.threads) as server,
                api_server(backend, args.workers, cipher_key, args.threads, floor="engine") as engine,
                api_server(backend, args.workers, None, args.threads, floor="app") as bare,
            ):
                servers = {"http": server, "engine": engine, "bare": bare}
                return _measure_sides(cw, servers, token, cases, args, per_round, backend.label, seed_s)
        finally:
            cw.close()


def _measure_sides(
    cw: Any,
    servers: dict[str, ApiServer],
    token: str,
    cases: dict[str, list[Any]],
    args: argparse.Namespace,
    per_round: int,
    label: str,
    seed_s: float,
) -> BackendRun:
    app = None
    if args.wsgi:
        from api.app import create_app

        app = create_app(cw)

    def callers(side: str, op: str, count: int, pool: list[Any]) -> list[Caller]:
        if side in servers:
            return [HttpCaller(servers[side].port, token, op, pool) for _ in range(count)]
        if side == "wsgi":
            return [WsgiCaller(app, token, op, pool) for _ in range(count)]
        return [InProcessCaller(cw, op, pool) for _ in range(count)]

    def once(side: str, op: str, count: int, pool: list[Any], n: int, start: int, result: RunResult) -> None:
        group = callers(side, op, count, pool)
        server = servers.get(side)
        logged = server.log_size() if server else 0
        try:
            run_concurrent(group, n, start, result, server.pid if server else None)
        finally:
            for c in group:
                c.close()
        for each in servers.values():
            each.check_alive()
        if server and op != "health":
            result.in_worker_s.extend(ms / 1e3 for ms in server.in_worker_ms(op, logged, n))

    # warm-up: imports, statement caches, connection pools, every worker's first requests
    for side, count in runs(args.clients, args.wsgi):
        for op in OPS:
            scratch = RunResult()
            once(side, op, count, cases["warmup" if op == "add_note" else "read"], args.warmup, 0, scratch)
            if scratch.errors:
                raise RuntimeError(f"warm-up {side} {op} failed: {scratch.first_error}")

    idle = background_pct()
    console.print(f"  machine busy while the benchmark is idle: {idle:.0f}% of {os.cpu_count()} cores")
    results = {(op, side, c): RunResult() for op in OPS for side, c in runs(args.clients, args.wsgi)}
    floor, bare_floor = RunResult(), RunResult()
    once("http", "health", 1, cases["read"], args.warmup, 0, RunResult())
    once("bare", "health", 1, cases["read"], args.warmup, 0, RunResult())
    for r in range(args.rounds):
        for op in OPS:
            for side, count in runs(args.clients, args.wsgi):
                pool = cases["read"] if op == "read" else cases[f"{side}/{count}"]
                once(side, op, count, pool, per_round, r * per_round, results[(op, side, count)])
        once("http", "health", 1, cases["read"], per_round, r * per_round, floor)
        once("bare", "health", 1, cases["read"], per_round, r * per_round, bare_floor)
        console.print(f"  round {r + 1}/{args.rounds} done")
    return BackendRun(
        backend=label,
        workers=args.workers,
        threads=args.threads,
        clients=args.clients,
        results=results,
        cases=args.cases,
        read_notes=args.read_notes,
        seed_s=seed_s,
        idle_busy_pct=idle,
        floor=floor,
        bare_floor=bare_floor,
    )


# -- output -----------------------------------------------------------------------------------------------

MEASUREMENT = {
    ("add_note", "in-process"): "in-process: execute add_note",
    ("add_note", "engine"): "HTTP, engine floor: the anchor's call served",
    ("add_note", "http"): "HTTP: POST /disputes/<id>/add-note",
    ("add_note", "wsgi"): "WSGI in-process: Flask test client POST",
    ("read", "in-process"): "in-process: get + case_view",
    ("read", "wsgi"): "WSGI in-process: Flask test client GET",
    ("read", "engine"): "HTTP, engine floor: the anchor's call served",
    ("read", "http"): "HTTP: GET /cases/<id>",
}


def report(runs_by_db: list[BackendRun], cipher: bool) -> None:
    rows = []
    for b in runs_by_db:
        for (op, side, count), res in b.results.items():
            s = res.stats
            anchor = b.results[(op, "in-process", count)]
            compared = side != "in-process"
            rows.append(
                (
                    b.backend,
                    MEASUREMENT[(op, side)],
                    count,
                    s.n,
                    res.ops_per_s,
                    s.p50_ms,
                    s.p99_ms,
                    s.mean_ms,
                    ratio(s.p50_ms, anchor.stats.p50_ms) if compared else None,
                    ratio(res.ops_per_s, anchor.ops_per_s) if compared else None,
                    res.core_pct(res.own_cpu_s),
                    res.core_pct(res.server_cpu_s) if side in SERVED else None,
                    res.machine_pct,
                    res.errors or None,
                )
            )
    first = runs_by_db[0]
    print_table(
        f"Casework over HTTP (granian, {first.workers} workers of {first.threads or 'the default number of'} "
        "threads) vs the same engine calls in-process, "
        "same database",
        [
            "database",
            "measurement",
            "callers",
            "n",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "mean ms",
            "p50 ÷ in-proc",
            "ops/s ÷ in-proc",
            "this proc CPU %",
            "server CPU %",
            "machine busy %",
            "errors",
        ],
        rows,
        caption="Each request/call timed on its own; ops/s = completed operations ÷ wall time with that many "
        "concurrent callers (threads). HTTP: client threads in this process, the API in a separate "
        "server process on 127.0.0.1, each client on one kept-alive connection; a request is timed from send "
        "to last byte, including the JSON case view. In-process: the "
        "engine call the API makes (execute add_note; get + case_view), no HTTP, no JSON. WSGI: the same "
        "Flask app over the in-process engine through its test client (the app layer without the server or "
        "TCP). ÷ in-proc: against the in-process run with the same number of callers (HTTP p50 target "
        "≤ 1.5). CPU % is of one core ('this proc' = the client threads for HTTP rows, the engine for the "
        f"others); machine busy % is of all {os.cpu_count()} cores (database server and other load "
        "included)." + (" Events encrypted (CASEWORK_CIPHER_KEY) on both sides." if cipher else ""),
    )
    for b in runs_by_db:
        console.print(
            f"{b.backend}: HTTP floor, GET /health (no database, no token), 1 caller: p50 "
            f"{b.floor.stats.p50_ms:.3f} ms. Over HTTP less that floor, as a multiple of the in-process p50: "
            + "; ".join(f"{op} {b.app_share(op):.2f}" for op in OPS)
            + f". The same request to the same server serving a bare WSGI function instead of Flask: p50 "
            f"{b.bare_floor.stats.p50_ms:.3f} ms."
        )
        for op in OPS:
            http, inproc = b.results[(op, "http", 1)], b.results[(op, "in-process", 1)]
            wsgi, served = b.results.get((op, "wsgi", 1)), b.results[(op, "engine", 1)]
            console.print(
                f"{b.backend}, {op}, 1 caller: the engine floor (the anchor's call served by the same server, "
                f"without Flask or anything the API adds) p50 {served.stats.p50_ms:.2f} ms = "
                f"{ratio(served.stats.p50_ms, inproc.stats.p50_ms):.2f} × in-process, the lowest an HTTP layer over "
                f"this engine can reach here; inside its worker p50 {served.in_worker_p50_ms:.2f} ms = "
                f"{ratio(served.in_worker_p50_ms, inproc.stats.p50_ms):.2f} × the same call in this process. "
                f"The API over the engine floor: {ratio(http.stats.p50_ms, served.stats.p50_ms):.2f} ×."
            )
            console.print(
                f"{b.backend}, {op}, 1 caller: HTTP p50 {http.stats.p50_ms:.2f} ms = inside the worker (its access "
                f"log) p50 {http.in_worker_p50_ms:.2f} ms + TCP, granian and the client "
                f"{http.stats.p50_ms - http.in_worker_p50_ms:.2f} ms. Inside the worker ÷ in-process p50: "
                f"{ratio(http.in_worker_p50_ms, inproc.stats.p50_ms):.2f}"
                + (
                    f"; the same app in this process (WSGI row) ÷ in-process: "
                    f"{ratio(wsgi.stats.p50_ms, inproc.stats.p50_ms):.2f}."
                    if wsgi
                    else "."
                )
            )
        for (op, side, count), res in b.results.items():
            if side not in SERVED or count != b.clients:
                continue
            other = max(0.0, res.busy_s - res.own_cpu_s - res.server_cpu_s)
            console.print(
                f"{b.backend}, {MEASUREMENT[(op, side)]}, {count} clients: client {res.per_op_ms(res.own_cpu_s):.2f} "
                f"ms CPU/request ({res.core_pct(res.own_cpu_s):.0f}% of one core, "
                f"{ratio(res.own_cpu_s, res.busy_s) * 100:.0f}% of the machine's busy time); server "
                f"{res.per_op_ms(res.server_cpu_s):.2f} ms CPU/request; everything else (database server, "
                f"background) {res.per_op_ms(other):.2f} ms/request; {res.connects} TCP connects for "
                f"{res.stats.n} requests; machine {res.machine_pct:.0f}% busy."
            )
        for res in b.results.values():
            if res.errors:
                console.print(f"[red]{b.backend}: {res.errors} failed operations, first: {res.first_error}[/]")


def plain_lines(runs_by_db: list[BackendRun], cipher: bool) -> list[str]:
    lines = []
    for b in runs_by_db:
        db = "sqlite" if b.backend.startswith("SQLite") else "postgresql"
        for (op, side, count), res in b.results.items():
            s = res.stats
            tag = f"{db} {side.replace('in-process', 'inproc')}_{op}"
            fields: dict[str, Any] = dict(
                callers=count, n=s.n, ops_per_s=res.ops_per_s, p50_ms=s.p50_ms, p99_ms=s.p99_ms, mean_ms=s.mean_ms
            )
            if side in SERVED:
                anchor = b.results[(op, "in-process", count)]
                single = b.results[(op, "in-process", 1)]
                fields.update(
                    p50_ratio=ratio(s.p50_ms, anchor.stats.p50_ms),
                    throughput_ratio=ratio(res.ops_per_s, anchor.ops_per_s),
                    p50_ratio_vs_1thread=ratio(s.p50_ms, single.stats.p50_ms),
                    client_cpu_ms=res.per_op_ms(res.own_cpu_s),
                    client_core_pct=res.core_pct(res.own_cpu_s),
                    server_cpu_ms=res.per_op_ms(res.server_cpu_s),
                    workers=b.workers,
                    threads=b.threads or "default",
                    connects=res.connects,
                    response_bytes=res.response_bytes / s.n if s.n else float("nan"),
                    in_worker_p50_ms=res.in_worker_p50_ms,
                    in_worker_ratio=ratio(res.in_worker_p50_ms, anchor.stats.p50_ms),
                )
            else:
                if side == "wsgi":
                    anchor = b.results[(op, "in-process", count)]
                    fields.update(
                        p50_ratio=ratio(s.p50_ms, anchor.stats.p50_ms),
                        throughput_ratio=ratio(res.ops_per_s, anchor.ops_per_s),
                    )
                fields.update(cpu_ms=res.per_op_ms(res.own_cpu_s))
            fields.update(
                machine_busy_pct=res.machine_pct, idle_busy_pct=b.idle_busy_pct, errors=res.errors, cipher=cipher
            )
            lines.append(plain(tag, **fields))
        f = b.floor.stats
        shares = {f"{op}_p50_less_floor_ratio": b.app_share(op) for op in OPS}
        lines.append(plain(f"{db} http_floor_health", callers=1, n=f.n, p50_ms=f.p50_ms, p99_ms=f.p99_ms, **shares))
        bare = b.bare_floor.stats
        lines.append(plain(f"{db} http_floor_bare_wsgi", callers=1, n=bare.n, p50_ms=bare.p50_ms, p99_ms=bare.p99_ms))
    return lines


# -- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    default_workers = min(2 * (os.cpu_count() or 1), 8)  # what `casework api` starts by default
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.http",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults finish in about two to three minutes on a 2-core machine.",
    )
    parser.add_argument(
        "-n",
        type=int,
        default=1000,
        help="timed operations per run, i.e. per (operation, side, callers) (default %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=8,
        help="concurrent callers, besides the single-caller runs (default %(default)s)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers,
        help="server worker processes (default: as `casework api`, 2 per CPU, at most 8: %(default)s)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads per server worker (default: as `casework api`)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="the runs alternate in this many rounds of n/rounds operations (default %(default)s)",
    )
    parser.add_argument(
        "--warmup", type=int, default=40, help="untimed operations per run before the first round (default %(default)s)"
    )
    parser.add_argument(
        "--cases",
        type=int,
        default=100,
        help="pre-opened labor disputes per pool; each command run has its own pool and writes "
        "round-robin over it (default %(default)s)",
    )
    parser.add_argument(
        "--read-notes", type=int, default=5, help="notes on each case of the pool the reads go to (default %(default)s)"
    )
    parser.add_argument(
        "--no-wsgi",
        dest="wsgi",
        action="store_false",
        help="skip the diagnostic runs through the Flask test client in this process",
    )
    add_database_arguments(
        parser,
        cipher_help="encrypt the event store (CASEWORK_CIPHER_KEY = "
        "AESCipher.create_key(32)) on both sides: the server and the "
        "in-process engine share one key",
    )
    args = parser.parse_args(argv)
    if (
        min(args.n, args.clients, args.workers, args.rounds, args.cases, 1 if args.threads is None else args.threads)
        < 1
        or min(args.warmup, args.read_notes) < 0
    ):
        parser.error(
            "-n, --clients, --workers, --threads, --rounds and --cases must be positive; --warmup and --read-notes "
            "not negative"
        )
    args.warmup = max(args.warmup, 1)
    exit_cleanly_on_sigterm()

    kinds, skipped = reachable_backends(args)
    cipher_key = new_cipher_key() if args.cipher else None
    console.print(environment_line())

    started = time.perf_counter()
    results = [measure(kind, args, cipher_key) for kind in kinds]
    if not results:
        console.print("[red]nothing measured[/]")
        return 2
    report(results, bool(cipher_key))
    console.print(f"total {time.perf_counter() - started:.0f} s")

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for line in plain_lines(results, bool(cipher_key)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
