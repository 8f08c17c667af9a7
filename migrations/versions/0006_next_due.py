"""Each case's next due date on its case-index row, so the work queue orders and counts by urgency from one table.

`next_due_on` is the earliest due date of the case's unpaused clocks (null: none runs). It is written with the
row by the projection; this migration fills it in for the rows already there from their open clocks.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_index") as batch:
        batch.add_column(sa.Column("next_due_on", sa.Date(), nullable=True))
        batch.create_index("ix_case_index_open_next_due", ["is_open", "next_due_on"])
    op.execute(
        "UPDATE case_index SET next_due_on = (SELECT min(due_on) FROM open_clocks "
        "WHERE open_clocks.case_id = case_index.case_id AND NOT open_clocks.paused)"
    )


def downgrade() -> None:
    with op.batch_alter_table("case_index") as batch:
        batch.drop_index("ix_case_index_open_next_due")
        batch.drop_column("next_due_on")
