"""Event store, read models, idempotency log, case numbers and person reservations.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy_utils.types.uuid import UUIDType

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The layout eventsourcing-sqlalchemy's application recorder reads and writes.
    op.create_table(
        "casework_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("originator_id", UUIDType(), nullable=False),
        sa.Column("originator_version", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
    )
    op.create_index(
        "casework_events_aggregate_idx", "casework_events", ["originator_id", "originator_version"], unique=True
    )
    op.create_table(
        "case_index",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("stage", sa.String(48), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("org_unit", sa.String(200), nullable=False),
        sa.Column("assignee", sa.String(120)),
        sa.Column("parties", sa.Text(), nullable=False),
        sa.Column("flags", sa.String(200), nullable=False),
        sa.Column("reference", sa.String(120)),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_case_index_org_kind_stage", "case_index", ["org_unit", "kind", "stage"])
    op.create_index("ix_case_index_kind_stage", "case_index", ["kind", "stage"])
    op.create_index("ix_case_index_assignee", "case_index", ["assignee"])
    op.create_index("ix_case_index_reference", "case_index", ["reference"])
    op.create_table(
        "open_clocks",
        sa.Column("case_id", sa.Uuid(), primary_key=True),
        sa.Column("clock", sa.String(48), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("org_unit", sa.String(200), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_open_clocks_due", "open_clocks", ["paused", "due_on"])
    op.create_table(
        "case_statistics",
        sa.Column("org_unit", sa.String(200), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("value", sa.Numeric(18, 2), nullable=False),
    )
    op.create_table(
        "person_reservations",
        sa.Column("person_key", sa.String(64), primary_key=True),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
    )
    op.create_table(
        "command_log",
        sa.Column("command_id", sa.String(200), primary_key=True),
        sa.Column("case_id", sa.Uuid()),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "case_numbers",
        sa.Column("prefix", sa.String(8), primary_key=True),
        sa.Column("year", sa.Integer(), primary_key=True),
        sa.Column("last", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "projection_tracking",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "projection_tracking",
        "case_numbers",
        "command_log",
        "person_reservations",
        "case_statistics",
        "open_clocks",
        "case_index",
        "casework_events",
    ):
        op.drop_table(table)
