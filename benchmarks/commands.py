"""Command throughput and latency: the engine next to the bare eventsourcing recorder, same database.

ANCHOR  eventsourcing's own application recorder (eventsourcing.sqlite / eventsourcing.postgres)
        on the same database: N calls of `insert_events([one StoredEvent])`, each its own
        transaction, each timed. The stored state is ~600 bytes of JSON shaped like a Casework
        event. Access pattern: consecutive versions of a pool of originators, round-robin — the
        same shape as the product measurement (a note appended to one of P existing cases), so
        both write one row into a (originator_id, originator_version) primary-key index at a
        spread of positions and neither pays for an ever-growing single aggregate.
PRODUCT Casework.execute(case_id, "add_note", ...) on P pre-opened labor-dispute cases, round-robin,
        single-threaded like the anchor: load the case (replay its events, checking each one's hash
        chain), check stage and role, record one hash-chained event, update the read model and write
        the idempotency record — one transaction. Casework.open_case("labor_dispute", ...) is
        reported separately (the P opens, after a warm-up).
PEER    py-eventsourcing's own Application (eventsourcing.application.Application, SQLAlchemy persistence
        module eventsourcing_sqlalchemy, table `peerdossiers_events`) on the same database, with a small
        Aggregate `Dossier` and its `add_note` event method: `app.repository.get(id)`, `add_note(...)`,
        `app.save(dossier)` — N times, round-robin over P aggregates of --peer-events events each
        (default 10). Next to it, Casework's add_note on P labor-dispute cases of the same length
        (opened, then --peer-events - 1 notes). Both pools grow alike during the run. With --cipher,
        both the peer application and the engine encrypt (eventsourcing's AESCipher, the same key).
CHECK   what the hash-chain check on every read costs: the stored events of the P cases, each decoded
        as a load decodes it, timed alone and with the check (engine.integrity.decode_link: the
        content's hash recomputed, its link to the previous event compared). The difference per
        event, times the events an add_note loads, is the check's share of a command.

Same database: on SQLite the anchor's file (eventsourcing's SQLiteDatastore, WAL like Casework's) sits
in the run's temp directory next to Casework's; on PostgreSQL both use the run's bench schema. Anchor
and engine alternate in blocks of --block operations so background load affects both alike.

Ratios: throughput engine/anchor (target >= 0.8) and p50 latency engine/anchor (a multiple; 1.0
means as fast as the anchor). These are measurements, not assertions.

    .venv/bin/python -m benchmarks.commands                # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.commands --no-postgres -n 300
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.domain import event as event_method

from benchmarks.common import (
    AnchorUnavailable,
    Backend,
    LatencyStats,
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
from benchmarks.common import add_database_arguments as _add_db_args
from engine.store import CIPHER_TOPIC

ANCHOR_STATE_BYTES = 600
NOTE_TEXT = "电话回访申请人，核实工资拖欠月份与金额；用人单位表示下周提供台账。"
ANCHOR_TOPIC = "aggregates.labor_dispute:LaborDispute.NoteAdded"


@dataclass
class BackendResult:
    backend: str
    anchor: LatencyStats
    add_note: LatencyStats
    peer: LatencyStats
    add_note_long: LatencyStats
    peer_events_per_load: float
    open_case: LatencyStats
    anchor_bytes: int
    engine_bytes: float
    cases: int
    decode: LatencyStats
    decode_and_check: LatencyStats
    events_per_load: float
    profile: str | None = None


# -- anchor --------------------------------------------------------------------------------------


def anchor_state(i: int) -> bytes:
    """~600 bytes of JSON shaped like a Casework note event (as eventsourcing stores it: no id/version)."""
    body: dict[str, Any] = {
        "timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:00:00.000000+00:00"},
        "actor_id": "mediator-0001",
        "actor_role": "mediator",
        "command_id": str(uuid.uuid4()),
        "occurred_at": {"_type_": "datetime_iso", "_data_": "2026-03-02T09:00:00.000000+00:00"},
        "reason": None,
        "stage": "filed",
        "data": {"text": ""},
        "clocks_opened": {},
        "clocks_closed": [],
        "flow_run_id": None,
        "prev_hash": f"{i:064x}",
        "hash": f"{i + 1:064x}",
    }
    base = len(json.dumps(body, separators=(",", ":")).encode())
    body["data"]["text"] = "x" * max(0, ANCHOR_STATE_BYTES - base)
    return json.dumps(body, separators=(",", ":")).encode()


class Anchor:
    """Single-event appends through eventsourcing's own recorder, round-robin over a pool of originators."""

    def __init__(self, recorder: Any, pool: int) -> None:
        self.recorder = recorder
        self.originators = [uuid.uuid4() for _ in range(pool)]
        self.versions = [0] * pool
        self.i = 0
        self.size = 0

    def insert_one(self) -> float:
        from eventsourcing.persistence import StoredEvent

        slot = self.i % len(self.originators)
        self.versions[slot] += 1
        state = anchor_state(self.i)
        self.size = len(state)
        self.i += 1
        event = StoredEvent(
            originator_id=self.originators[slot],
            originator_version=self.versions[slot],
            topic=ANCHOR_TOPIC,
            state=state,
        )
        t0 = time.perf_counter()
        self.recorder.insert_events([event])
        return time.perf_counter() - t0


