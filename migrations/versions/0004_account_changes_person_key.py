"""The record of every change to an account, and the fingerprint of the person key.

`account_changes` keeps who created, changed, issued a token for or switched off each account,
and when. `installation_keys` keeps a one-way fingerprint of the secret the one-case-per-person
reservations are keyed with, so that a store whose reservations were made under another key
(including the constant of earlier releases) is re-keyed by `engine.migrate.upgrade`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_changes",
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.String(120), nullable=False),
        sa.Column("change", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.String(120), nullable=False),
        sa.Column("actor_role", sa.String(32), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_account_changes_user", "account_changes", ["user_id", "seq"])
    op.create_table(
        "installation_keys",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("installation_keys")
    op.drop_index("ix_account_changes_user", "account_changes")
    op.drop_table("account_changes")
