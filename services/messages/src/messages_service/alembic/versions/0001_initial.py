"""messages, conversation entries, hidden messages, blocks, outbox and processed events

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from messaging_kit.events import event_tables
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "messages",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("conversation_id", UUID(as_uuid=True), nullable=False),
        sa.Column("sender_id", UUID(as_uuid=True), nullable=False),
        sa.Column("recipient_id", UUID(as_uuid=True), nullable=False),
        sa.Column("idempotency_key", sa.String(100), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary),
        sa.Column("nonce", sa.LargeBinary),
        sa.Column("keys", JSONB, nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("read_at", sa.DateTime(timezone=True)),
        sa.Column("deleted_at", sa.DateTime(timezone=True)),
    )
    op.create_index(
        "uq_messages_sender_idempotency",
        "messages",
        ["sender_id", "idempotency_key"],
        unique=True,
    )
    op.create_index("ix_messages_conversation_seq", "messages", ["conversation_id", "seq"])
    op.create_table(
        "conversation_entries",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("conversation_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("peer_id", UUID(as_uuid=True), nullable=False),
        sa.Column("last_seq", sa.BigInteger, nullable=False),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_conversation_entries_user_seq", "conversation_entries", ["user_id", "last_seq"]
    )
    op.create_table(
        "hidden_messages",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("message_id", UUID(as_uuid=True), primary_key=True),
    )
    op.create_table(
        "blocks",
        sa.Column("blocker_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("blocked_id", UUID(as_uuid=True), primary_key=True),
    )
    tables = event_tables(sa.MetaData())
    tables.outbox.create(op.get_bind())
    tables.processed.create(op.get_bind())


def downgrade() -> None:
    for table in (
        "processed_events",
        "outbox",
        "blocks",
        "hidden_messages",
        "conversation_entries",
        "messages",
    ):
        op.drop_table(table)
