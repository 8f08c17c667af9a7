"""Notification flows: delivering the outbox every minute, and the daily digest of clocks due soon.

Both are thin: the delivery run is `engine.delivery.deliver_due` (claims, sends, records, retries with backoff),
the digest `engine.notifications.send_digest` (one per assignee and day, whatever runs it twice). A retried or
concurrent run sends nothing twice: every delivery is claimed before it is sent and recorded once sent.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from engine.delivery import deliver_due, delivery_counts
from engine.notifications import send_digest
from engine.sweeps import business_date
from workflows.runtime import casework

RETRIES = 3


@task(name="deliver-batch", cache_policy=NO_CACHE, retries=RETRIES, retry_delay_seconds=exponential_backoff(2))
def deliver_batches() -> dict[str, Any]:
    return deliver_due(casework()).to_dict()


@flow(
    name="deliver-notifications",
    description="Send every notification delivery that is due (e-mail, group bots, webhooks); retry failed ones "
    "with backoff; a summary artifact of sent, failed and waiting.",
)
def deliver_notifications() -> dict[str, Any]:
    result = deliver_batches()
    counts = delivery_counts(casework())
    logger = get_run_logger()
    logger.info(
        "sent %d, retrying %d, failed %d, waiting %d",
        result["sent"],
        result["retrying"],
        result["failed"],
        result["waiting"],
    )
    lines = [
        "# Notification deliveries",
        "",
        "| this run | |",
        "|---|---|",
        f"| sent | {result['sent']} |",
        f"| failed, to be retried | {result['retrying']} |",
        f"| failed for good | {result['failed']} |",
        f"| waiting (due later or held by another run) | {result['waiting']} |",
        "",
        "All deliveries: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"),
    ]
    if result["errors"]:
        lines += ["", "## Errors", ""] + [f"- {e.replace('|', '/')}" for e in result["errors"]]
    create_markdown_artifact(key="notification-deliveries", markdown="\n".join(lines), description="deliveries")
    return {**result, "totals": counts}


@flow(name="notification-digest", description="Each assignee's clocks due within the next 3 working days, once a day.")
def notification_digest() -> dict[str, Any]:
    cw = casework()
    today = business_date(cw)
    written = send_digest(cw, today)
    get_run_logger().info("digest of %s: %d written", today, written)
    return {"date": today.isoformat(), "written": written}
