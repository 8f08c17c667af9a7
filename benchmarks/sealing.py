"""What sealing each person's data costs: opening a labor dispute with two applicants, and reading it cold, with
personal data sealed per person (as Casework runs) and with sealing switched off (the anchor: the same engine storing
the applicants in clear), in alternating blocks in the same run and database.

OPEN    Casework.open_case("labor_dispute") with two applicants, each with an ID number: sealed, each applicant's
        fields are encrypted under their own key (found by the keyed ID number, or made) and the cases using it
        recorded.
GET     Casework.get of each case opened, by a second engine with nothing in memory (a cold read: the chain checked,
        and, sealed, the applicants' keys read and their data opened).

    .venv/bin/python -m benchmarks.sealing                   # SQLite file and PostgreSQL
    .venv/bin/python -m benchmarks.sealing --cipher -n 200   # the store cipher on as well
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from benchmarks.commands import dispute
from benchmarks.common import (
    Backend,
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
from engine.sealing import PersonalData, Sealed


@contextmanager
def sealing(on: bool) -> Iterator[None]:
    """Sealing as Casework runs it, or switched off for the anchor (events stored with the applicants in clear)."""
    seal = PersonalData.seal
    if not on:
        PersonalData.seal = lambda self, session, events: Sealed(list(events), [])  # type: ignore[method-assign]
    try:
        yield
    finally:
        PersonalData.seal = seal  # type: ignore[method-assign]


def _body(i: int) -> dict[str, Any]:
    body = dispute(i)
    body["applicants"] = [
        {"name": f"王{i}", "id_number": _id_number(2 * i), "phone": f"1380000{i % 10000:04d}"},
        {"name": f"李{i}", "id_number": _id_number(2 * i + 1), "address": "苏州市姑苏区"},
    ]
    body["workers_involved"] = 2
    return body


def _id_number(n: int) -> str:
    """A valid resident ID number (GB 11643), distinct per n: a birth date from 1 January 1980 on, a sequence."""
    from stdnum.cn import ric

    born = date(1980, 1, 1) + timedelta(days=n // 1000)
    body = f"320505{born:%Y%m%d}{n % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum takes the number with a placeholder check digit


def run(backend: Backend, n: int, block: int, cipher_key: str | None) -> dict[tuple[str, bool], float]:
    """Operations per second of (operation, sealed)."""
    spent: dict[tuple[str, bool], float] = {(op, on): 0.0 for op in ("open", "get") for on in (True, False)}
    cw = open_engine(backend, cipher_key)
    reader = open_engine(backend, cipher_key, migrate=False)
    from engine.service import Actor

    mediator = Actor("bench-mediator", "mediator")
    i = 0
    try:
        for _ in range(n // block):
            for on in (True, False):
                with sealing(on):
                    opened = []
                    start = time.perf_counter()
                    for _ in range(block):
                        opened.append(cw.open_case("labor_dispute", mediator, **_body(i)).case_id)
                        i += 1
                    spent["open", on] += time.perf_counter() - start
                    reader.cases = type(reader.cases)()  # nothing in memory: each read replays and opens
                    start = time.perf_counter()
                    for case_id in opened:
                        reader.get(case_id)
                    spent["get", on] += time.perf_counter() - start
    finally:
        reader.close()
        cw.close()
    done = n // block * block
    return {key: done / seconds for key, seconds in spent.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.sealing", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=300, help="cases per variant (default %(default)s)")
    parser.add_argument("--block", type=int, default=25, help="cases per alternating block (default %(default)s)")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    if not 1 <= args.block <= args.n:
        parser.error("need 1 ≤ --block ≤ -n")
    exit_cleanly_on_sigterm()
    kinds, _ = reachable_backends(args)
    cipher_key = new_cipher_key() if args.cipher else None
    console.print(environment_line())
    rows = []
    for kind in kinds:
        with isolated_backend(kind, args.postgres_url) as backend:
            rates = run(backend, args.n, args.block, cipher_key)
        for op, name in (("open", "open a dispute, 2 applicants"), ("get", "read it cold")):
            sealed, clear = rates[op, True], rates[op, False]
            rows.append((backend.label, name, f"{sealed:.1f}", f"{clear:.1f}", f"{ratio(sealed, clear):.2f}"))
            console.print(plain(f"sealing_{op}", backend=kind, sealed=sealed, clear=clear, ratio=ratio(sealed, clear)))
    print_table(
        "Sealing each person's data" + (" (store cipher on)" if cipher_key else ""),
        ["database", "operation", "sealed ops/s", "anchor: in clear ops/s", "ratio"],
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
