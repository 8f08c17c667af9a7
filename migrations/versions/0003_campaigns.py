"""Offer campaigns (百分百要约行动): one written offer to many enterprises, opened in resumable batches.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.Uuid(), primary_key=True),
        sa.Column("document_number", sa.String(120), nullable=False, unique=True),
        sa.Column("issuing_union", sa.String(200), nullable=False),
        sa.Column("org_unit", sa.String(200), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("assignee", sa.String(120)),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(120), nullable=False),
        sa.Column("created_role", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("flow_run_id", sa.String(64)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_campaigns_org_unit", "campaigns", ["org_unit"])
    op.create_table(
        "campaign_targets",
        sa.Column("campaign_id", sa.Uuid(), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("enterprise", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Uuid()),
        sa.Column("number", sa.String(32)),
        sa.Column("error", sa.Text()),
    )


def downgrade() -> None:
    op.drop_table("campaign_targets")
    op.drop_index("ix_campaigns_org_unit", "campaigns")
    op.drop_table("campaigns")
