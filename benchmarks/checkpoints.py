"""Signed checkpoints: the cost of a checkpoint per new event, and the full verification rate next to the raw event
read rate of the same store, measured in the same run.

BUILD   A store of E events written through the engine (benchmarks.rebuild.StoreBuilder: labor-dispute cases, each
        `--events-per-case` events, cohorts of cases worked at once).
ANCHOR  cw.store.recorder.select_notifications over every event, pages of `--page-size` (raw rows/s), best of
        `--repeat`. Beside it the bare SQL read of the same rows that the verification itself makes
        (engine.checkpoints.stored_events, no hashing): the stricter anchor, its ratio shown too.
CREATE  engine.checkpoints.create_checkpoint: the first over all E events; then, after `--increment` more events,
        a second that reads only those; then one with no new event (the fixed cost: a transaction, a signature).
        Reported per event read, beside the anchor's time per event.
VERIFY  engine.checkpoints.verify_checkpoints over every checkpoint (the whole tree recomputed from the stored events,
        each signature, root and consistency proof): events/s and its ratio to the anchor (target >= 0.25), best of
        `--repeat`.

    .venv/bin/python -m benchmarks.checkpoints                       # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.checkpoints --no-postgres --events 20000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import (
    add_database_arguments,
    console,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    new_cipher_key,
    open_engine,
    plain,
    postgres_problem,
    print_table,
    ratio,
    selected_backends,
)
from benchmarks.rebuild import StoreBuilder, read_all


@dataclass
class Run:
    db: str
    label: str
    events: int = 0
    increment: int = 0
    anchor_s: float = float("inf")
    sql_s: float = float("inf")
    first_s: float = 0.0
    next_s: float = 0.0
    empty_s: float = 0.0
    verify_s: float = float("inf")
    verified_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def anchor_rate(self) -> float:
        return ratio(self.events, self.anchor_s)

    @property
    def sql_rate(self) -> float:
        return ratio(self.events, self.sql_s)

    @property
    def verify_rate(self) -> float:
        return ratio(self.verified_events, self.verify_s)


def measure(kind: str, args: argparse.Namespace, cipher_key: str | None) -> Run:
    from engine.checkpoints import CheckpointKey, create_checkpoint, stored_events, verify_checkpoints

    with isolated_backend(kind, args.postgres_url) as backend:
        out = Run(db=kind, label=backend.label)
        cw = open_engine(backend, cipher_key)
        try:
            key = CheckpointKey(cw.settings)
            builder = StoreBuilder(cw, events_per_case=args.events_per_case, cohort=args.cohort, batch=args.batch)
            console.print(f"[bold]{backend.label}[/]: building {args.events:,} events")
            first_size = builder.grow_to(args.events)
            read_all(cw, args.page_size, decode=False)  # warm-up
            t0 = time.perf_counter()
            _, added = create_checkpoint(cw.sql_engine, key, page=args.page_size)
            out.first_s = time.perf_counter() - t0
            assert added == first_size
            console.print(f"[bold]{backend.label}[/]: {args.increment:,} more events, a checkpoint of them")
            out.events = builder.grow_to(first_size + args.increment)
            t0 = time.perf_counter()
            _, out.increment = create_checkpoint(cw.sql_engine, key, page=args.page_size)
            out.next_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            create_checkpoint(cw.sql_engine, key, page=args.page_size)
            out.empty_s = time.perf_counter() - t0
            console.print(f"[bold]{backend.label}[/]: read rate and verification rate over {out.events:,} events")
            for _ in range(args.repeat):  # interleaved, best of each, against noise from other processes
                count, seconds = read_all(cw, args.page_size, decode=False)
                out.anchor_s = min(out.anchor_s, seconds)
                t0 = time.perf_counter()
                assert sum(1 for _ in stored_events(cw.sql_engine, page=args.page_size)) == count
                out.sql_s = min(out.sql_s, time.perf_counter() - t0)
                t0 = time.perf_counter()
                result = verify_checkpoints(cw.sql_engine, pinned=key.public)
                out.verify_s = min(out.verify_s, time.perf_counter() - t0)
                out.verified_events, out.problems = result.events, result.problems
            assert count == out.events
        finally:
            cw.close()
    return out


def report(runs: list[Run]) -> None:
    rows: list[list[Any]] = []
    for r in runs:
        anchor_us = ratio(r.anchor_s, r.events) * 1e6
        rows.append(
            [
                r.label,
                "raw event read (anchor)",
                r.events,
                r.anchor_rate,
                anchor_us,
                1.0,
            ]
        )
        rows.append(
            [
                r.label,
                "bare SQL read of the same rows",
                r.events,
                r.sql_rate,
                ratio(r.sql_s, r.events) * 1e6,
                ratio(r.sql_rate, r.anchor_rate),
            ]
        )
        first_us = ratio(r.first_s, r.events - r.increment) * 1e6
        rows.append([r.label, "first checkpoint (all events)", r.events - r.increment, None, first_us, None])
        next_us = ratio(r.next_s, r.increment) * 1e6
        rows.append([r.label, "next checkpoint (new events only)", r.increment, None, next_us, None])
        rows.append([r.label, "checkpoint with no new event", 0, None, r.empty_s * 1e3, None])
        rows.append(
            [r.label, "full verification", r.verified_events, r.verify_rate, None, ratio(r.verify_rate, r.anchor_rate)]
        )
        rows.append(
            [r.label, "  ... vs the bare SQL read", r.verified_events, None, None, ratio(r.verify_rate, r.sql_rate)]
        )
    print_table(
        "Signed checkpoints",
        ["database", "operation", "events", "events/s", "µs/event (ms for none)", "x anchor"],
        rows,
        caption="target: full verification >= 0.25x the raw read rate",
    )
    for r in runs:
        console.print(
            plain(
                "checkpoints",
                db=r.db,
                events=r.events,
                anchor_events_per_s=r.anchor_rate,
                create_first_us_per_event=ratio(r.first_s, r.events - r.increment) * 1e6,
                create_next_us_per_event=ratio(r.next_s, r.increment) * 1e6,
                create_empty_ms=r.empty_s * 1e3,
                verify_events_per_s=r.verify_rate,
                verify_x_anchor=ratio(r.verify_rate, r.anchor_rate),
                sql_events_per_s=r.sql_rate,
                verify_x_sql=ratio(r.verify_rate, r.sql_rate),
                verified_ok=not r.problems,
            )
        )
        for problem in r.problems:
            console.print(f"[red]{r.label}: {problem}[/]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000, help="events before the first checkpoint")
    parser.add_argument("--increment", type=int, default=5_000, help="events added before the second checkpoint")
    parser.add_argument("--events-per-case", type=int, default=10)
    parser.add_argument("--cohort", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--page-size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    cipher_key = new_cipher_key() if args.cipher else None
    runs = []
    for kind in selected_backends(args):
        if kind == "postgresql":
            problem = postgres_problem(args.postgres_url)
            if problem:
                console.print(f"[yellow]PostgreSQL skipped[/]: {problem}")
                continue
        runs.append(measure(kind, args, cipher_key))
    console.print(environment_line())
    report(runs)
    return 0 if all(not r.problems for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
