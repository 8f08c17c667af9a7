"""The web workspace next to the JSON API answering the same question, in one run on one database.

Both are the app `bootstrap.http_app` builds, called in this process through Flask's test client (no TCP, no
server: what is compared is the page against the JSON, not the transport), on --cases open labor disputes
spread over the districts, a third of them overdue, a third due within 3 working days.

  queue   PAGE  GET /?q=<text>&page=2        the work queue, filtered and on its second page (25 rows),
                                              ordered by urgency, with its three counts, as HTML
          JSON  GET /cases?q=<text>&page=2&per_page=25&is_open=true    the same search as JSON
  case    PAGE  GET /case/<number>            the case page (clocks, links, notes, actions) as HTML
          JSON  GET /cases/<number>           the same case as JSON

The caller is a mediator at the city federation (sees every district), signed in (page) or with a bearer
token (JSON). The two sides alternate request by request, so drifting load affects both alike. Target: the
page's p50 at most 2x the JSON's. These are measurements, not assertions.

    .venv/bin/python -m benchmarks.workspace                     # SQLite file and PostgreSQL, 10,000 cases
    .venv/bin/python -m benchmarks.workspace --no-postgres --cases 500
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable
from typing import Any

from benchmarks.commands import dispute
from benchmarks.common import (
    LatencyStats,
    add_database_arguments,
    console,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    open_engine,
    plain,
    print_table,
    ratio,
    selected_backends,
)

USER_ID = "bench-mediator"
PASSWORD = "benchmark password"
SEARCH = "有限公司"
"""Text every benchmark employer's name holds: the filter keeps every case, so the pages are full."""


def seed(cw: Any, clock: Any, cases: int) -> str:
    """The org tree, the mediator with a password and a token, and `cases` open disputes opened over the last
    weeks (so that some clocks have run out); returns the token."""
    from datetime import timedelta

    from engine.accounts import add_org, add_user
    from engine.passwords import set_password
    from engine.service import Actor

    add_org(cw, "suzhou", "苏州市总工会")
    for d in range(7):
        add_org(cw, f"suzhou.district{d}", f"苏州市第{d}区总工会")
    _, token = add_user(cw, USER_ID, "基准调解员", "mediator", "suzhou", by=Actor("benchmark", "admin"))
    set_password(cw, USER_ID, PASSWORD, by=Actor("benchmark", "admin"))
    actor = Actor(USER_ID, "mediator")
    start = clock.now()
    for i in range(cases):
        clock.set(start + timedelta(days=(i % 3) * 4))  # opened 0, 4 or 8 days after the start
        cw.open_case("labor_dispute", actor, **dispute(i))
    clock.set(start + timedelta(days=10))
    return str(token)


def timed(call: Callable[[], Any]) -> float:
    began = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - began
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.path} answered {response.status_code}")
    return elapsed


def measure(kind: str, cases: int, requests: int) -> list[tuple[str, str, LatencyStats, LatencyStats]]:
    from datetime import datetime

    from bootstrap import http_app
    from engine.clock import FixedClock
    from engine.service import Casework

    with isolated_backend(kind) as backend:
        migrated = open_engine(backend)
        migrated.close()
        clock = FixedClock(datetime.now().astimezone())
        cw = Casework(backend.settings(), clock)
        try:
            began = time.perf_counter()
            token = seed(cw, clock, cases)
            console.print(f"{backend.label}: {cases} cases opened in {time.perf_counter() - began:.0f} s")
            app = http_app(cw)
            page_client, json_client = app.test_client(), app.test_client()
            sign_in = page_client.get("/sign-in").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', sign_in)
            assert csrf is not None
            answer = page_client.post(
                "/sign-in", data={"csrf_token": csrf.group(1), "user_id": USER_ID, "password": PASSWORD}
            )
            assert answer.status_code == 302, "the benchmark's mediator could not sign in"
            bearer = {"Authorization": f"Bearer {token}"}
            number = json_client.get("/cases?per_page=1", headers=bearer).get_json()["items"][0]["number"]
            pairs = {
                "queue": (
                    lambda: page_client.get(f"/?q={SEARCH}&page=2"),
                    lambda: json_client.get(f"/cases?q={SEARCH}&page=2&per_page=25&is_open=true", headers=bearer),
                ),
                "case": (
                    lambda: page_client.get(f"/case/{number}"),
                    lambda: json_client.get(f"/cases/{number}", headers=bearer),
                ),
            }
            results = []
            for name, (page, as_json) in pairs.items():
                for _ in range(3):  # warm-up: templates compiled, caches filled
                    timed(page), timed(as_json)
                page_s, json_s = [], []
                for _ in range(requests):
                    page_s.append(timed(page))
                    json_s.append(timed(as_json))
                results.append((backend.label, name, LatencyStats.of(page_s), LatencyStats.of(json_s)))
            return results
        finally:
            cw.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="open cases in the database (default %(default)s)")
    parser.add_argument("-n", "--requests", type=int, default=200, help="timed requests per side (default %(default)s)")
    add_database_arguments(parser)
    args = parser.parse_args(argv)
    exit_cleanly_on_sigterm()
    console.print(environment_line())
    rows = []
    for kind in selected_backends(args):
        for label, name, page, as_json in measure(kind, args.cases, args.requests):
            rows.append((label, name, page, as_json))
            console.print(
                plain(
                    "workspace",
                    db=label,
                    screen=name,
                    cases=args.cases,
                    page_p50_ms=round(page.p50_ms, 2),
                    json_p50_ms=round(as_json.p50_ms, 2),
                    ratio=round(ratio(page.p50_ms, as_json.p50_ms), 2),
                )
            )
    print_table(
        f"web workspace vs JSON API, {args.cases} open cases (target: page p50 <= 2x JSON p50)",
        ["database", "screen", "page p50 ms", "page p99 ms", "JSON p50 ms", "JSON p99 ms", "p50 page/JSON"],
        [
            (label, name, page.p50_ms, page.p99_ms, as_json.p50_ms, as_json.p99_ms, ratio(page.p50_ms, as_json.p50_ms))
            for label, name, page, as_json in rows
        ],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
