"""Escalation sweep: cost against what is open and what is overdue; per escalation next to a mediator command.

SEED    For each size (--open, default 10,000 and 100,000) a fresh database holding that many open wage
        negotiations. Every one is opened through the engine — Casework.transact with a work function calling
        uow.open("wage_negotiation", ...) for up to --batch cases per transaction — so each is a real aggregate
        with its OfferIssued event, its hash chain, its case_index row, its statistics and its open_clocks row
        (the 20-day reply clock). The business clock is a FixedClock: --overdue (default 1,000) negotiations are
        opened on day 0 (reply due day 20), the clock moves to day 10 and the rest are opened (due day 30), then
        to day 21, when exactly the day-0 ones are overdue. With --sweeps R (default 3) there is one such
        overdue cohort per sweep, opened on days 0..R-1 and swept on days 21..21+R-1: every sweep finds exactly
        --overdue of the N negotiations overdue (the ones escalated earlier have a new reply clock, due 20 days
        later), and the figures are medians over R sweeps instead of one. --sweeps 1 is the single-sweep case.
SWEEP   (a) list_due(cw, "escalation") alone — the read-model query the sweep starts with — timed --repeat
            times before every sweep (it changes nothing), median reported.
        (b) run_sweep(cw, "escalation", SYSTEM): list, then one engine transaction per overdue case (load it,
            decide the ladder step, escalate_to_acting_offer, save, project, log the command id). Its listing
            part is timed separately (engine.sweeps.list_due is wrapped for the run); the rest is the apply
            time, and per-escalation time = apply time / escalations applied.
        All sizes of a database are seeded first, then measured round by round: each round's list_due calls
        interleave the sizes (A B B A ...), then each size is swept, the order reversed every other round, so
        background load that drifts during the run affects every size alike; gc.collect() before each timed
        step, so no step pays for garbage an earlier one left.
ANCHORS t(smallest size) for t(each larger size): sweep and list_due time ratios, target <= 1.2 (the cost grows
        with what is overdue, not with what is open). For the per-escalation time: a mediator's command on
        the same database in the same rounds — --disputes labor disputes opened by a mediator, --warmup
        untimed notes, then --notes Casework.execute(case, "add_note", mediator) round-robin, a share after
        every sweep, each timed (p50, mean). Ratio per-escalation / add_note mean, target <= 2.
RSS     With --run-rss: `casework run --no-demo` (the console script, CASEWORK_DATA_DIR a temp directory, free
        ports) is started; once it prints "Casework is running" and its children's pids, and --rss-settle
        seconds more (default 30), the VmRSS (and PSS, VmHWM) of every process it started and of their
        descendants (the API server and its workers, flow-run subprocesses) is read from /proc and summed per
        role; then it is stopped with SIGINT and waited for. On a fresh, empty database.

Each size runs on its own fresh database: a SQLite file in a temp directory, or with --postgres also a fresh
PostgreSQL schema (search_path in the URL, dropped afterwards). These are measurements, not assertions.

    .venv/bin/python -m benchmarks.sweep                          # SQLite, 10k and 100k open, 1k overdue
    .venv/bin/python -m benchmarks.sweep --open 2000 20000 --overdue 200 --postgres
    .venv/bin/python -m benchmarks.sweep --run-rss --rss-only      # only the resident memory of `casework run`
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.commands import NOTE_TEXT, dispute
from benchmarks.common import (
    DEFAULT_POSTGRES_URL,
    REPO_ROOT,
    Backend,
    LatencyStats,
    console,
    credit_code,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    plain,
    postgres_problem,
    print_table,
    ratio,
)

SWEEP_RATIO_TARGET = 1.2
ESCALATION_RATIO_TARGET = 2.0
START = (2026, 3, 2, 9, 0)  # a Monday, 09:00 in the engine's time zone (as tests/conftest.py)
LATE_DAYS, SWEEP_DAY = 10, 21  # the not-yet-due cases are opened on day 10; the sweep runs on day 21
MB = 1024


def verdict(value: float, target: float) -> str:
    return "met" if value == value and value <= target else "NOT met"


# -- seeding ---------------------------------------------------------------------------------------


def offer(i: int, batch: int) -> dict[str, Any]:
    """A written offer to enterprise `i`; each seeding transaction is one multi-enterprise offer document."""
    return {
        "org_unit": f"suzhou.district{i % 7}",
        "enterprise": {"name": f"苏州精密制造有限公司 {i}", "credit_code": credit_code(i), "employees": 20 + i % 480},
        "issuing_union": "苏州市总工会",
        "document_number": f"苏工要〔2026〕{i // batch + 1}号",
        "terms": {"wage_increase_pct": "6.0"},
        "first_of_document": i % batch == 0,
        "covers": batch,
    }


class Seeder:
    """Opens wage negotiations through Casework.transact, up to `batch` per transaction."""

    def __init__(self, cw: Any, batch: int, progress: Any, task: Any) -> None:
        from engine.service import Actor

        self.cw, self.batch, self.progress, self.task = cw, batch, progress, task
        self.actor = Actor(id="negotiator-bench", role="negotiator")
        self.opened = 0
        self.transactions = 0

    def open(self, count: int) -> None:
        end = self.opened + count
        while self.opened < end:
            first, size = self.opened, min(self.batch, end - self.opened)
            self.cw.transact(self.actor, "issue_offer", partial(self._work, first=first, size=size))
            self.opened += size
            self.transactions += 1
            self.progress.advance(self.task, size)

    def _work(self, uow: Any, first: int, size: int) -> Any:
        main = None
        for i in range(first, first + size):
            data = offer(i, self.batch)
            case = uow.open("wage_negotiation", org_unit=data.pop("org_unit"), **data)
            main = main or case
        return main


def count_rows(cw: Any) -> dict[str, int]:
    from sqlalchemy import func, select

    from engine.tables import case_index, open_clocks

    with cw.read_transaction() as session:
        return {
            "cases": session.execute(select(func.count()).select_from(case_index)).scalar_one(),
            "open_clocks": session.execute(select(func.count()).select_from(open_clocks)).scalar_one(),
            "events": cw.store.recorder.max_notification_id() or 0,
        }


# -- one size on one fresh database -----------------------------------------------------------------


@dataclass
class SweepRun:
    day: int
    listed: int  # what list_due found just before the sweep
    sweep_s: float  # run_sweep, all of it
    list_s: float  # its list_due part
    counts: dict[str, int]
    due_after: int  # what list_due finds right after the sweep (0: nothing left, nothing done twice)

    @property
    def applied(self) -> int:
        return self.counts.get("applied", 0)

    @property
    def per_escalation_ms(self) -> float:
        return (self.sweep_s - self.list_s) / self.applied * 1e3 if self.applied else float("nan")


@dataclass
class SizeResult:
    backend: str
    open: int
    overdue: int
    seed_s: float
    rows: dict[str, int]
    list_due: list[float] = field(default_factory=list)  # seconds, each call before each sweep
    sweeps: list[SweepRun] = field(default_factory=list)
    add_note_s: list[float] = field(default_factory=list)  # seconds, each timed add_note
    problems: list[str] = field(default_factory=list)

    @property
    def list_due_ms(self) -> float:
        return statistics.median(self.list_due) * 1e3

    @property
    def sweep_s(self) -> float:
        return statistics.median(s.sweep_s for s in self.sweeps)

    @property
    def sweep_list_ms(self) -> float:
        return statistics.median(s.list_s for s in self.sweeps) * 1e3

    @property
    def per_escalation_ms(self) -> float:
        return statistics.median(s.per_escalation_ms for s in self.sweeps)

    @property
    def applied(self) -> list[int]:
        return [s.applied for s in self.sweeps]

    @property
    def all_applied(self) -> bool:
        return all(s.applied == self.overdue and s.counts == {"applied": self.overdue} for s in self.sweeps)

    @property
    def add_note(self) -> LatencyStats:
        return LatencyStats.of(self.add_note_s)


@contextmanager
def timed_listing(record: list[float]) -> Iterator[None]:
    """Wrap engine.sweeps.list_due for the duration, recording how long each call inside run_sweep takes."""
    import engine.sweeps as sweeps

    original = sweeps.list_due

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            record.append(time.perf_counter() - t0)

    sweeps.list_due = timed
    try:
        yield
    finally:
        sweeps.list_due = original


class SizeRun:
    """One size on its own fresh database: seeded once, then swept once per round."""

    def __init__(self, backend: Backend, total: int, args: argparse.Namespace) -> None:
        from aggregates.base import DEFAULT_TZ
        from engine.clock import FixedClock
        from engine.migrate import upgrade
        from engine.service import Actor, Casework

        self.backend, self.total, self.args = backend, total, args
        self.start = datetime(*START, tzinfo=DEFAULT_TZ)
        self.clock = FixedClock(self.start)
        self.cw = Casework(backend.settings(), self.clock)
        upgrade(self.cw.sql_engine)
        self.mediator = Actor(id="mediator-bench", role="mediator")
        self.disputes: list[Any] = []
        self.notes_done = 0
        self.result: SizeResult | None = None
        self.listed = 0  # what list_due found last
        self.round_list_s: list[float] = []  # this round's list_due timings

    def close(self) -> None:
        self.cw.close()

    def on_day(self, day: int) -> None:
        self.clock.set(self.start + timedelta(days=day))

    def seed(self) -> SizeResult:
        """Cohort r (--overdue negotiations) on day r, for each of the --sweeps rounds; the rest on day 10.
        With one round this is: the overdue ones on day 0, the rest on day 10."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        args, cw = self.args, self.cw
        t0 = time.perf_counter()
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        ) as progress:
            task = progress.add_task(f"{self.backend.label}: opening {self.total:,} negotiations", total=self.total)
            seeder = Seeder(cw, args.batch, progress, task)
            for cohort in range(args.sweeps):
                self.on_day(cohort)  # reply due on day cohort + 20: overdue from day cohort + 21
                seeder.open(args.overdue)
            self.on_day(LATE_DAYS)  # reply due on day 30: not overdue on any sweep day
            seeder.open(self.total - args.sweeps * args.overdue)
        seed_s = time.perf_counter() - t0
        rows = count_rows(cw)
        # the anchor's cases: labor disputes a mediator files, with a few untimed notes (warm-up)
        self.disputes = [
            cw.open_case("labor_dispute", self.mediator, **dispute(i)).case_id for i in range(args.disputes)
        ]
        for _ in range(args.warmup):
            self._note()
        console.print(
            f"  seeded in {seed_s:,.1f} s ({seeder.transactions} transactions, {self.total / seed_s:,.0f} "
            f"cases/s): {rows['cases']:,} cases, {rows['open_clocks']:,} open clocks, "
            f"{rows['events']:,} events; {args.disputes} labor disputes for the anchor"
        )
        self.result = SizeResult(
            backend=self.backend.label, open=self.total, overdue=args.overdue, seed_s=seed_s, rows=rows
        )
        if rows["cases"] != self.total or rows["open_clocks"] != self.total:
            self.result.problems.append(f"expected {self.total} cases and open clocks, found {rows}")
        return self.result

    def _note(self) -> float:
        case_id = self.disputes[self.notes_done % len(self.disputes)]
        self.notes_done += 1
        t0 = time.perf_counter()
        self.cw.execute(case_id, "add_note", self.mediator, text=NOTE_TEXT)
        return time.perf_counter() - t0

    def list_due_once(self) -> None:
        """(a) The listing alone, timed; it changes nothing, so it can be repeated."""
        from engine.sweeps import ESCALATION, list_due

        assert self.result is not None
        gc.collect()  # garbage left by an earlier step (another size's sweep) is not this call's cost
        t0 = time.perf_counter()
        self.listed = len(list_due(self.cw, ESCALATION))
        self.round_list_s.append(time.perf_counter() - t0)

    def sweep(self, day: int) -> None:
        """(b) The whole sweep on `day`, then this round's share of the anchor's add_note commands."""
        from engine.service import SYSTEM
        from engine.sweeps import ESCALATION, list_due, run_sweep

        args, cw, result = self.args, self.cw, self.result
        assert result is not None
        inner: list[float] = []
        gc.collect()
        with timed_listing(inner):
            t0 = time.perf_counter()
            report = run_sweep(cw, ESCALATION, SYSTEM)
            sweep_s = time.perf_counter() - t0
        run = SweepRun(
            day=day,
            listed=self.listed,
            sweep_s=sweep_s,
            list_s=sum(inner),
            counts=report.counts,
            due_after=len(list_due(cw, ESCALATION)),
        )
        result.sweeps.append(run)
        result.list_due.extend(self.round_list_s)
        if run.listed != args.overdue or run.counts != {"applied": args.overdue} or run.due_after:
            result.problems.append(
                f"day {day}: list_due found {run.listed}, the sweep did {run.counts}, "
                f"{run.due_after} due afterwards; expected {args.overdue}, all applied, 0"
            )
        share = min(-(-args.notes // args.sweeps), args.notes - len(result.add_note_s))
        gc.collect()
        notes = [self._note() for _ in range(share)]
        result.add_note_s.extend(notes)
        console.print(
            f"  {self.total:>9,} open, day {day}: list_due {statistics.median(self.round_list_s) * 1e3:,.1f}"
            f" ms (median of {len(self.round_list_s)}); run_sweep {sweep_s:,.2f} s, of which listing "
            f"{run.list_s * 1e3:,.1f} ms: {run.counts}, {run.per_escalation_ms:.2f} ms per escalation; "
            f"due afterwards {run.due_after}; add_note ×{len(notes)} mean "
            f"{statistics.fmean(notes) * 1e3 if notes else float('nan'):.2f} ms"
        )
        self.round_list_s = []


def sweep_round(runs: list[SizeRun], r: int, repeat: int) -> None:
    """Day 21 + r, when exactly cohort r is overdue in every size: the list_due calls of all sizes interleaved
    (A B, B A, ...), then each size's sweep — sizes in turn, the order reversed every other round."""
    day = SWEEP_DAY + r
    order = runs if r % 2 == 0 else runs[::-1]
    for run in runs:
        run.on_day(day)
    for k in range(repeat):
        for run in order if k % 2 == 0 else order[::-1]:
            run.list_due_once()
    for run in order:
        run.sweep(day)


def measure_backend(kind: str, sizes: list[int], args: argparse.Namespace) -> list[SizeResult]:
    """Every size on its own fresh database, seeded first; then round by round the sizes take turns (see
    sweep_round), so background load drifting over the run affects each size alike."""
    with ExitStack() as stack:
        runs = []
        for total in sizes:
            backend = stack.enter_context(isolated_backend(kind, args.postgres_url))
            console.print(
                f"[bold]{backend.label}[/] ({backend.schema or backend.workdir}): {total:,} open "
                f"negotiations, {args.overdue:,} overdue on each of {args.sweeps} sweep day(s)"
            )
            run = SizeRun(backend, total, args)
            stack.callback(run.close)
            run.seed()
            runs.append(run)
        for r in range(args.sweeps):
            console.print(f"[bold]round {r + 1} of {args.sweeps}[/] (business day {SWEEP_DAY + r})")
            sweep_round(runs, r, args.repeat)
        results = [run.result for run in runs if run.result is not None]
    for result in results:
        for problem in result.problems:
            console.print(f"[red]{result.backend}, {result.open:,} open: {problem}[/]")
    return results


# -- resident memory of `casework run` -----------------------------------------------------------------


@dataclass
class ProcessMemory:
    role: str
    pid: int
    command: str
    rss_kb: int
    pss_kb: int | None
    hwm_kb: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parent_map() -> dict[int, int]:
    """pid -> parent pid of every process now running."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return parents


def descendants(pid: int, parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in sorted(children.get(todo.pop(), [])):
            found.append(child)
            todo.append(child)
    return found


def memory_of(role: str, pid: int) -> ProcessMemory | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return None
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)

    def kb(text: str | None) -> int:
        return int(text.split()[0]) if text else 0

    pss = None
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = kb(line.split(":", 1)[1])
    except OSError:
        pass
    return ProcessMemory(role, pid, command, kb(fields.get("VmRSS")), pss, kb(fields.get("VmHWM")))


def short_command(command: str, width: int = 90) -> str:
    command = command.replace(sys.executable, "python").replace(str(REPO_ROOT) + "/", "")
    return command if len(command) <= width else command[: width - 1] + "…"


class OutputReader(threading.Thread):
    """Drains a child's output into a list of lines and signals when a line matches `ready`."""

    def __init__(self, stream: Any, ready: str) -> None:
        super().__init__(daemon=True)
        self.stream, self.ready_text = stream, ready
        self.lines: list[str] = []
        self.ready = threading.Event()
        self.done = threading.Event()

    def run(self) -> None:
        for line in self.stream:
            self.lines.append(line.rstrip("\n"))
            if self.ready_text in line:
                self.ready.set()
        self.done.set()


PID_LINE = re.compile(r"^\s*(?P<name>\S.*?)\s+pid (?P<pid>\d+)\s*$")


def casework_program() -> str:
    for candidate in (REPO_ROOT / ".venv" / "bin" / "casework", Path(sys.executable).parent / "casework"):
        if candidate.exists():
            return str(candidate)
    raise SystemExit("the casework console script is not installed (.venv/bin/casework); pip install -e .")


def stop_run(process: subprocess.Popen[str], reader: OutputReader | None, timeout: float) -> tuple[int | None, float]:
    """SIGINT to `casework run` itself (it stops its children), then wait; escalate only if it hangs."""
    if process.poll() is not None:
        return process.returncode, 0.0
    t0 = time.perf_counter()
    os.kill(process.pid, signal.SIGINT)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        console.print(f"[red]casework run did not exit {timeout:.0f} s after SIGINT; sending SIGTERM[/]")
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if reader is not None:
        reader.done.wait(5)
    return process.returncode, time.perf_counter() - t0


def reap_leftovers(pids: list[int]) -> list[int]:
    """Processes this run started that are still alive after it exited: terminate them, by pid."""
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in alive:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(2)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not _is_zombie(pid)]
        if not alive:
            break
    return alive


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"
    except OSError:
        return True


@dataclass
class RssResult:
    processes: list[ProcessMemory]
    settle_s: float
    start_s: float
    exit_code: int | None
    stop_s: float
    leftovers: list[int]
    api_workers: str


def measure_run_rss(args: argparse.Namespace) -> RssResult:
    data_dir = Path(tempfile.mkdtemp(prefix="casework-bench-rss-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "PREFECT_"))}
    env.update(CASEWORK_DATA_DIR=str(data_dir), NO_COLOR="1", TERM="dumb", COLUMNS="200", PYTHONUNBUFFERED="1")
    api_port, prefect_port = free_port(), free_port()
    while prefect_port == api_port:
        prefect_port = free_port()
    argv = [
        casework_program(),
        "run",
        "--host",
        "127.0.0.1",
        "--port",
        str(api_port),
        "--prefect-port",
        str(prefect_port),
        "--no-demo",
    ]
    if args.rss_api_workers:
        argv += ["--workers", str(args.rss_api_workers)]
    console.print(f"[bold]casework run[/]: {' '.join(argv[1:])} (CASEWORK_DATA_DIR={data_dir})")
    process: subprocess.Popen[str] | None = None
    reader: OutputReader | None = None
    started: list[int] = []
    try:
        t0 = time.perf_counter()
        process = subprocess.Popen(
            argv,
            env=env,
            cwd=data_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            bufsize=1,
        )
        reader = OutputReader(process.stdout, "Casework is running")
        reader.start()
        deadline = time.monotonic() + args.rss_timeout
        while not reader.ready.is_set():
            if process.poll() is not None or time.monotonic() > deadline:
                reader.done.wait(5)
                tail = "\n".join(reader.lines[-30:])
                why = f"exited {process.returncode}" if process.poll() is not None else "timed out"
                raise RuntimeError(f"casework run did not report 'Casework is running' ({why}):\n{tail}")
            time.sleep(0.2)
        start_s = time.perf_counter() - t0
        time.sleep(1.0)  # the pid lines follow the "running" line
        children: dict[str, int] = {}
        for line in reader.lines:
            if match := PID_LINE.match(line):
                children[match["name"]] = int(match["pid"])
        console.print(
            f"  running after {start_s:.1f} s; children: "
            + ", ".join(f"{name} {pid}" for name, pid in children.items())
        )
        if not children:
            raise RuntimeError("casework run printed no child pids:\n" + "\n".join(reader.lines[-30:]))
        console.print(f"  waiting {args.rss_settle:.0f} s for it to settle")
        time.sleep(args.rss_settle)
        if process.poll() is not None:
            raise RuntimeError(
                f"casework run exited ({process.returncode}) while settling:\n" + "\n".join(reader.lines[-30:])
            )
        parents = parent_map()
        processes = []
        if (own := memory_of("casework run (supervisor)", process.pid)) is not None:
            processes.append(own)
        for name, pid in children.items():
            for member in [pid, *descendants(pid, parents)]:
                if (m := memory_of(name, member)) is not None:
                    processes.append(m)
        started = [m.pid for m in processes if m.pid != process.pid]
        exit_code, stop_s = stop_run(process, reader, args.rss_stop_timeout)
        leftovers = reap_leftovers(started)
        console.print(
            f"  stopped with SIGINT: exit status {exit_code} after {stop_s:.1f} s"
            + (f"; [red]still running afterwards (terminated): {leftovers}[/]" if leftovers else "")
        )
        return RssResult(
            processes,
            args.rss_settle,
            start_s,
            exit_code,
            stop_s,
            leftovers,
            args.rss_api_workers or "default (2 per CPU, at most 8)",
        )
    finally:
        if process is not None and process.poll() is None:
            stop_run(process, reader, args.rss_stop_timeout)
            reap_leftovers(started)
        shutil.rmtree(data_dir, ignore_errors=True)


def print_rss(result: RssResult) -> None:
    roles: dict[str, list[ProcessMemory]] = {}
    for m in result.processes:
        roles.setdefault(m.role, []).append(m)
    rows = []
    for role, members in roles.items():
        pss = [m.pss_kb for m in members]
        rows.append(
            (
                role,
                ", ".join(str(m.pid) for m in members),
                len(members),
                sum(m.rss_kb for m in members) / MB,
                sum(p for p in pss if p is not None) / MB if all(p is not None for p in pss) else None,
                sum(m.hwm_kb for m in members) / MB,
            )
        )
    total_pss = [m.pss_kb for m in result.processes]
    rows.append(
        (
            "total",
            "",
            len(result.processes),
            sum(m.rss_kb for m in result.processes) / MB,
            sum(p for p in total_pss if p is not None) / MB if all(p is not None for p in total_pss) else None,
            sum(m.hwm_kb for m in result.processes) / MB,
        )
    )
    print_table(
        f"casework run --no-demo: resident memory {result.settle_s:.0f} s after 'Casework is running' "
        f"(API workers: {result.api_workers})",
        ["role", "pids", "processes", "VmRSS MiB", "PSS MiB", "VmHWM MiB"],
        rows,
        caption="VmRSS summed over the role's processes counts pages shared between forked processes (API "
        "server and its workers) once per process; PSS divides shared pages among their sharers, so its sum "
        "is the role's real share of memory. VmHWM: each process's peak RSS so far.",
    )
    print_table(
        "casework run: every process",
        ["role", "command", "pid", "VmRSS MiB", "PSS MiB"],
        [
            (
                m.role,
                short_command(m.command),
                str(m.pid),
                m.rss_kb / MB,
                m.pss_kb / MB if m.pss_kb is not None else None,
            )
            for m in result.processes
        ],
    )


# -- output -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    backend: str
    measurement: str
    value: float
    target: str
    verdict: str  # "met", "NOT met", or "" (shown, no target)
    key: dict[str, Any]  # for the RESULT line


def print_results(results: list[SizeResult]) -> list[Check]:
    rows = []
    for r in results:
        applied = " / ".join(f"{n:,}" for n in r.applied) + ("" if r.all_applied else " [red](!)[/]")
        rows.append(
            (
                r.backend,
                f"{r.open:,}",
                r.overdue,
                r.seed_s,
                r.list_due_ms,
                r.sweep_s,
                " / ".join(f"{s.sweep_s:.2f}" for s in r.sweeps),
                r.sweep_list_ms,
                applied,
                r.per_escalation_ms,
                r.add_note.p50_ms,
                r.add_note.mean_ms,
                ratio(r.per_escalation_ms, r.add_note.mean_ms),
            )
        )
    sweeps = len(results[0].sweeps)
    print_table(
        "Escalation sweep: open negotiations vs overdue ones (single process, one transaction per escalation)",
        [
            "database",
            "open",
            "overdue",
            "seed s",
            "list_due ms",
            "sweep s",
            "each sweep s",
            "its list ms",
            "escalations",
            "per-escalation ms",
            "add_note p50 ms",
            "add_note mean ms",
            "per-esc ÷ add_note mean",
        ],
        rows,
        caption=f"{sweeps} sweep(s) per size, on business days {SWEEP_DAY}..{SWEEP_DAY + sweeps - 1}, each finding "
        "--overdue negotiations overdue among the open ones; the sizes take turns in every round. list_due ms: "
        "median of the --repeat calls before every sweep. sweep s: run_sweep(cw, 'escalation', SYSTEM), "
        "median (each listed); its list ms: the list_due inside it. per-escalation ms: (sweep − its "
        "listing) / escalations applied, median over the sweeps. add_note: a mediator's "
        "Casework.execute(dispute, 'add_note') on the same database, a share after every sweep.",
    )
    checks: list[Check] = []
    by_backend: dict[str, list[SizeResult]] = {}
    for r in results:
        by_backend.setdefault(r.backend, []).append(r)
    for backend, group in by_backend.items():
        base = min(group, key=lambda r: r.open)
        for r in group:
            if r is not base:
                for what, value in (
                    ("sweep", ratio(r.sweep_s, base.sweep_s)),
                    ("list_due", ratio(r.list_due_ms, base.list_due_ms)),
                ):
                    checks.append(
                        Check(
                            backend,
                            f"{what} t({r.open:,}) ÷ t({base.open:,}), {r.overdue:,} overdue",
                            value,
                            f"≤ {SWEEP_RATIO_TARGET}",
                            verdict(value, SWEEP_RATIO_TARGET),
                            {
                                "what": f"{what}_time_ratio",
                                "open": r.open,
                                "base_open": base.open,
                                "target_max": SWEEP_RATIO_TARGET,
                            },
                        )
                    )
        for r in group:
            value = ratio(r.per_escalation_ms, r.add_note.mean_ms)
            checks.append(
                Check(
                    backend,
                    f"per-escalation ÷ add_note mean, {r.open:,} open",
                    value,
                    f"≤ {ESCALATION_RATIO_TARGET:.0f}",
                    verdict(value, ESCALATION_RATIO_TARGET),
                    {"what": "escalation_vs_add_note_mean", "open": r.open, "target_max": ESCALATION_RATIO_TARGET},
                )
            )
            checks.append(
                Check(
                    backend,
                    f"per-escalation ÷ add_note p50, {r.open:,} open",
                    ratio(r.per_escalation_ms, r.add_note.p50_ms),
                    "(shown)",
                    "",
                    {},
                )
            )
            checks.append(
                Check(
                    backend,
                    f"escalations applied per sweep, {r.open:,} open (fewest)",
                    float(min(r.applied)),
                    f"= {r.overdue:,}",
                    "met" if r.all_applied else "NOT met",
                    {"what": "escalations_applied_min", "open": r.open, "target": r.overdue},
                )
            )
    print_table(
        "Ratios and their targets",
        ["database", "measurement", "value", "target", "verdict"],
        [
            (
                c.backend,
                c.measurement,
                c.value,
                c.target,
                f"[green]{c.verdict}[/]" if c.verdict == "met" else f"[red]{c.verdict}[/]" if c.verdict else "",
            )
            for c in checks
        ],
    )
    return checks


# -- main ------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sweep",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Seeding 100,000 negotiations takes a few minutes on a 2-core machine (SQLite).",
    )
    parser.add_argument(
        "--open",
        type=int,
        nargs="+",
        default=[10_000, 100_000],
        metavar="N",
        help="sizes: open negotiations per fresh database (default: %(default)s)",
    )
    parser.add_argument(
        "--overdue",
        type=int,
        default=1000,
        help="of which overdue on the sweep's day, in every size (default %(default)s)",
    )
    parser.add_argument(
        "--batch", type=int, default=500, help="negotiations opened per seeding transaction (default %(default)s)"
    )
    parser.add_argument(
        "--sweeps",
        type=int,
        default=3,
        help="sweeps per size, one a day from day 21, each finding --overdue negotiations overdue "
        "(a cohort opened each day from day 0); medians are reported; 1 = the overdue ones on "
        "day 0 only, swept once on day 21 (default %(default)s, at most 10)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="list_due calls timed before every sweep; the median is reported (default %(default)s)",
    )
    parser.add_argument(
        "--disputes",
        type=int,
        default=100,
        help="labor disputes the mediator's notes go to, round-robin (default %(default)s)",
    )
    parser.add_argument(
        "--notes",
        type=int,
        default=600,
        help="timed add_note commands per size, shared out after the sweeps (default %(default)s)",
    )
    parser.add_argument("--warmup", type=int, default=50, help="untimed add_note commands first (default %(default)s)")
    group = parser.add_argument_group("databases")
    group.add_argument("--postgres", action="store_true", help="also measure on PostgreSQL (a fresh schema per size)")
    group.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="PostgreSQL server (default: $CASEWORK_BENCH_POSTGRES_URL or %(default)s)",
    )
    group.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    group = parser.add_argument_group("resident memory of `casework run`")
    group.add_argument(
        "--run-rss",
        action="store_true",
        help="also start `casework run --no-demo` and report the resident memory of its processes",
    )
    group.add_argument("--rss-only", action="store_true", help="only the --run-rss measurement (implies it)")
    group.add_argument(
        "--rss-settle",
        type=float,
        default=30.0,
        help="seconds to wait after 'Casework is running' before reading memory (default %(default)s)",
    )
    group.add_argument(
        "--rss-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for 'Casework is running' (default %(default)s)",
    )
    group.add_argument(
        "--rss-stop-timeout",
        type=float,
        default=90.0,
        help="seconds to wait for it to exit after SIGINT (default %(default)s)",
    )
    group.add_argument(
        "--rss-api-workers",
        type=int,
        default=None,
        help="pass --workers to `casework run` (default: its own default, 2 per CPU, at most 8)",
    )
    args = parser.parse_args(argv)
    args.run_rss = args.run_rss or args.rss_only
    if not 1 <= args.sweeps <= LATE_DAYS:
        parser.error(f"--sweeps must be between 1 and {LATE_DAYS}")
    if min(args.open) < 1 or args.overdue < 1 or args.overdue * args.sweeps > min(args.open):
        parser.error("--open sizes must be positive and --overdue × --sweeps between 1 and the smallest size")
    if min(args.batch, args.repeat, args.disputes, args.notes) < 1 or args.warmup < 0:
        parser.error("--batch, --repeat, --disputes and --notes must be positive, --warmup not negative")
    exit_cleanly_on_sigterm()
    console.print(environment_line())
    console.print(f"load average before the run: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")

    kinds: list[str] = (
        [] if args.rss_only else [k for k, on in (("sqlite", not args.no_sqlite), ("postgresql", args.postgres)) if on]
    )
    skipped = []
    if "postgresql" in kinds and (problem := postgres_problem(args.postgres_url)):
        kinds.remove("postgresql")
        skipped.append(f"PostgreSQL skipped: {args.postgres_url} unreachable ({problem})")
        console.print(f"[yellow]{skipped[-1]}[/]")

    results: list[SizeResult] = []
    for kind in kinds:
        results.extend(measure_backend(kind, sorted(set(args.open)), args))
    rss = measure_run_rss(args) if args.run_rss else None

    checks = print_results(results) if results else []
    if rss is not None:
        print_rss(rss)
    console.print(f"load average after the run: {os.getloadavg()[0]:.2f} (1 min)")

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for r in results:
        db = "sqlite" if r.backend.startswith("SQLite") else "postgresql"
        print(
            plain(
                f"{db} sweep",
                open=r.open,
                overdue=r.overdue,
                sweeps=len(r.sweeps),
                seed_s=r.seed_s,
                list_due_ms=r.list_due_ms,
                sweep_s=r.sweep_s,
                sweep_list_ms=r.sweep_list_ms,
                escalations="/".join(map(str, r.applied)),
                per_escalation_ms=r.per_escalation_ms,
                add_note_n=r.add_note.n,
                add_note_p50_ms=r.add_note.p50_ms,
                add_note_mean_ms=r.add_note.mean_ms,
                due_after="/".join(str(s.due_after) for s in r.sweeps),
                escalation_ratio=ratio(r.per_escalation_ms, r.add_note.mean_ms),
            )
        )
    for c in checks:
        if c.key:
            db = "sqlite" if c.backend.startswith("SQLite") else "postgresql"
            print(plain(f"{db} check", **c.key, value=c.value, verdict=c.verdict.replace(" ", "_")))
    if rss is not None:
        roles: dict[str, list[ProcessMemory]] = {}
        for m in rss.processes:
            roles.setdefault(m.role, []).append(m)
        for role, members in roles.items():
            print(
                plain(
                    "run_rss",
                    role=role.replace(" ", "_"),
                    processes=len(members),
                    rss_mib=sum(m.rss_kb for m in members) / MB,
                    pss_mib=sum(m.pss_kb or 0 for m in members) / MB,
                )
            )
        print(
            plain(
                "run_rss",
                role="total",
                processes=len(rss.processes),
                rss_mib=sum(m.rss_kb for m in rss.processes) / MB,
                pss_mib=sum(m.pss_kb or 0 for m in rss.processes) / MB,
                exit_code=rss.exit_code,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