# -- peer: py-eventsourcing's own Application on the same database ---------------------------------------


class Dossier(Aggregate):
    """A small aggregate whose one command appends a note, like Casework's add_note."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.notes: list[str] = []

    @event_method("NoteAdded")
    def add_note(self, text: str) -> None:
        self.notes.append(text)


class PeerDossiers(Application[uuid.UUID]):
    """The peer application: nothing but eventsourcing's defaults."""


def peer_application(backend: Backend, cipher_key: str | None) -> PeerDossiers:
    """An eventsourcing Application with SQLAlchemy persistence (as Casework's CaseStore uses) on `backend`'s
    database; its own table `peerdossiers_events`, created by eventsourcing."""
    env: dict[str, str] = {
        "PERSISTENCE_MODULE": "eventsourcing_sqlalchemy",
        "SQLALCHEMY_URL": backend.url,
        "CREATE_TABLE": "yes",
    }
    if cipher_key:
        env["CIPHER_TOPIC"] = CIPHER_TOPIC  # the peer encrypts as Casework does
        env["CIPHER_KEY"] = cipher_key
    return PeerDossiers(env=env)


class Peer:
    """get, add_note, save through an eventsourcing Application, round-robin over a pool of aggregates."""

    def __init__(self, app: PeerDossiers, pool: int, events: int) -> None:
        self.app = app
        self.ids: list[uuid.UUID] = []
        for k in range(pool):
            dossier = Dossier(title=f"dossier {k}")
            for _ in range(events - 1):
                dossier.add_note(NOTE_TEXT)
            app.save(dossier)
            self.ids.append(dossier.id)
        self.i = 0
        self.loaded = 0

    def add_note(self) -> float:
        dossier_id = self.ids[self.i % len(self.ids)]
        self.i += 1
        t0 = time.perf_counter()
        dossier: Dossier = self.app.repository.get(dossier_id)
        dossier.add_note(NOTE_TEXT)
        self.app.save(dossier)
        elapsed = time.perf_counter() - t0
        self.loaded += dossier.version - 1
        return elapsed


# -- product -------------------------------------------------------------------------------------


def dispute(i: int) -> dict[str, Any]:
    return {
        "org_unit": f"suzhou.district{i % 7}",
        "employer": {"name": f"苏州精密制造有限公司 {i}", "credit_code": credit_code(i)},
        "applicants": [{"name": f"王{i}", "phone": f"1380000{i % 10000:04d}"}],
        "workers_involved": 1 + i % 12,
        "claims": [{"category": "wages", "amount": f"{1000 + i % 9000}.00"}],
        "summary": "拖欠三个月工资",
    }


def chain_check(cw: Any, case_ids: list[uuid.UUID], rounds: int = 3) -> tuple[LatencyStats, LatencyStats]:
    """Per stored event of `case_ids`: decoding it alone, and decoding it with the hash-chain check a read makes."""
    from aggregates.chain import GENESIS
    from engine.integrity import decode_link

    mapper = cw.store.mapper
    stored = [cw.store.recorder.select_events(case_id) for case_id in case_ids]
    decode, check = [], []
    for _ in range(rounds):
        for events in stored:
            link = (0, GENESIS)
            for event in events:
                t0 = time.perf_counter()
                mapper.decode(event)
                t1 = time.perf_counter()
                state, problem = decode_link(mapper, event, *link)
                t2 = time.perf_counter()
                assert problem is None, problem
                decode.append(t1 - t0)
                check.append(t2 - t1)
                link = (event.originator_version, state["hash"])
    return LatencyStats.of(decode), LatencyStats.of(check)


