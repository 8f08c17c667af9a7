"""Long cases: loading a case and running one command on a case of 2,000 events vs one of 100.

PRODUCT Casework.get(case_id) (every event read and its hash chain checked) and
        Casework.execute(case_id, "add_note", ...) on a long labor-dispute case (--events, default
        2,000) and on a short one (--short, default 100), single-threaded, each call timed; and the same read
        and command through the HTTP API's Flask app (its test client, in this process: token check, case
        view, JSON), whose answer is the case view with the latest notes (engine/views.py NOTES_IN_VIEW).
ANCHOR  the short case: the same operations on it, in the same run, alternating in blocks of --block
        calls so drifting load affects both alike. Also reported: eventsourcing's recorder
        `select_events` of each case (the raw rows, no decoding), the floor a load cannot go under.

Seeding goes through the engine: the case is opened, then add_note is run until it has the wanted
number of events (the engine holds the case it just changed, engine/case_cache.py, so a command
does not replay it). The timed add_note calls lengthen both cases by -n events, a fraction of
--events at the defaults.

Ratio: p50 long ÷ p50 short, for get and for add_note (target ≤ 1.5). With a full replay on every
load it grew with the length (20× the events): about 16× for get and 10–13× for add_note when this
was written. Since the engine keeps the cases it holds (engine/case_cache.py), neither is replayed
here: in four runs each, cipher on and off, get measured 0.5–1.0× and add_note 0.8–1.5× (a command
copies the case's state, which still grows with it). Through the API, while the case view held every
note, a read of a 600-event case took 2.9× one of 100 events and a command 1.9× (the view was rendered and
sent whole); holding the latest notes, 0.9× each. `add_note_two`: a command by another process's service
(its own cache, as another API worker) then one here, both timed together: each service finds the case changed by
the other, and brings it up to date with the one event it missed (a full replay of the case before that).
These are measurements, not assertions.

    .venv/bin/python -m benchmarks.long_cases                     # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.long_cases --events 500 -n 20  # quicker
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.commands import NOTE_TEXT, dispute
from benchmarks.common import (
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
from benchmarks.http import ORGS


@dataclass
class Result:
    backend: str
    events: dict[str, int]  # "short"/"long" -> events when the timing started
    seed_s: float
    timings: dict[tuple[str, str], LatencyStats]  # (operation, "short"/"long") -> stats


def seed_case(cw: Any, actor: Any, events: int, i: int) -> uuid.UUID:
    """A labor-dispute case with `events` events, every one recorded by a command through the engine."""
    result = cw.open_case("labor_dispute", actor, **dispute(i))
    for _ in range(events - result.version):
        cw.execute(result.case_id, "add_note", actor, text=NOTE_TEXT)
    return uuid.UUID(str(result.case_id))


def api_client(cw: Any) -> tuple[Any, dict[str, str]]:
    """The HTTP API's Flask app over `cw`, called through its test client, and the headers of a mediator who sees
    every case seeded here (the org tree made first, as cases are opened in its units)."""
    from api.app import create_app
    from engine.accounts import add_org, add_user
    from engine.service import Actor

    for path, name in ORGS:
        add_org(cw, path, name)
    _, token = add_user(cw, "bench-api-mediator", "基准调解员", "mediator", "suzhou", by=Actor("benchmark", "admin"))
    return create_app(cw).test_client(), {"Authorization": f"Bearer {token}"}


def answered(response: Any) -> int:
    """The size of a 200 answer's body (anything else stops the run: a failed request is not a measurement)."""
    body = response.get_data()
    if response.status_code != 200:
        raise RuntimeError(f"{response.status_code}: {body[:300].decode('utf-8', 'replace')}")
    return len(body)


