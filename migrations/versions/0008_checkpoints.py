"""Signed checkpoints: the Merkle tree's signed roots, its leaves as first covered, and its right edge.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "checkpoints",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.String(20), nullable=False),
        sa.Column("signature", sa.String(100), nullable=False),
        sa.Column("key_id", sa.String(16), nullable=False),
        sa.Column("public_key", sa.String(60), nullable=False),
    )
    op.create_index("ix_checkpoints_tree_size", "checkpoints", ["tree_size"])
    op.create_table(
        "checkpoint_leaves",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("originator_id", sa.Uuid(), nullable=False),
        sa.Column("originator_version", sa.Integer(), nullable=False),
        sa.Column("leaf_hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "checkpoint_frontier",
        sa.Column("name", sa.String(16), primary_key=True),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("last_notification_id", sa.BigInteger(), nullable=False),
        sa.Column("hashes", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checkpoint_frontier")
    op.drop_table("checkpoint_leaves")
    op.drop_index("ix_checkpoints_tree_size", "checkpoints")
    op.drop_table("checkpoints")
