"""The escalation sweep and the legal-clock sweep: one flow run per sweep, tasks batched and retried.

Each run lists what is due from the read model, then acts on it in batches; every step is an
engine command with a deterministic id, so a retried batch, a repeated run or two runs at once
change each case once (engine/sweeps.py).

A case whose hash chain is broken stops nothing: the run acts on every other case, and reports the
broken one under `broken` in its result (case, version, the supervisors of its unit), at the top of
its summary artifact and in an error-level log line. No alert can be recorded on the case itself:
its history cannot be trusted, so nothing is appended to it.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from engine.sweeps import BROKEN, ESCALATION, LEGAL, Due, apply_all, batches, business_date, list_due
from workflows.runtime import casework, system_actor

RETRIES = 3
BATCH_SIZE = 200


@task(name="list-due", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=exponential_backoff(2))
def find_due(sweep: str) -> list[dict[str, Any]]:
    return [d.to_dict() for d in list_due(casework(), sweep)]


@task(
    name="apply-batch",
    cache_policy=NO_CACHE,
    retries=RETRIES,
    retry_delay_seconds=exponential_backoff(2),
    retry_jitter_factor=0.5,
)
def apply_batch(dues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Act on one batch; a retry redoes the whole batch, and the command ids make the redone part a no-op."""
    return [o.to_dict() for o in apply_all(casework(), [Due.from_dict(d) for d in dues], system_actor())]


def run(sweep: str, batch_size: int) -> dict[str, Any]:
    logger = get_run_logger()
    cw = casework()
    today = business_date(cw)
    dues = [Due.from_dict(d) for d in find_due(sweep)]
    outcomes: list[dict[str, Any]] = []
    for part in batches(dues, batch_size):
        outcomes.extend(apply_batch([d.to_dict() for d in part]))
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o["status"]] = counts.get(o["status"], 0) + 1
    logger.info("%s sweep for %s: %d due, %s", sweep, today, len(dues), counts or "nothing to do")
    broken = [o for o in outcomes if o["status"] == BROKEN]
    for o in broken:
        logger.error(
            "%s sweep left %s (%s): %s; tell the supervisors of its unit: %s",
            sweep,
            o["case"],
            o["trigger"],
            o["detail"],
            ", ".join(o["notify"]) or "none found",
        )
    _summary_artifact(sweep, today.isoformat(), len(dues), counts, outcomes)
    return {
        "sweep": sweep,
        "today": today.isoformat(),
        "due": len(dues),
        "counts": counts,
        "outcomes": outcomes,
        "broken": broken,
    }


def _summary_artifact(sweep: str, today: str, due: int, counts: dict[str, int], outcomes: list[dict[str, Any]]) -> None:
    lines = [
        f"# {sweep} sweep, business date {today}",
        "",
        f"{due} due; " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"),
        "",
    ]
    broken = [o for o in outcomes if o["status"] == BROKEN]
    if broken:
        lines += ["## Broken cases: nothing was recorded on them", ""]
        lines += [
            f"- **{o['case']}** ({o['trigger']}): {o['detail']} — tell: {', '.join(o['notify']) or 'none found'}"
            for o in broken
        ] + [""]
    acted = [o for o in outcomes if o["status"] != "already_done"]
    if acted:
        lines += ["| case | trigger | outcome | action | linked | detail |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {o['case']} | {o['trigger']} | {o['status']} | {o['action'] or ''} | {', '.join(o['linked'])} "
            f"| {o['detail'].replace('|', '/')} |"
            for o in acted[:500]
        ]
        if len(acted) > 500:
            lines.append(f"\n… and {len(acted) - 500} more (see the flow run's result)")
    create_markdown_artifact(key=f"{sweep}-sweep", markdown="\n".join(lines), description=f"{sweep} sweep of {today}")


@flow(
    name="escalation-sweep",
    description="Move every negotiation whose reply clock ran out (or whose offer was "
    "refused) up the escalation ladder, and follow settled rectification proposals.",
)
def escalation_sweep(batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    return run(ESCALATION, batch_size)


@flow(
    name="legal-clock-sweep",
    description="Act on every other legal clock that ran out: mediation deemed "
    "failed, contracts taking effect, rectification referrals, alerts to supervisors.",
)
def legal_clock_sweep(batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    return run(LEGAL, batch_size)


__all__ = ["escalation_sweep", "legal_clock_sweep", "LEGAL", "ESCALATION"]
