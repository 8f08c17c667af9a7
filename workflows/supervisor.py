"""The process supervisor of `casework run`: the whole service on one machine — a local Prefect server, the worker
and the API.

Each runs as a child process in its own session, logging to <data dir>/logs; this process
watches them, and on Ctrl-C (or SIGTERM, or one child dying) stops them all: the API and the
worker first, the Prefect server last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.config import Settings
from workflows import NO_TELEMETRY

STOP_TIMEOUT = 20.0


def prefect_environment(
    settings: Settings, host: str, port: int, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The Prefect settings of a local server: its database in the data directory, nothing sent out.

    A PREFECT_API_DATABASE_CONNECTION_URL already set (e.g. PostgreSQL) is kept."""
    env = dict(os.environ if env is None else env)
    home = settings.data_dir / "prefect"
    env.setdefault("PREFECT_HOME", str(home))
    env.setdefault("PREFECT_API_DATABASE_CONNECTION_URL", f"sqlite+aiosqlite:///{home / 'prefect.db'}")
    env["PREFECT_API_URL"] = f"http://{host}:{port}/api"
    env["PREFECT_SERVER_API_HOST"] = host
    env["PREFECT_SERVER_API_PORT"] = str(port)
    env.update(NO_TELEMETRY)
    return env


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: Mapping[str, str]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                self.argv,
                env=dict(env),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def exited(self) -> int | None:
        return self.process.poll() if self.process else None

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM to the child's whole process group, SIGKILL if it has not gone after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        _signal_group(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


def wait_until_healthy(url: str, child: Child, timeout: float, tick: Callable[[], None] | None = None) -> None:
    """Poll `url` until it answers 200; fail early if the child exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = child.exited()
        if code is not None:
            raise RuntimeError(f"{child.name} exited with status {code} while starting; see {child.log}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if tick:
            tick()
        time.sleep(0.5)
    raise RuntimeError(f"{child.name} did not answer {url} within {timeout:.0f} s; see {child.log}")


class Supervisor:
    """Start children in order, stop them in reverse order, once."""

    def __init__(self) -> None:
        self.children: list[Child] = []
        self.stopping = False

    def start(self, child: Child, env: Mapping[str, str]) -> Child:
        child.start(env)
        self.children.append(child)
        return child

    def stop_all(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for child in reversed(self.children):
            child.stop()

    def watch(self, poll: float = 1.0) -> Child | None:
        """Block until a child exits (returned) or a stop signal arrives (None)."""
        received: list[int] = []

        def on_signal(signum: int, _frame: object) -> None:
            received.append(signum)

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not received:
                for child in self.children:
                    if child.exited() is not None:
                        return child
                time.sleep(poll)
            return None
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)


def casework_command(*args: str) -> list[str]:
    """This same `casework` program, as a child process."""
    return [sys.executable, "-m", "cli", *args]


def prefect_command(*args: str) -> list[str]:
    """The `prefect` command line of this installation, as a child process."""
    return [sys.executable, "-m", "prefect", *args]
