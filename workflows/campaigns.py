"""The offer campaign (百分百要约行动): open one negotiation per enterprise of a stored campaign.

Resumable: a run opens only the targets still missing, so a crashed or cancelled run is
finished by starting another for the same campaign (engine/campaigns.py).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from engine import campaigns
from workflows.runtime import casework, flow_run_id


@task(name="open-batch", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=exponential_backoff(2))
def open_batch(campaign_id: str, seqs: list[int]) -> dict[str, int]:
    cw = casework()
    return campaigns.open_targets(cw, campaigns.get_campaign(cw, campaign_id), seqs, flow_run_id())


@flow(
    name="offer-campaign",
    description="Open one negotiation per enterprise of an offer campaign, in batches; run it again to resume.",
)
def offer_campaign(campaign_id: str, batch_size: int = campaigns.BATCH_SIZE) -> dict[str, Any]:
    logger = get_run_logger()
    cw = casework()
    campaign = campaigns.get_campaign(cw, campaign_id)
    run_id = flow_run_id()
    if run_id:
        campaigns.set_flow_run(cw, campaign.campaign_id, run_id)
    artifact: list[UUID] = []

    def report(done: int, total: int) -> None:
        if artifact:
            update_progress_artifact(artifact[0], progress=_percent(done, total))
            return
        logger.info(
            "campaign %s (%s): %d of %d enterprises to open",
            campaign.campaign_id,
            campaign.document_number,
            total - done,
            total,
        )
        # Prefect's async_dispatch types the result as an id or a coroutine; in this sync flow, an id.
        artifact.append(
            create_progress_artifact(  # type: ignore[arg-type]
                progress=_percent(done, total), description=f"{campaign.document_number}: negotiations opened"
            )
        )

    cid = str(campaign.campaign_id)
    finished, totals = campaigns.run_campaign(
        cw, cid, batch_size=batch_size, progress=report, open_batch=lambda seqs: open_batch(cid, seqs)
    )
    _summary(finished, totals, campaigns.failures(cw, finished.campaign_id))
    logger.info("campaign %s: %s", finished.document_number, finished.to_dict()["counts"])
    return {**finished.to_dict(), "this_run": totals}


def _percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 100.0


def _summary(campaign: campaigns.Campaign, totals: dict[str, int], failed: list[dict[str, Any]]) -> None:
    c = campaign.to_dict()["counts"]
    lines = [
        f"# Offer campaign {campaign.document_number}",
        "",
        f"Issued by {campaign.issuing_union} ({campaign.org_unit}), started by {campaign.created_by}.",
        "",
        "| enterprises | negotiations opened | failed | pending |",
        "|---|---|---|---|",
        f"| {c['total']} | {c['opened']} | {c['failed']} | {c['pending']} |",
        "",
        f"This run opened {totals['opened']} (found {totals['already_open']} already open).",
    ]
    if failed:
        lines += ["", "## Not opened", "", "| # | enterprise | why |", "|---|---|---|"]
        lines += [f"| {f['seq']} | {f['enterprise']} | {f['error'].replace('|', '/')} |" for f in failed[:200]]
    create_markdown_artifact(
        key=f"campaign-{str(campaign.campaign_id)[:8]}",
        markdown="\n".join(lines),
        description=f"offer campaign {campaign.document_number}",
    )
