"""Notification delivery throughput, next to the rate the sweeps create notifications at in the same run.

One supervisor with two channels (an e-mail address on an SMTP server and a webhook on an HTTP receiver, both
real servers in this process on 127.0.0.1), N disputes filed, their acceptance clocks run out. The anchor is the
legal-clock sweep raising N alerts: each is one command that also writes the notification and its two pending
deliveries, in the same transaction. The figure is `deliver_due` sending all 2N deliveries (claim, send through
apprise or a signed POST, record), in notifications per second (both channels reached) and deliveries per second.

    .venv/bin/python -m benchmarks.notifications [--cases 500] [--workers 4] [--no-postgres]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from datetime import datetime
from typing import Any

from benchmarks.common import (
    add_database_arguments,
    console,
    environment_line,
    exit_cleanly_on_sigterm,
    isolated_backend,
    plain,
    postgres_problem,
    print_table,
    ratio,
    selected_backends,
)
from tests.integration.receivers import HttpReceiver, MailServer

START = datetime.fromisoformat("2026-03-02T09:00:00+08:00")  # a Monday


def measure(kind: str, args: Any) -> dict[str, Any]:
    from engine.accounts import add_org, add_user
    from engine.channels import add_channel
    from engine.clock import FixedClock
    from engine.delivery import deliver_due, delivery_counts
    from engine.migrate import upgrade
    from engine.service import Actor, Casework
    from engine.sweeps import LEGAL, run_sweep

    admin, mediator, system = Actor("admin", "admin"), Actor("m", "mediator"), Actor("system", "system")
    with isolated_backend(kind, args.postgres_url) as backend, MailServer() as mail, HttpReceiver() as hook:
        settings = dataclasses.replace(backend.settings(), smtp_url=mail.url(), webhook_secret="b" * 40)
        clock = FixedClock(START)
        cw = Casework(settings, clock)
        try:
            upgrade(cw.sql_engine)
            add_org(cw, "suzhou", "苏州市总工会")
            add_user(cw, "sup", "督查", "supervisor", "suzhou", by=admin)
            add_channel(cw, "sup", "email", "sup@union.example")
            add_channel(cw, "sup", "webhook", hook.url)
            for _ in range(args.cases):
                cw.open_case(
                    "labor_dispute",
                    mediator,
                    org_unit="suzhou",
                    employer={"name": "苏州示例精密机械有限公司"},
                    applicants=[{"name": "王建国", "id_number": "32050219800101123X"}],
                    workers_involved=1,
                    claims=[{"category": "wages", "amount": "100.00"}],
                )
            clock.advance(days=4)
            started = time.perf_counter()
            report = run_sweep(cw, LEGAL, system)
            sweep_s = time.perf_counter() - started
            assert report.counts == {"alerted": args.cases}, report.counts
            started = time.perf_counter()
            delivered = deliver_due(cw, workers=args.workers)
            deliver_s = time.perf_counter() - started
            assert delivered.sent == 2 * args.cases and delivery_counts(cw) == {"sent": 2 * args.cases}
            assert len(mail.messages) == args.cases and len(hook.accepted) == args.cases
        finally:
            cw.close()
    return {
        "backend": backend.label,
        "notifications": args.cases,
        "created_per_s": args.cases / sweep_s,
        "delivered_per_s": args.cases / deliver_s,
        "deliveries_per_s": 2 * args.cases / deliver_s,
        "sweep_s": sweep_s,
        "deliver_s": deliver_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500, help="disputes whose clock runs out (%(default)s)")
    parser.add_argument("--workers", type=int, default=4, help="deliveries sent at once (%(default)s)")
    add_database_arguments(parser)
    args = parser.parse_args()
    exit_cleanly_on_sigterm()
    console.print(environment_line())
    rows = []
    for kind in selected_backends(args):
        if kind == "postgresql" and (problem := postgres_problem(args.postgres_url)):
            console.print(f"PostgreSQL skipped: {problem}")
            continue
        r = measure(kind, args)
        rows.append(
            [
                r["backend"],
                r["notifications"],
                r["created_per_s"],
                r["delivered_per_s"],
                r["deliveries_per_s"],
                ratio(r["delivered_per_s"], r["created_per_s"]),
            ]
        )
        console.print(
            plain(
                "notifications",
                backend=kind,
                n=r["notifications"],
                created_per_s=r["created_per_s"],
                delivered_per_s=r["delivered_per_s"],
                deliveries_per_s=r["deliveries_per_s"],
                workers=args.workers,
            )
        )
    print_table(
        "Notification delivery vs creation by the sweep",
        [
            "database",
            "notifications",
            "created by the sweep /s (anchor)",
            "delivered to both channels /s",
            "deliveries /s",
            "delivered / created",
        ],
        rows,
        caption="each notification: one e-mail (SMTP, aiosmtpd) and one signed webhook POST (http.server), local",
    )


if __name__ == "__main__":
    main()