def run(
    backend: Backend,
    n: int,
    warmup: int,
    pool: int,
    block: int,
    cipher_key: str | None,
    profile: bool,
    peer_events: int,
) -> BackendResult:
    """Anchor and engine on the same database, alternating in blocks of `block` operations, so drifting
    background load on the machine affects both alike."""
    from engine.service import Actor

    actor = Actor(id="mediator-0001", role="mediator")
    with backend.core_recorder() as recorder:
        anchor = Anchor(recorder, pool)
        cw = open_engine(backend, cipher_key)
        peer_app = None
        try:
            # warm-up: imports, statement caches, connection pools; notes go to throw-away cases
            spare = [cw.open_case("labor_dispute", actor, **dispute(-1 - k)).case_id for k in range(min(warmup, 20))]
            for k in range(warmup):
                anchor.insert_one()
                cw.execute(spare[k % len(spare)], "add_note", actor, text=NOTE_TEXT)

            opens, cases = [], []
            for i in range(pool):
                data = dispute(i)
                t0 = time.perf_counter()
                result = cw.open_case("labor_dispute", actor, **data)
                opens.append(time.perf_counter() - t0)
                cases.append(result.case_id)

            # the peer's aggregates and Casework's cases of the same length (--peer-events)
            peer_app = peer_application(backend, cipher_key)
            peer = Peer(peer_app, pool, peer_events)
            long_cases = []
            for i in range(pool):
                case_id = cw.open_case("labor_dispute", actor, **dispute(pool + i)).case_id
                for _ in range(peer_events - 1):
                    cw.execute(case_id, "add_note", actor, text=NOTE_TEXT)
                long_cases.append(case_id)
            spare_dossier = Dossier(title="warm-up")
            peer_app.save(spare_dossier)
            for _ in range(warmup):  # on a throw-away aggregate, so both pools start at the same length
                dossier: Dossier = peer_app.repository.get(spare_dossier.id)
                dossier.add_note(NOTE_TEXT)
                peer_app.save(dossier)

            anchor_times: list[float] = []
            notes: list[float] = []
            notes_long: list[float] = []
            peer_times: list[float] = []
            loaded = 0
            for first in range(0, n, block):
                size = min(block, n - first)
                anchor_times.extend(anchor.insert_one() for _ in range(size))
                for i in range(first, first + size):
                    case_id = cases[i % pool]
                    t0 = time.perf_counter()
                    result = cw.execute(case_id, "add_note", actor, text=NOTE_TEXT)
                    notes.append(time.perf_counter() - t0)
                    loaded += result.version - 1  # the events the command loaded (and checked)
                peer_times.extend(peer.add_note() for _ in range(size))
                for i in range(first, first + size):
                    case_id = long_cases[i % pool]
                    t0 = time.perf_counter()
                    cw.execute(case_id, "add_note", actor, text=NOTE_TEXT)
                    notes_long.append(time.perf_counter() - t0)

            last = cw.store.recorder.max_notification_id() or 0
            page = cw.store.recorder.select_notifications(start=max(1, last - 199), limit=200)
            sizes = [len(p.state) for p in page if p.topic.endswith("NoteAdded")]
            engine_bytes = sum(sizes) / len(sizes) if sizes else float("nan")
            decode, decode_and_check = chain_check(cw, cases)

            report = None
            if profile:
                profiler = cProfile.Profile()
                profiler.enable()
                for i in range(min(n, 300)):
                    cw.execute(cases[i % pool], "add_note", actor, text=NOTE_TEXT)
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                stats.sort_stats("cumulative").print_stats(35)
                stats.sort_stats("tottime").print_stats(25)
                report = out.getvalue()
        finally:
            cw.close()
            if peer_app is not None:
                peer_app.close()
    return BackendResult(
        backend=backend.label,
        anchor=LatencyStats.of(anchor_times),
        add_note=LatencyStats.of(notes),
        peer=LatencyStats.of(peer_times),
        add_note_long=LatencyStats.of(notes_long),
        peer_events_per_load=peer.loaded / n,
        open_case=LatencyStats.of(opens),
        anchor_bytes=anchor.size,
        engine_bytes=engine_bytes,
        cases=pool,
        decode=decode,
        decode_and_check=decode_and_check,
        events_per_load=loaded / n,
        profile=report,
    )


# -- main ---------------------------------------------------------------------------------------------


