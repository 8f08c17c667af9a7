"""Personal data sealed per person: each person's key (wrapped, destroyed by an erasure) and the cases using it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "person_data_keys",
        sa.Column("key_id", sa.String(32), primary_key=True),
        sa.Column("subject", sa.String(64), unique=True),
        sa.Column("wrapped", sa.LargeBinary()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.Column("erasure", sa.String(200)),
    )
    op.create_table(
        "person_key_uses",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("person", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("key_id", "case_id", "person"),
    )
    op.create_index("ix_person_key_uses_case", "person_key_uses", ["case_id"])


def downgrade() -> None:
    op.drop_index("ix_person_key_uses_case", "person_key_uses")
    op.drop_table("person_key_uses")
    op.drop_table("person_data_keys")
