"""recipients, preferences, digest items, push targets and deliveries, events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from messaging_kit.events import event_tables
from sqlalchemy.dialects.postgresql import UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _now() -> sa.Column:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.create_table(
        "recipients",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("email", sa.String(255), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("last_digest_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "preferences",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("kind", sa.String(20), primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.CheckConstraint(
            "kind IN ('welcome', 'invitation', 'digest', 'push')", name="ck_preferences_kind"
        ),
    )
    op.create_table(
        "digest_items",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False),
        sa.Column("sender_id", UUID(as_uuid=True)),
        sa.Column("group_id", UUID(as_uuid=True)),
        _now(),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("failed_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "uq_digest_items_user_event", "digest_items", ["user_id", "event_id"], unique=True
    )
    op.create_index(
        "ix_digest_items_pending",
        "digest_items",
        ["user_id"],
        postgresql_where=sa.text("sent_at IS NULL AND failed_at IS NULL"),
    )
    op.create_table(
        "push_targets",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        _now(),
    )
    op.create_index("ix_push_targets_user_id", "push_targets", ["user_id"])
    op.create_table(
        "push_deliveries",
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("target_id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "delivered_at",
            sa.DateTime(timezone=True),
            nullable=False,
            server_default=sa.func.now(),
        ),
    )
    # Version 1 of the kit's event tables, created as they were defined then.
    tables = event_tables(sa.MetaData())
    tables.outbox.create(op.get_bind())
    tables.processed.create(op.get_bind())


def downgrade() -> None:
    for table in (
        "processed_events",
        "outbox",
        "push_deliveries",
        "push_targets",
        "digest_items",
        "preferences",
        "recipients",
    ):
        op.drop_table(table)