def run(backend: Backend, args: argparse.Namespace, cipher_key: str | None) -> Result:
    """Seed a short and a long case, then time get, add_note and the raw read on each, alternating blocks."""
    from engine.service import Actor

    actor = Actor(id="mediator-0001", role="mediator")
    cw = open_engine(backend, cipher_key)
    second = open_engine(backend, cipher_key)  # another process's service: a cache of its own
    try:
        client, headers = api_client(cw)
        t0 = time.perf_counter()
        cases = {"short": seed_case(cw, actor, args.short, 1), "long": seed_case(cw, actor, args.events, 2)}
        seed_s = time.perf_counter() - t0
        events = {size: cw.get(case_id).version for size, case_id in cases.items()}
        spare = seed_case(cw, actor, 3, 3)
        for _ in range(args.warmup):  # imports, statement caches, pools
            cw.get(spare)
            cw.execute(spare, "add_note", actor, text=NOTE_TEXT)
            cw.store.recorder.select_events(spare)
        for case_id in cases.values():  # the other service holds each case too (once replayed), as a worker would
            second.get(case_id)

        def timed(call: Callable[[uuid.UUID], object], case_id: uuid.UUID) -> float:
            start = time.perf_counter()
            call(case_id)
            return time.perf_counter() - start

        operations: dict[str, Callable[[uuid.UUID], object]] = {
            "select_events": lambda case_id: cw.store.recorder.select_events(case_id),
            "get": lambda case_id: cw.get(case_id),
            "add_note": lambda case_id: cw.execute(case_id, "add_note", actor, text=NOTE_TEXT),
            "add_note_two": lambda case_id: [
                service.execute(case_id, "add_note", actor, text=NOTE_TEXT) for service in (second, cw)
            ],
            "api_read": lambda case_id: answered(client.get(f"/cases/{case_id}", headers=headers)),
            "api_add_note": lambda case_id: answered(
                client.post(f"/disputes/{case_id}/add-note", json={"text": NOTE_TEXT}, headers=headers)
            ),
        }
        times: dict[tuple[str, str], list[float]] = {(op, size): [] for op in operations for size in cases}
        for first in range(0, args.n, args.block):
            size_of_block = min(args.block, args.n - first)
            for op, call in operations.items():
                for size, case_id in cases.items():
                    times[op, size].extend(timed(call, case_id) for _ in range(size_of_block))
    finally:
        second.close()
        cw.close()
    return Result(
        backend=backend.label,
        events=events,
        seed_s=seed_s,
        timings={key: LatencyStats.of(values) for key, values in times.items()},
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.long_cases",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Defaults take a few minutes on a 2-core machine, most of it seeding the long case.",
    )
    parser.add_argument("--events", type=int, default=2000, help="events of the long case (default %(default)s)")
    parser.add_argument("--short", type=int, default=100, help="events of the short case (default %(default)s)")
    parser.add_argument("-n", type=int, default=40, help="timed calls per operation and case (default %(default)s)")
    parser.add_argument("--block", type=int, default=5, help="calls per alternating block (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed calls first (default %(default)s)")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if min(args.n, args.block) < 1 or args.warmup < 0 or not 2 <= args.short <= args.events:
        parser.error("-n and --block must be positive, --warmup not negative, 2 ≤ --short ≤ --events")
    exit_cleanly_on_sigterm()

    kinds, skipped = reachable_backends(args)
    cipher_key = new_cipher_key() if args.cipher else None
    console.print(environment_line())

    results: list[Result] = []
    for kind in kinds:
        with isolated_backend(kind, args.postgres_url) as backend:
            console.print(
                f"[bold]{backend.label}[/]: seeding a case of {args.events} events and one of {args.short} "
                f"through the engine, then {args.n} timed calls per operation and case, blocks of {args.block}"
            )
            results.append(run(backend, args, cipher_key))

    engine = "engine" + (" (cipher)" if cipher_key else "")
    names = {
        "select_events": "anchor: eventsourcing recorder select_events (raw rows)",
        "get": f"{engine}: Casework.get (replay + hash-chain check)",
        "add_note": f"{engine}: execute add_note",
        "add_note_two": f"{engine}: add_note here after one by another process (both timed)",
        "api_read": f"API{' (cipher)' if cipher_key else ''}: GET /cases/<id> (Flask test client)",
        "api_add_note": f"API{' (cipher)' if cipher_key else ''}: POST add-note (Flask test client)",
    }
    rows: list[tuple[Any, ...]] = []
    for r in results:
        for op, name in names.items():
            short, long = r.timings[op, "short"], r.timings[op, "long"]
            rows.append(
                (
                    r.backend,
                    name,
                    short.n,
                    short.p50_ms,
                    short.p99_ms,
                    long.p50_ms,
                    long.p99_ms,
                    ratio(long.p50_ms, short.p50_ms),
                )
            )
    first = results[0] if results else None
    print_table(
        "Long cases: the same operations on a long and a short case (single-threaded, same database)",
        [
            "database",
            "measurement",
            "n",
            f"short p50 ms ({first.events['short'] if first else '?'} ev)",
            "short p99 ms",
            f"long p50 ms ({first.events['long'] if first else '?'} ev)",
            "long p99 ms",
            "long ÷ short (p50)",
        ],
        rows,
        caption="long ÷ short: target ≤ 1.5 for get and add_note, in-process and through the API. "
        "Both cases grow by n events during the run.",
    )
    for r in results:
        console.print(f"{r.backend}: seeding both cases through the engine took {r.seed_s:.1f} s")

    print()
    for line in skipped:
        print(f"NOTE {line}")
    for r in results:
        db = "sqlite" if r.backend.startswith("SQLite") else "postgresql"
        for op in names:
            short, long = r.timings[op, "short"], r.timings[op, "long"]
            print(
                plain(
                    f"{db} long_case_{op}",
                    n=short.n,
                    short_events=r.events["short"],
                    long_events=r.events["long"],
                    short_p50_ms=short.p50_ms,
                    long_p50_ms=long.p50_ms,
                    short_p99_ms=short.p99_ms,
                    long_p99_ms=long.p99_ms,
                    p50_ratio=ratio(long.p50_ms, short.p50_ms),
                    cipher=bool(cipher_key) and op != "select_events",
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