def measure(kind: str, args: argparse.Namespace, cipher_key: str | None) -> BackendResult:
    n = args.n_sqlite if kind == "sqlite" else args.n_postgres
    with isolated_backend(kind, args.postgres_url) as backend:
        console.print(
            f"[bold]{backend.label}[/] ({backend.schema or backend.workdir}): {args.cases} open_case; "
            f"{n} anchor inserts and {n} add_note, alternating in blocks of {args.block} "
            f"(+{args.warmup} warm-up each)"
        )
        try:
            return run(backend, n, args.warmup, args.cases, args.block, cipher_key, args.profile, args.peer_events)
        except AnchorUnavailable as e:
            console.print(f"[red]anchor unavailable, {backend.label} not measured[/]: {e}")
            raise SystemExit(2) from e


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.commands",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults finish in well under two minutes on a 2-core machine.",
    )
    parser.add_argument("-n", type=int, default=None, help="commands per database (sets both --n-* options)")
    parser.add_argument("--n-sqlite", type=int, default=1000, help="timed operations on SQLite (default %(default)s)")
    parser.add_argument(
        "--n-postgres", type=int, default=1000, help="timed operations on PostgreSQL (default %(default)s)"
    )
    parser.add_argument("--warmup", type=int, default=100, help="untimed operations first (default %(default)s)")
    parser.add_argument(
        "--cases",
        type=int,
        default=200,
        help="pool of pre-opened cases the notes go to, and of anchor originators; also the number "
        "of timed open_case calls (default %(default)s)",
    )
    parser.add_argument(
        "--block",
        type=int,
        default=50,
        help="anchor and engine alternate in blocks of this many operations (default %(default)s)",
    )
    parser.add_argument(
        "--peer-events",
        type=int,
        default=10,
        help="length of the peer application's aggregates and of the cases Casework's add_note is compared "
        "with them on, before the run (default %(default)s)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after measuring, profile 300 engine add_note commands with cProfile and print the top",
    )
    _add_db_args(parser)
    args = parser.parse_args(argv)
    if args.n is not None:
        args.n_sqlite = args.n_postgres = args.n
    if min(args.n_sqlite, args.n_postgres, args.cases, args.block, args.peer_events) < 1 or args.warmup < 0:
        parser.error("-n, --cases, --block and --peer-events must be positive, --warmup not negative")
    exit_cleanly_on_sigterm()

    kinds, skipped = reachable_backends(args)
    cipher_key = new_cipher_key() if args.cipher else None
    console.print(environment_line())

    results = [measure(kind, args, cipher_key) for kind in kinds]

    engine_label = "engine" + (" (cipher)" if cipher_key else "")
    cipher_note = " (cipher)" if cipher_key else ""
    rows: list[tuple[Any, ...]] = []
    for r in results:
        a = r.anchor
        rows.append(
            (
                r.backend,
                "anchor: eventsourcing insert_events (1 event)",
                a.n,
                a.ops_per_s,
                a.p50_ms,
                a.p99_ms,
                a.mean_ms,
                r.anchor_bytes,
                None,
                None,
            )
        )
        for name, stats in (
            ("engine: decode 1 stored event (every read)", r.decode),
            ("engine: decode 1 stored event + hash-chain check", r.decode_and_check),
        ):
            rows.append(
                (
                    r.backend,
                    name,
                    stats.n,
                    stats.ops_per_s,
                    stats.p50_ms,
                    stats.p99_ms,
                    stats.mean_ms,
                    None,
                    None,
                    ratio(stats.p50_ms, r.anchor.p50_ms),
                )
            )
        for name, stats in (
            (f"{engine_label}: execute add_note", r.add_note),
            (f"{engine_label}: open_case labor_dispute", r.open_case),
        ):
            rows.append(
                (
                    r.backend,
                    name,
                    stats.n,
                    stats.ops_per_s,
                    stats.p50_ms,
                    stats.p99_ms,
                    stats.mean_ms,
                    r.engine_bytes if "add_note" in name else None,
                    ratio(stats.ops_per_s, r.anchor.ops_per_s),
                    ratio(stats.p50_ms, r.anchor.p50_ms),
                )
            )
    peer_rows: list[tuple[Any, ...]] = []
    for r in results:
        for name, stats in (
            (f"peer: eventsourcing Application get + add_note + save{cipher_note}", r.peer),
            (f"{engine_label}: execute add_note (same length)", r.add_note_long),
            ("anchor: eventsourcing insert_events (1 event)", r.anchor),
        ):
            peer_rows.append(
                (
                    r.backend,
                    name,
                    stats.n,
                    stats.ops_per_s,
                    stats.p50_ms,
                    stats.p99_ms,
                    ratio(stats.ops_per_s, r.peer.ops_per_s),
                    ratio(stats.p50_ms, r.peer.p50_ms),
                )
            )
    print_table(
        f"Casework add_note vs py-eventsourcing's own Application, aggregates of {args.peer_events} events "
        f"(single-threaded, same database)",
        ["database", "measurement", "n", "ops/s", "p50 ms", "p99 ms", "ops/s ÷ peer", "p50 ÷ peer"],
        peer_rows,
        caption=f"Both pools start at {args.peer_events} events per aggregate and grow alike; events loaded per "
        + ", ".join(f"{r.backend}: {r.peer_events_per_load:.1f}" for r in results)
        + ". ops/s ÷ peer: throughput as a fraction of the peer's.",
    )
    print_table(
        "Casework command throughput vs the bare eventsourcing recorder (single-threaded, same database)",
        [
            "database",
            "measurement",
            "n",
            "ops/s",
            "p50 ms",
            "p99 ms",
            "mean ms",
            "event bytes",
            "ops/s ÷ anchor",
            "p50 ÷ anchor",
        ],
        rows,
        caption="ops/s ÷ anchor: throughput ratio, target ≥ 0.8. p50 ÷ anchor: median latency as a multiple of "
        "the anchor's (lower is better). Event bytes: stored state per event.",
    )
    for r in results:
        check_ms = r.decode_and_check.mean_ms - r.decode.mean_ms
        console.print(
            f"{r.backend}: the hash-chain check costs {check_ms * 1e3:.1f} µs per event read (mean, decoding "
            f"excluded); an add_note loads {r.events_per_load:.1f} events on average here, so "
            f"{check_ms * r.events_per_load * 1e3:.0f} µs of its {r.add_note.p50_ms * 1e3:.0f} µs p50 "
            f"({ratio(check_ms * r.events_per_load, r.add_note.p50_ms):.1%})."
        )
    for r in results:
        if r.profile:
            console.rule(f"cProfile of 300 add_note commands — {r.backend}")
            print(r.profile)

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for r in results:
        db = "sqlite" if r.backend.startswith("SQLite") else "postgresql"
        print(
            plain(
                f"{db} anchor_insert_events",
                n=r.anchor.n,
                ops_per_s=r.anchor.ops_per_s,
                p50_ms=r.anchor.p50_ms,
                p99_ms=r.anchor.p99_ms,
                state_bytes=r.anchor_bytes,
            )
        )
        print(
            plain(
                f"{db} engine_add_note",
                n=r.add_note.n,
                ops_per_s=r.add_note.ops_per_s,
                p50_ms=r.add_note.p50_ms,
                p99_ms=r.add_note.p99_ms,
                throughput_ratio=ratio(r.add_note.ops_per_s, r.anchor.ops_per_s),
                p50_ratio=ratio(r.add_note.p50_ms, r.anchor.p50_ms),
                cipher=bool(cipher_key),
            )
        )
        print(
            plain(
                f"{db} peer_application_add_note",
                n=r.peer.n,
                ops_per_s=r.peer.ops_per_s,
                p50_ms=r.peer.p50_ms,
                p99_ms=r.peer.p99_ms,
                events_per_load=r.peer_events_per_load,
                cipher=bool(cipher_key),
            )
        )
        print(
            plain(
                f"{db} engine_add_note_vs_peer",
                n=r.add_note_long.n,
                ops_per_s=r.add_note_long.ops_per_s,
                p50_ms=r.add_note_long.p50_ms,
                p99_ms=r.add_note_long.p99_ms,
                throughput_ratio=ratio(r.add_note_long.ops_per_s, r.peer.ops_per_s),
                p50_ratio=ratio(r.add_note_long.p50_ms, r.peer.p50_ms),
                anchor_throughput_ratio=ratio(r.add_note_long.ops_per_s, r.anchor.ops_per_s),
                cipher=bool(cipher_key),
            )
        )
        check_ms = r.decode_and_check.mean_ms - r.decode.mean_ms
        print(
            plain(
                f"{db} engine_chain_check",
                events=r.decode.n,
                check_us_per_event=check_ms * 1e3,
                decode_us_per_event=r.decode.mean_ms * 1e3,
                events_per_load=r.events_per_load,
                share_of_add_note_p50=ratio(check_ms * r.events_per_load, r.add_note.p50_ms),
                cipher=bool(cipher_key),
            )
        )
        print(
            plain(
                f"{db} engine_open_case",
                n=r.open_case.n,
                ops_per_s=r.open_case.ops_per_s,
                p50_ms=r.open_case.p50_ms,
                p99_ms=r.open_case.p99_ms,
                throughput_ratio=ratio(r.open_case.ops_per_s, r.anchor.ops_per_s),
                p50_ratio=ratio(r.open_case.p50_ms, r.anchor.p50_ms),
                cipher=bool(cipher_key),
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
