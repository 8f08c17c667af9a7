"""End to end: `casework run` as real processes — a Prefect server, the worker and the API — and an overdue
written offer escalated by the scheduled escalation sweep, seen only through the HTTP API. No mocks.

The run gets a fresh data directory (SQLite), free ports, a 10-second escalation schedule and an
environment without any PREFECT_* setting of this test process (the workflow tests may have a Prefect
test harness running in this same session).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
START_TIMEOUT = 180.0
ESCALATION_TIMEOUT = 90.0
STOP_TIMEOUT = 40.0
TZ = ZoneInfo("Asia/Shanghai")  # the default CASEWORK_TIMEZONE: business dates are counted there
READY = "Ctrl-C stops everything."
TOKEN_LINE = re.compile(r"^\s+(demo-[\w-]+)\s+(\w+)\s+(cw_\S+)\s*$")
PID_LINE = re.compile(r"^\s+(prefect server|worker|api)\s+pid (\d+)\s*$")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def child_env(data_dir: Path) -> dict[str, str]:
    """This process's environment without any Prefect or Casework setting, plus the run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "CASEWORK_"))}
    env.update(
        {
            "CASEWORK_DATA_DIR": str(data_dir),
            "CASEWORK_SCHEDULE_ESCALATION": "10s",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


class Output:
    """The lines a process prints, read by a thread so that the pipe never fills up."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()
        self.closed = False

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def wait_for(self, text: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not any(text in line for line in self.lines):
                left = deadline - time.monotonic()
                if self.closed or left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        with self._changed:
            return "\n".join(self.lines)


def log_tails(data_dir: Path, lines: int = 40) -> str:
    parts = []
    for log in sorted((data_dir / "logs").glob("*.log")):
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        parts.append(f"--- {log.name} (last {len(tail)} lines) ---\n" + "\n".join(tail))
    return "\n".join(parts) or "(no logs)"


def call(method: str, url: str, token: str | None = None, body: Any = None, timeout: float = 10) -> tuple[int, Any]:
    """(status, parsed JSON body or text) of one HTTP request; an error status is returned, not raised."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw) if raw else None
    except ValueError:
        return status, raw.decode(errors="replace")


def gone(pid: int) -> bool:
    """Whether `pid` no longer runs (a zombie awaiting its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_run_sh_hands_its_options_to_casework_run(option: str) -> None:
    """The script's arguments are the options of `casework run`, not extras for the installer."""
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "run.sh"), option],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={k: v for k, v in os.environ.items() if k != "CASEWORK_EXTRAS"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Usage: casework run" in done.stdout
    for documented in ("--port", "--prefect-port", "--host", "--workers", "--no-demo"):
        assert documented in done.stdout
    assert "Traceback" not in done.stderr and "InvalidRequirement" not in done.stderr


def test_casework_run_escalates_an_overdue_offer_on_its_schedule(tmp_path: Path) -> None:
    """Started as the README says, through `scripts/run.sh` with its documented options."""
    data_dir = tmp_path / "data"
    port, prefect_port = free_port(), free_port()
    while prefect_port == port:
        prefect_port = free_port()
    api = f"http://{HOST}:{port}"
    prefect_api = f"http://{HOST}:{prefect_port}/api"
    started = time.monotonic()
    proc = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "run.sh"), "--port", str(port), "--prefect-port", str(prefect_port)],
        cwd=ROOT,
        env=child_env(data_dir),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    out = Output(proc)
    pids: dict[str, int] = {}

    def context() -> str:
        return f"\n=== casework run output ===\n{out.text}\n=== logs in {data_dir / 'logs'} ===\n{log_tails(data_dir)}"

    try:
        # -- it starts, and says where everything is ------------------------------------------------
        assert out.wait_for(READY, START_TIMEOUT), (
            f"'casework run' not ready within {START_TIMEOUT:.0f} s (exit status {proc.poll()}){context()}"
        )
        ready_after = time.monotonic() - started
        text = out.text
        assert "Casework is running on sqlite" in text, context()
        assert re.search(rf"^\s+API\s+{re.escape(api)}\s*$", text, re.M), context()
        assert f"{api}/docs/" in text and f"{api}/openapi.json" in text, context()
        assert re.search(rf"^\s+Prefect UI\s+http://{HOST}:{prefect_port}\s*$", text, re.M), context()
        pids.update({m[1]: int(m[2]) for line in out.lines if (m := PID_LINE.match(line))})
        assert set(pids) == {"prefect server", "worker", "api"}, context()
        tokens = {m[1]: (m[2], m[3]) for line in out.lines if (m := TOKEN_LINE.match(line))}
        assert tokens.get("demo-negotiator", ("",))[0] == "negotiator", context()
        assert tokens.get("demo-supervisor", ("",))[0] == "supervisor", context()
        negotiator, supervisor = tokens["demo-negotiator"][1], tokens["demo-supervisor"][1]

        status, _ = call("GET", f"{prefect_api}/health")
        assert status == 200, f"Prefect health: {status}{context()}"
        status, _ = call("GET", f"{api}/health")
        assert status == 200, f"API health: {status}{context()}"
        status, spec = call("GET", f"{api}/openapi.json")
        assert status == 200 and "/negotiations" in spec["paths"], context()

        # -- a written offer issued 25 days ago: its 20-day reply clock has run out ----------------------
        issued = datetime.now(TZ).replace(microsecond=0) - timedelta(days=25)
        document_number = f"姑工要〔e2e〕{uuid.uuid4().hex[:10]}号"
        status, case = call(
            "POST",
            f"{api}/negotiations",
            negotiator,
            {
                "org_unit": "suzhou.gusu",
                "enterprise": {"name": "苏州端到端测试电子有限公司", "employees": 120},
                "issuing_union": "姑苏区总工会",
                "document_number": document_number,
                "occurred_at": issued.isoformat(),
            },
        )
        assert status in (200, 201), f"POST /negotiations: {status} {case}{context()}"
        assert case["stage"] == "offer_issued" and case["version"] == 1, f"{case}{context()}"
        number = case["number"]

        # -- the scheduled escalation sweep (every 10 s) issues the acting offer --------------------------
        deadline = time.monotonic() + ESCALATION_TIMEOUT
        seen: Any = case
        while time.monotonic() < deadline:
            status, seen = call("GET", f"{api}/cases/{number}", supervisor)
            assert status == 200, f"GET /cases/{number}: {status} {seen}{context()}"
            if seen["stage"] != "offer_issued":
                break
            time.sleep(1)
        escalated_after = time.monotonic() - started
        assert seen["stage"] == "acting_offer_issued", (
            f"{number} still {seen['stage']} after {ESCALATION_TIMEOUT:.0f} s: {seen}{context()}"
        )

        status, history = call("GET", f"{api}/cases/{number}/history", supervisor)
        assert status == 200, f"history: {status} {history}{context()}"
        events = {e["version"]: e for e in history["events"]}
        assert sorted(events) == [1, 2], history
        acting = events[2]
        assert acting["event"] == "ActingOfferIssued" and acting["stage"] == "acting_offer_issued", acting
        assert (acting["actor_id"], acting["actor_role"]) == ("system", "system"), acting
        assert acting["flow_run_id"], acting
        due_on = (issued.date() + timedelta(days=20)).isoformat()
        assert acting["reason"] == f"the enterprise did not answer the written offer by {due_on}", acting

        # The flow run named on the event is a run of the escalation-sweep deployment on this Prefect server.
        status, run = call("GET", f"{prefect_api}/flow_runs/{acting['flow_run_id']}")
        assert status == 200, f"flow run {acting['flow_run_id']}: {status} {run}{context()}"
        status, flow = call("GET", f"{prefect_api}/flows/{run['flow_id']}")
        assert status == 200 and flow["name"] == "escalation-sweep", (status, flow)
        status, deployment = call("GET", f"{prefect_api}/deployments/{run['deployment_id']}")
        assert status == 200 and deployment["name"] == "casework", (status, deployment)

        # -- Ctrl-C stops everything -------------------------------------------------------------------
        stopping = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        try:
            code = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"'casework run' still running {STOP_TIMEOUT:.0f} s after SIGINT{context()}")
        stopped_after = time.monotonic() - stopping
        out.join(5)
        assert code == 0, f"exit status {code}{context()}"
        assert "stopped" in [line.strip() for line in out.lines], context()
        deadline = time.monotonic() + 5
        while not all(gone(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.2)
        left = {name: pid for name, pid in pids.items() if not gone(pid)}
        assert not left, f"still running after 'stopped': {left}{context()}"
        print(
            f"\nready after {ready_after:.1f} s, escalated after {escalated_after:.1f} s, "
            f"stopped in {stopped_after:.1f} s"
        )
    finally:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(10)
        for pid in pids.values():  # each child runs in its own session, so is not in proc's group
            if gone(pid):
                continue
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
