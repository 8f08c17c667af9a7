"""Read-model rebuild: rate next to the raw event read rate, and peak memory at two store sizes.

BUILD   A store of E events written through the engine: labor-dispute cases filed, accepted, put into
        mediation, a session recorded, then notes — each case `--events-per-case` events. To keep build
        time reasonable, one engine transaction (Casework.transact, the code path of open_case/execute:
        aggregate methods, hash chain, event store, read-model projection, idempotency record) carries
        the same step for up to `--batch` cases, and the builder keeps the cohort's case objects between
        its own transactions instead of replaying them each time. Steps advance cohort by cohort, so a
        case's events lie about `--cohort` events apart in the log, as when many cases are worked at once.
ANCHOR  cw.store.recorder.select_notifications over every event, pages of `--page-size` (raw rows/s).
        Shown beside it, not a target: the same read plus cw.store.mapper.to_domain_event per row.
PRODUCT engine.rebuild.rebuild(cw): events/s, and its ratio to the anchor (target >= 0.25).
        Beside it, not a target: engine.read_model_check.check_read_models(cw), the same replay compared
        with the stored rows in one snapshot instead of written (`casework verify --read-models`).
MEMORY  Each measured operation runs in a fresh Python process: a rebuild at two store sizes ten times
        apart (--small-events and --events), and `engine.demo.load_demo` at two sizes ten times apart,
        each on a fresh database. Reported per run: the process's peak RSS (VmHWM, imports included), the
        operation's own peak above the RSS it started from (VmHWM after resetting it via
        /proc/self/clear_refs), and — in a second fresh process — the tracemalloc peak of the operation
        (for the demo only with --demo-tracemalloc: tracemalloc slows it several times). ru_maxrss from
        RUSAGE_CHILDREN/wait4 is not used: on Linux a child inherits its parent's high-water mark.
        Target: peak memory does not grow with the number of events (growth column ~1.0x).

    .venv/bin/python -m benchmarks.rebuild                  # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.rebuild --no-postgres --events 5000 --no-demo
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID

from benchmarks.common import (
    REPO_ROOT,
    Backend,
    add_database_arguments,
    console,
    credit_code,
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

MB = 1024 * 1024
NOTE = "电话回访申请人，核实工资拖欠月份与金额；用人单位表示下周提供工资台账。"
SESSION = "双方到场，申请人陈述诉求，用人单位同意核对工资台账。"
STEPS = ("file", "accept", "start_mediation", "record_session", "add_note")  # a case's events, in order


# -- building a store through the engine -----------------------------------------------------------


@dataclass
class StoreBuilder:
    """Writes labor-dispute cases through Casework.transact until the store holds a given number of events."""

    cw: Any
    events_per_case: int = 10
    cohort: int = 1000
    batch: int = 100
    opened: int = 0  # cases opened so far (names and numbers continue across calls)
    live: dict[Any, Any] = field(default_factory=dict)  # this cohort's cases as last committed
    commands: int = 0  # engine transactions run
    seconds: float = 0.0

    def grow_to(self, target_events: int) -> int:
        """Add cases until the store holds at least `target_events` events; returns the count."""
        from engine.service import Actor

        actor = Actor(id="mediator-bench", role="mediator")
        t0 = time.perf_counter()
        have = self.cw.store.recorder.max_notification_id() or 0
        while have < target_events:
            remaining = target_events - have
            cases = min(self.cohort, -(-remaining // self.events_per_case))
            lengths = [self.events_per_case] * cases
            lengths[-1] = (
                remaining - self.events_per_case * (cases - 1)
                if remaining < cases * self.events_per_case
                else self.events_per_case
            )
            ids: list[Any] = []
            for step in range(max(lengths)):
                todo = [i for i in range(cases) if lengths[i] > step]
                for chunk_start in range(0, len(todo), self.batch):
                    chunk = todo[chunk_start : chunk_start + self.batch]
                    if step == 0:
                        work = partial(self._open, chunk=chunk)
                    else:
                        work = partial(self._step, case_ids=[ids[i] for i in chunk], step=step)
                    try:
                        result = self.cw.transact(actor, STEPS[min(step, len(STEPS) - 1)], work)
                    except BaseException:
                        self.live.clear()  # they may hold uncommitted changes
                        raise
                    self.commands += 1
                    if step == 0:  # the first case opened is the result's case; the others are linked
                        ids.extend([result.case_id, *(UUID(c["case_id"]) for c in result.linked)])
            self.opened += cases
            self.live.clear()
            have = self.cw.store.recorder.max_notification_id() or 0
        self.seconds += time.perf_counter() - t0
        return have

    def _open(self, uow: Any, chunk: list[int]) -> Any:
        first = None
        for i in chunk:
            n = self.opened + i
            case = uow.open(
                "labor_dispute",
                org_unit=f"suzhou.district{n % 7}",
                employer={"name": f"苏州精密制造有限公司 {n}", "credit_code": credit_code(n)},
                applicants=[{"name": f"王{n}", "phone": f"1380000{n % 10000:04d}"}],
                workers_involved=1 + n % 12,
                claims=[{"category": "wages", "amount": f"{1000 + n % 9000}.00"}],
                summary="拖欠三个月工资",
            )
            self.live[case.id] = case
            first = first or case
        return first

    def _step(self, uow: Any, case_ids: list[Any], step: int) -> Any:
        ctx = uow.ctx
        first = None
        for case_id in case_ids:
            case = self.live.get(case_id)
            if case is None:
                case = self.live[case_id] = uow.load(case_id)
            else:  # the object this builder committed last time: what uow.load would replay, without replaying
                uow.touched[case.id] = case
            if step == 1:
                case.accept(ctx)
            elif step == 2:
                case.start_mediation(ctx, mediator="mediator-bench")
            elif step == 3:
                case.record_session(ctx, held_on=ctx.today, summary=SESSION)
            else:
                case.add_note(ctx, text=f"{NOTE} #{step}")
            first = first or case
        return first


# -- rates (in this process) ---------------------------------------------------------------------------


def read_all(cw: Any, page_size: int, decode: bool) -> tuple[int, float]:
    recorder, mapper = cw.store.recorder, cw.store.mapper
    t0 = time.perf_counter()
    count, start = 0, 1
    while True:
        page = recorder.select_notifications(start=start, limit=page_size)
        if not page:
            break
        if decode:
            for notification in page:
                mapper.to_domain_event(notification)
        count += len(page)
        start = page[-1].id + 1
    return count, time.perf_counter() - t0


def timed_rebuild(cw: Any, page_size: int) -> tuple[int, int, float]:
    from engine.rebuild import rebuild

    t0 = time.perf_counter()
    report = rebuild(cw, page_size=page_size)
    return report.events, report.cases, time.perf_counter() - t0


def timed_check(cw: Any, page_size: int) -> tuple[int, int, float]:
    from engine.read_model_check import check_read_models

    t0 = time.perf_counter()
    checked = check_read_models(cw, page_size=page_size)
    seconds = time.perf_counter() - t0
    if not checked.ok:
        raise RuntimeError(f"the read models differ from the events after a rebuild: {checked.differences[0]}")
    return checked.events, checked.rows, seconds


# -- memory (each run in a fresh process) ---------------------------------------------------------------


def _status_kb(field_name: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0), so the peak that follows is the operation's own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    hwm, rss = _status_kb("VmHWM"), _status_kb("VmRSS")
    return hwm is not None and rss is not None and hwm <= rss + 256


def child_main(spec: dict[str, Any]) -> None:
    """Run one measured operation; write what was measured to spec['out'] as JSON."""
    result: dict[str, Any] = {"op": spec["op"]}
    try:
        backend = Backend.from_json(spec["backend"])
        page_size = spec.get("page_size", 1000)
        run: Callable[[], object]
        if spec["op"] == "rebuild":
            from engine.rebuild import rebuild

            cw = open_engine(backend, spec.get("cipher_key"), migrate=False)
            cw.store.recorder.max_notification_id()  # connect before measuring
            run = lambda: rebuild(cw, page_size=page_size)  # noqa: E731
        else:
            from engine.demo import load_demo

            cw = open_engine(backend, spec.get("cipher_key"), migrate=True)
            settings = backend.settings(spec.get("cipher_key"))
            run = lambda: load_demo(settings, size=spec["size"], seed=7, progress=None)  # noqa: E731
        import gc

        gc.collect()
        result["startup_hwm_kb"] = _status_kb("VmHWM")
        result["baseline_rss_kb"] = _status_kb("VmRSS")
        result["hwm_reset"] = _reset_peak_rss()
        if spec.get("tracemalloc"):
            tracemalloc.start()
        t0 = time.perf_counter()
        outcome = run()
        result["seconds"] = time.perf_counter() - t0
        if spec.get("tracemalloc"):
            result["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        result["hwm_kb"] = _status_kb("VmHWM")
        result["events"] = cw.store.recorder.max_notification_id() or 0
        result["cases"] = getattr(outcome, "cases", None)
        result["commands"] = getattr(outcome, "commands", None)
        cw.close()
    except BaseException as e:
        import traceback

        result["error"] = f"{type(e).__name__}: {e}"
        result["traceback"] = traceback.format_exc(limit=-4)
    Path(spec["out"]).write_text(json.dumps(result, default=str))


@dataclass
class MemoryRun:
    db: str
    op: str
    size: str
    events: int | None = None
    seconds: float | None = None
    peak_rss_mb: float | None = None  # whole child process (imports included): VmHWM
    op_peak_mb: float | None = None  # the operation's own peak above its starting RSS
    tracemalloc_mb: float | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run child_main(spec) in a fresh interpreter and return what it measured.

    Peak RSS comes from the child's own VmHWM, not from wait4/RUSAGE_CHILDREN: on Linux a child's
    ru_maxrss starts from the parent's high-water mark (it survives fork/vfork + exec), so it would
    report this parent's size, not the child's.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".json", delete=False) as handle:
        out = handle.name
    spec = {**spec, "out": out}
    try:  # run from the repository root, where `-m benchmarks.rebuild` finds the package
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.rebuild", "--child", json.dumps(spec)], cwd=REPO_ROOT, check=False
        )
        text = Path(out).read_text()
        return json.loads(text) if text else {"error": f"child exited with {proc.returncode} and no result"}
    finally:
        Path(out).unlink(missing_ok=True)


def measure_memory(
    db: str, op: str, size_label: str, fresh: Callable[[], Any], spec: dict[str, Any], with_tracemalloc: bool
) -> MemoryRun:
    """Measure `op` in a fresh process; again with tracemalloc in another. `fresh()` gives the database each
    run works on: the same store for a rebuild (it only rewrites the read model), a new one for a demo."""
    run = MemoryRun(db=db, op=op, size=size_label)
    with fresh() as backend:
        result = run_child({**spec, "backend": backend.to_json(), "op": op, "tracemalloc": False})
    if "error" in result:
        run.error = result["error"]
        console.print(f"[red]{db} {op} {size_label} failed[/]: {run.error}\n{result.get('traceback', '')}")
        return run
    run.events, run.seconds = result.get("events"), result.get("seconds")
    hwm, start_hwm, baseline = result.get("hwm_kb"), result.get("startup_hwm_kb"), result.get("baseline_rss_kb")
    if hwm and start_hwm:
        run.peak_rss_mb = max(hwm, start_hwm) / 1024
    if hwm and baseline:
        run.op_peak_mb = (hwm - baseline) / 1024
        if not result.get("hwm_reset"):
            run.notes.append("VmHWM not resettable: op peak includes start-up")
    if with_tracemalloc:
        with fresh() as backend:
            traced = run_child({**spec, "backend": backend.to_json(), "op": op, "tracemalloc": True})
        if "error" in traced:
            run.notes.append(f"tracemalloc run failed: {traced['error']}")
        else:
            run.tracemalloc_mb = traced["tracemalloc_peak"] / MB
    return run


# -- one database --------------------------------------------------------------------------------------------


@dataclass
class BackendRun:
    db: str
    label: str
    events: int = 0
    cases: int = 0
    build_s: float = 0.0
    build_commands: int = 0
    anchor: tuple[int, float] = (0, float("inf"))
    decode: tuple[int, float] = (0, float("inf"))
    rebuild: tuple[int, int, float] = (0, 0, float("inf"))
    check: tuple[int, int, float] = (0, 0, float("inf"))
    """check_read_models: events, rows compared, seconds."""
    memory: list[MemoryRun] = field(default_factory=list)


def measure_backend(kind: str, args: argparse.Namespace, cipher_key: str | None, demo_ok: bool) -> BackendRun:
    with isolated_backend(kind, args.postgres_url) as backend:
        out = BackendRun(db=kind, label=backend.label)
        where = backend.schema or backend.workdir
        spec = {"cipher_key": cipher_key, "page_size": args.page_size}

        @contextmanager
        def same() -> Iterator[Backend]:
            yield backend

        cw = open_engine(backend, cipher_key)
        try:
            builder = StoreBuilder(cw, events_per_case=args.events_per_case, cohort=args.cohort, batch=args.batch)
            if args.memory:
                console.print(f"[bold]{backend.label}[/] ({where}): building {args.small_events:,} events")
                small = builder.grow_to(args.small_events)
                console.print(f"[bold]{backend.label}[/]: rebuild memory at {small:,} events (fresh process)")
                out.memory.append(measure_memory(kind, "rebuild", f"{small:,} events", same, spec, args.tracemalloc))
            console.print(f"[bold]{backend.label}[/] ({where}): building {args.events:,} events")
            out.events = builder.grow_to(args.events)
            out.build_s, out.build_commands, out.cases = builder.seconds, builder.commands, builder.opened
            if args.memory:
                console.print(f"[bold]{backend.label}[/]: rebuild memory at {out.events:,} events (fresh process)")
                out.memory.append(
                    measure_memory(kind, "rebuild", f"{out.events:,} events", same, spec, args.tracemalloc)
                )
            console.print(f"[bold]{backend.label}[/]: read rate and rebuild rate over {out.events:,} events")
            read_all(cw, args.page_size, decode=True)  # warm-up: caches, statements, topic resolution
            for _ in range(args.repeat):  # best of --repeat, interleaved, against noise from other processes
                out.anchor = min(out.anchor, read_all(cw, args.page_size, decode=False), key=_seconds)
                out.decode = min(out.decode, read_all(cw, args.page_size, decode=True), key=_seconds)
                out.rebuild = min(out.rebuild, timed_rebuild(cw, args.page_size), key=_seconds)
                out.check = min(out.check, timed_check(cw, args.page_size), key=_seconds)
        finally:
            cw.close()
    if args.memory and args.demo:
        if not demo_ok:
            for size in args.demo_sizes:
                out.memory.append(
                    MemoryRun(
                        db=kind, op="demo", size=f"size {size}", error="engine.demo is not importable yet: not measured"
                    )
                )
        for size in args.demo_sizes if demo_ok else ():
            console.print(f"[bold]{out.label}[/]: casework demo --size {size} (fresh database, fresh process)")
            out.memory.append(
                measure_memory(
                    kind,
                    "demo",
                    f"size {size}",
                    lambda: isolated_backend(kind, args.postgres_url),
                    {"cipher_key": cipher_key, "size": size},
                    args.demo_tracemalloc,
                )
            )
    return out


# -- main ----------------------------------------------------------------------------------------------------


def _seconds(measurement: tuple[Any, ...]) -> float:
    return measurement[-1]


def _growth(runs: list[MemoryRun], attr: str) -> float | None:
    values = [getattr(r, attr) for r in runs]
    if len(values) < 2 or any(v is None for v in values) or not values[0]:
        return None
    return values[-1] / values[0]


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(json.loads(sys.argv[2]))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rebuild",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults finish in about two minutes on a 2-core machine (both databases).",
    )
    parser.add_argument("--events", type=int, default=20_000, help="events in the store (default %(default)s)")
    parser.add_argument(
        "--small-events",
        type=int,
        default=None,
        help="the smaller store for the memory comparison (default: --events / 10)",
    )
    parser.add_argument("--events-per-case", type=int, default=10, help="events per case (default %(default)s)")
    parser.add_argument(
        "--cohort",
        type=int,
        default=1000,
        help="cases worked at once while building: a case's events lie about this many events "
        "apart (default %(default)s)",
    )
    parser.add_argument(
        "--batch", type=int, default=100, help="cases per engine transaction while building (default %(default)s)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="rate measurements are repeated and the best kept (default %(default)s)"
    )
    parser.add_argument("--page-size", type=int, default=1000, help="notifications per page (default %(default)s)")
    parser.add_argument(
        "--demo-sizes", default="1,10", help="two `casework demo --size` values ten times apart (default %(default)s)"
    )
    parser.add_argument("--no-demo", dest="demo", action="store_false", help="skip the demo memory runs")
    parser.add_argument(
        "--no-memory", dest="memory", action="store_false", help="skip every fresh-process memory run (rates only)"
    )
    parser.add_argument(
        "--no-tracemalloc",
        dest="tracemalloc",
        action="store_false",
        help="skip the second fresh process per memory run that measures the tracemalloc peak",
    )
    parser.add_argument(
        "--demo-tracemalloc",
        action="store_true",
        help="also measure the demo's tracemalloc peak (another fresh process and database per size; "
        "tracemalloc slows the demo several times, so it is off by default)",
    )
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    args.small_events = args.small_events or max(1, args.events // 10)
    try:
        args.demo_sizes = [int(s) for s in args.demo_sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--demo-sizes: whole numbers separated by commas")
    if (
        args.events < 1
        or args.events_per_case < 5
        or args.batch < 1
        or args.cohort < 1
        or args.page_size < 1
        or args.repeat < 1
    ):
        parser.error("sizes must be positive; --events-per-case at least 5 (file, accept, mediate, session, note)")
    exit_cleanly_on_sigterm()

    kinds, skipped = reachable_backends(args)
    demo_ok = importlib.util.find_spec("engine.demo") is not None
    if args.memory and args.demo and not demo_ok:
        skipped.append("demo memory not measured: engine.demo (load_demo) is not importable yet")
        console.print(f"[yellow]{skipped[-1]}[/]")
    cipher_key = new_cipher_key() if args.cipher else None
    console.print(environment_line())
    console.print(f"today {date.today()}; cipher {'on' if cipher_key else 'off'}")

    results = [measure_backend(kind, args, cipher_key, demo_ok) for kind in kinds]

    rows: list[tuple[Any, ...]] = []
    for r in results:
        a_n, a_s = r.anchor
        d_n, d_s = r.decode
        e_n, e_cases, e_s = r.rebuild
        rows.append(
            (
                r.label,
                f"build: {r.build_commands:,} engine transactions",
                r.events,
                r.build_s,
                ratio(r.events, r.build_s),
                None,
            )
        )
        rows.append((r.label, "anchor: recorder.select_notifications (raw)", a_n, a_s, ratio(a_n, a_s), None))
        rows.append(
            (
                r.label,
                "info: select_notifications + to_domain_event",
                d_n,
                d_s,
                ratio(d_n, d_s),
                ratio(ratio(d_n, d_s), ratio(a_n, a_s)),
            )
        )
        rows.append(
            (
                r.label,
                f"engine: rebuild(cw) → {e_cases:,} cases",
                e_n,
                e_s,
                ratio(e_n, e_s),
                ratio(ratio(e_n, e_s), ratio(a_n, a_s)),
            )
        )
        c_n, c_rows, c_s = r.check
        rows.append(
            (
                r.label,
                f"info: check_read_models(cw), {c_rows:,} rows compared",
                c_n,
                c_s,
                ratio(c_n, c_s),
                ratio(ratio(c_n, c_s), ratio(a_n, a_s)),
            )
        )
    print_table(
        "Read-model rebuild vs raw event read (same store, same run)",
        ["database", "measurement", "events", "seconds", "events/s", "÷ anchor"],
        rows,
        caption=f"Best of {args.repeat}; page size {args.page_size}; {args.events_per_case} events per case; "
        "target rebuild ÷ anchor ≥ 0.25." + (" Events encrypted (cipher)." if cipher_key else ""),
    )

    mem_rows = []
    for r in results:
        for op in ("rebuild", "demo"):
            runs = [m for m in r.memory if m.op == op]
            for i, m in enumerate(runs):
                last = i == len(runs) - 1 and len(runs) > 1
                growth = (_growth(runs, "op_peak_mb"), _growth(runs, "tracemalloc_mb")) if last else (None, None)
                mem_rows.append(
                    (
                        r.label,
                        f"{op} @ {m.size}",
                        m.events,
                        m.seconds,
                        m.peak_rss_mb,
                        m.op_peak_mb,
                        m.tracemalloc_mb,
                        f"{growth[0]:.2f}x" if growth[0] else None,
                        f"{growth[1]:.2f}x" if growth[1] else None,
                        m.error or "; ".join(m.notes) or None,
                    )
                )
    if mem_rows:
        print_table(
            "Peak memory per operation, each in a fresh process",
            [
                "database",
                "operation",
                "events",
                "seconds",
                "process peak RSS MB",
                "op peak above start MB",
                "tracemalloc peak MB",
                "growth (op RSS)",
                "growth (tracemalloc)",
                "note",
            ],
            mem_rows,
            caption="Process peak RSS: the child's VmHWM (imports included). Op peak: VmHWM after resetting it "
            "at the start of the operation, minus the RSS then. Growth: larger size ÷ smaller size; "
            "target ~1.0x (memory flat in the number of events).",
        )

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for r in results:
        a_n, a_s = r.anchor
        d_n, d_s = r.decode
        e_n, e_cases, e_s = r.rebuild
        print(
            plain(
                f"{r.db} build",
                events=r.events,
                cases=r.cases,
                transactions=r.build_commands,
                seconds=r.build_s,
                events_per_s=ratio(r.events, r.build_s),
            )
        )
        print(plain(f"{r.db} anchor_select_notifications", events=a_n, seconds=a_s, events_per_s=ratio(a_n, a_s)))
        print(plain(f"{r.db} read_and_decode", events=d_n, seconds=d_s, events_per_s=ratio(d_n, d_s)))
        print(
            plain(
                f"{r.db} engine_rebuild",
                events=e_n,
                cases=e_cases,
                seconds=e_s,
                events_per_s=ratio(e_n, e_s),
                ratio=ratio(ratio(e_n, e_s), ratio(a_n, a_s)),
                cipher=bool(cipher_key),
            )
        )
        c_n, c_rows, c_s = r.check
        print(
            plain(
                f"{r.db} read_model_check",
                events=c_n,
                rows=c_rows,
                seconds=c_s,
                events_per_s=ratio(c_n, c_s),
                ratio=ratio(ratio(c_n, c_s), ratio(a_n, a_s)),
                vs_rebuild=ratio(c_s, e_s),
                cipher=bool(cipher_key),
            )
        )
        for m in r.memory:
            fields: dict[str, Any] = {"size": m.size.replace(",", "").replace(" ", "_")}
            if m.error:
                fields["error"] = json.dumps(m.error)
            else:
                fields.update(
                    events=m.events,
                    seconds=m.seconds,
                    peak_rss_mb=m.peak_rss_mb,
                    op_peak_mb=m.op_peak_mb,
                    tracemalloc_peak_mb=m.tracemalloc_mb if m.tracemalloc_mb is not None else "n/a",
                )
            print(plain(f"{r.db} memory_{m.op}", **fields))
    return 0


if __name__ == "__main__":
    sys.exit(main())
