"""The statistics summed per month and per year beside the daily counters, so a report's cost does not grow with the
days it covers.

The projection writes a month's and a year's rows with every daily counter; this migration fills them in from the
daily rows already there, and indexes the daily rows by day for the few days at a report's ends.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

PERIOD_START = {
    "postgresql": {"month": "CAST(date_trunc('month', day) AS date)", "year": "CAST(date_trunc('year', day) AS date)"},
    "sqlite": {"month": "date(day, 'start of month')", "year": "date(day, 'start of year')"},
}


def upgrade() -> None:
    op.create_table(
        "statistics_periods",
        sa.Column("grain", sa.String(5), primary_key=True),
        sa.Column("starts", sa.Date(), primary_key=True),
        sa.Column("org_unit", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(64), primary_key=True),
        sa.Column("value", sa.Numeric(18, 2), nullable=False),
    )
    op.create_index("ix_case_statistics_day", "case_statistics", ["day"])
    for grain, starts in PERIOD_START[op.get_bind().dialect.name].items():
        op.execute(
            "INSERT INTO statistics_periods (grain, starts, org_unit, metric, value) "
            f"SELECT '{grain}', {starts}, org_unit, metric, sum(value) FROM case_statistics "
            f"GROUP BY {starts}, org_unit, metric"
        )


def downgrade() -> None:
    op.drop_index("ix_case_statistics_day", "case_statistics")
    op.drop_table("statistics_periods")
