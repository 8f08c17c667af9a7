"""Drop projection_tracking: the read models are written in each command's own transaction, so they always hold
every committed event, and the one row every command rewrote recorded nothing anyone read.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("projection_tracking")


def downgrade() -> None:
    op.create_table(
        "projection_tracking",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
    )
