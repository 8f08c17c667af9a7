"""Tables the product owns besides the event store: read models, idempotency, reservations.

Alembic migrations in `migrations/` create them; this module is the single description
the engine queries through.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
    true,
)
from sqlalchemy.exc import DBAPIError

metadata = MetaData(naming_convention={"pk": "%(table_name)s_pkey"})
"""Primary keys are named as PostgreSQL names them (the migrations leave the names to the database), so that a
write refused for a key is told by the key's name (`broke`)."""

EVENTS_TABLE = "casework_events"

case_index = Table(
    "case_index",
    metadata,
    Column("case_id", Uuid, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("number", String(32), nullable=False, unique=True),
    Column("stage", String(48), nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("org_unit", String(200), nullable=False),
    Column("assignee", String(120)),
    Column("parties", Text, nullable=False, default=""),
    Column("flags", String(200), nullable=False, default=""),
    Column("reference", String(120)),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("head_hash", String(64), nullable=False),
    Column("next_due_on", Date),  # the earliest due date of its unpaused clocks (null: none runs): its urgency
    Index("ix_case_index_org_kind_stage", "org_unit", "kind", "stage"),
    Index("ix_case_index_kind_stage", "kind", "stage"),
    Index("ix_case_index_assignee", "assignee"),
    Index("ix_case_index_reference", "reference"),
    Index("ix_case_index_open_next_due", "is_open", "next_due_on"),
)

open_clocks = Table(
    "open_clocks",
    metadata,
    Column("case_id", Uuid, primary_key=True),
    Column("clock", String(48), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("org_unit", String(200), nullable=False),
    Column("started_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("paused", Boolean, nullable=False),
    Index("ix_open_clocks_due", "paused", "due_on"),
)

case_statistics = Table(
    "case_statistics",
    metadata,
    Column("org_unit", String(200), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("value", Numeric(18, 2), nullable=False),
    Index("ix_case_statistics_day", "day"),  # a report reads at most two months' worth of days from here
)
"""Each unit's counters per business day."""

statistics_periods = Table(
    "statistics_periods",
    metadata,
    Column("grain", String(5), primary_key=True),  # "month" or "year"
    Column("starts", Date, primary_key=True),  # the period's first day
    Column("org_unit", String(200), primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("value", Numeric(18, 2), nullable=False),
)
"""The same counters summed per calendar month and per year, written with the daily ones, so that a report over a
year reads a year's rows instead of every day's (engine/reports.py)."""

person_reservations = Table(
    "person_reservations",
    metadata,
    Column("person_key", String(64), primary_key=True),
    Column("case_id", Uuid, nullable=False),
    Column("number", String(32), nullable=False),
)

command_log = Table(
    "command_log",
    metadata,
    Column("command_id", String(200), primary_key=True),
    Column("case_id", Uuid),
    Column("action", String(64), nullable=False),
    Column("result", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)

case_numbers = Table(
    "case_numbers",
    metadata,
    Column("prefix", String(8), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last", BigInteger, nullable=False),
)

org_units = Table(
    "org_units",
    metadata,
    Column("path", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("level", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("user_id", String(120), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(32), nullable=False),
    Column("org_unit", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("password_hash", String(200)),  # argon2id; null: no password (bearer token only)
    Column("failed_logins", Integer, nullable=False, default=0, server_default="0"),
    Column("locked_until", DateTime(timezone=True)),
    Index("ix_users_org_unit", "org_unit"),
)

campaigns = Table(
    "campaigns",
    metadata,
    Column("campaign_id", Uuid, primary_key=True),
    Column("document_number", String(120), nullable=False, unique=True),
    Column("issuing_union", String(200), nullable=False),
    Column("org_unit", String(200), nullable=False),
    Column("terms", Text, nullable=False),
    Column("assignee", String(120)),
    Column("total", Integer, nullable=False),
    Column("created_by", String(120), nullable=False),
    Column("created_role", String(32), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("flow_run_id", String(64)),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_campaigns_org_unit", "org_unit"),
)

campaign_targets = Table(
    "campaign_targets",
    metadata,
    Column("campaign_id", Uuid, primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("enterprise", Text, nullable=False),
    Column("case_id", Uuid),
    Column("number", String(32)),
    Column("error", Text),
)

account_changes = Table(
    "account_changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(120), nullable=False),
    Column("change", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("actor_id", String(120), nullable=False),
    Column("actor_role", String(32), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Index("ix_account_changes_user", "user_id", "seq"),
)
"""Who created, changed, issued a token for or switched off each account, and when (append-only)."""

installation_keys = Table(
    "installation_keys",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)
"""One-way fingerprints of the installation's secrets (never the secrets): which key the rows were made with."""

notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("dedupe_key", String(240), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("recipient", String(120), nullable=False),
    Column("case_id", Uuid),
    Column("case_number", String(32)),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("link", String(300), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    Index("ix_notifications_recipient", "recipient", "read_at", "id"),
)
"""The outbox and the in-app inbox: one row per person told, written in the transaction of what it tells of;
`dedupe_key` makes a repeated writer (a retried digest, a replayed command) write it once."""

notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("notification_id", Integer, nullable=False),
    Column("channel_id", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # pending, sent, failed
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),
    Column("last_error", Text),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("claim_token", String(36)),
    Column("claimed_until", DateTime(timezone=True)),
    UniqueConstraint("notification_id", "channel_id", name="uq_notification_deliveries_channel"),
    Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
)
"""One notification through one of its recipient's channels: sent once, retried with backoff, or failed."""

user_channels = Table(
    "user_channels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(120), nullable=False),
    Column("kind", String(16), nullable=False),  # email, wecom, dingtalk, feishu, webhook
    Column("target", Text, nullable=False),
    Column("digest_muted", Boolean, nullable=False, default=False, server_default=false()),
    Column("active", Boolean, nullable=False, default=True, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_user_channels_user", "user_id"),
)
"""Where a person is told besides the inbox: an e-mail address, a group bot's webhook, an HTTP receiver."""

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("created_at", String(20), nullable=False),  # UTC, to the second, as signed: 2026-12-01T02:30:00Z
    Column("signature", String(100), nullable=False),  # base64 Ed25519
    Column("key_id", String(16), nullable=False),
    Column("public_key", String(60), nullable=False),  # base64 of the raw Ed25519 key
    Index("ix_checkpoints_tree_size", "tree_size"),
)
"""Signed roots of the Merkle tree over every stored event in recording order (engine/checkpoints.py)."""

checkpoint_leaves = Table(
    "checkpoint_leaves",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),  # the leaf's index in the tree, from 0
    Column("notification_id", BigInteger, nullable=False),
    Column("originator_id", Uuid, nullable=False),
    Column("originator_version", Integer, nullable=False),
    Column("leaf_hash", String(64), nullable=False),
)
"""Each event's leaf hash as it was when a checkpoint first covered it: the record a changed, removed or moved
event is named against (itself checked against the signed roots before it is trusted)."""

checkpoint_frontier = Table(
    "checkpoint_frontier",
    metadata,
    Column("name", String(16), primary_key=True),
    Column("tree_size", BigInteger, nullable=False),
    Column("last_notification_id", BigInteger, nullable=False),
    Column("hashes", Text, nullable=False),  # the right edge: one hex hash per set bit of tree_size, largest first
)
"""The tree's right edge after its last leaf (RFC 9162 compact range), so a new checkpoint reads only new events."""

person_data_keys = Table(
    "person_data_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),  # uuid4 hex, as the sealed envelopes name it
    Column("subject", String(64), unique=True),  # the person's keyed ID number (engine/persons.py); NULL: none
    Column("wrapped", LargeBinary),  # nonce + AES-GCM of the key under the installation's wrapping key; NULL: erased
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("erased_at", DateTime(timezone=True)),
    Column("erasure", String(200)),  # the command id of the erasure that destroyed it
)
"""One key per person for their data in events (engine/sealing.py); an erasure destroys it and keeps the row, so
that a key erased is told from a key removed."""

person_key_uses = Table(
    "person_key_uses",
    metadata,
    Column("key_id", String(32), nullable=False),
    Column("case_id", Uuid, nullable=False),
    Column("person", String(64), nullable=False),  # where in the case: "worker", "applicants.1"
    PrimaryKeyConstraint("key_id", "case_id", "person"),
    Index("ix_person_key_uses_case", "case_id"),
)
"""Which cases hold data sealed under each key, so an erasure finds every case of the person."""

READ_MODEL_TABLES = (case_index, open_clocks, case_statistics, statistics_periods, person_reservations)

SQLITE_UNIQUE_FAILED = "UNIQUE constraint failed: "


def broke(error: BaseException, constraint: PrimaryKeyConstraint | UniqueConstraint) -> bool:
    """Whether `error` is the database refusing a write that broke `constraint`, whichever layer wrapped the
    driver's error. PostgreSQL names the constraint (so it must be named here as it is in the database); SQLite
    names its columns ("UNIQUE constraint failed: person_reservations.person_key")."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, DBAPIError):
        cause = cause.__cause__ or cause.__context__
    if cause is None:
        return False
    reported = cause.orig
    diag = getattr(reported, "diag", None)
    if diag is not None:  # psycopg
        return constraint.name is not None and diag.constraint_name == constraint.name
    message = str(reported)
    if not message.startswith(SQLITE_UNIQUE_FAILED):
        return False
    columns = {name.strip() for name in message.removeprefix(SQLITE_UNIQUE_FAILED).split(",")}
    return columns == {f"{constraint.table.name}.{column.name}" for column in constraint.columns}
