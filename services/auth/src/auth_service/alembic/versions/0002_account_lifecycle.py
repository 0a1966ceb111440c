"""email verification, roles, suspension, deleted users and erasures, admin audit log

Expand only: new nullable (or defaulted) columns and new tables, safe beside version 0001.

Revision ID: 0002
Revises: 0001
"""

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _timestamp(name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), **kwargs)


def upgrade() -> None:
    op.add_column("users", _timestamp("email_verified_at"))
    op.add_column("users", sa.Column("role", sa.String(20), nullable=False, server_default="user"))
    op.add_column("users", _timestamp("suspended_at"))
    op.add_column("users", _timestamp("tokens_not_before"))
    op.create_table(
        "email_verifications",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column(
            "user_id",
            UUID(as_uuid=True),
            sa.ForeignKey("users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _timestamp("created_at", nullable=False, server_default=sa.func.now()),
        _timestamp("expires_at", nullable=False),
        _timestamp("used_at"),
    )
    op.create_index("ix_email_verifications_user_id", "email_verifications", ["user_id"])
    op.create_table(
        "deleted_users",
        sa.Column("user_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("erasure_id", UUID(as_uuid=True), nullable=False, unique=True),
        _timestamp("requested_at", nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        _timestamp("completed_at"),
        sa.Column("publish_count", sa.Integer, nullable=False, server_default="1"),
        _timestamp("next_retry_at"),
    )
    op.create_index("ix_deleted_users_next_retry_at", "deleted_users", ["next_retry_at"])
    op.create_table(
        "erasure_confirmations",
        sa.Column(
            "erasure_id",
            UUID(as_uuid=True),
            sa.ForeignKey("deleted_users.erasure_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("service", sa.String(40), primary_key=True),
        _timestamp("confirmed_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "admin_actions",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("admin_id", UUID(as_uuid=True)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("target_user_id", UUID(as_uuid=True)),
        sa.Column("detail", JSONB, nullable=False, server_default="{}"),
        _timestamp("created_at", nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_admin_actions_admin_id", "admin_actions", ["admin_id"])
    op.create_index("ix_admin_actions_target_user_id", "admin_actions", ["target_user_id"])


def downgrade() -> None:
    op.drop_table("admin_actions")
    op.drop_table("erasure_confirmations")
    op.drop_table("deleted_users")
    op.drop_table("email_verifications")
    for column in ("tokens_not_before", "suspended_at", "role", "email_verified_at"):
        op.drop_column("users", column)
